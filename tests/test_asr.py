"""Both Whisper backends with real weights: the offline CTranslate2 `base` model (faster-whisper)
and the same weights converted for openai-whisper; silence, music, vocabulary and the cache."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jiwer
import pytest

from media_fixtures import SHARED_MEDIA, ffmpeg, have_shared
from pipeline_helpers import normalise
from touktouk.config import WhisperSettings
from touktouk.transcribe.convert import convert_ct2_to_openai, load_openai_checkpoint
from touktouk.transcribe.models import install_offline_model, list_models, resolve_openai_whisper_model
from touktouk.transcribe.run import transcribe

pytestmark = pytest.mark.slow

FW = WhisperSettings()  # faster-whisper, offline base, int8 on CPU, beam 5, VAD

# Project-made speech (espeak-ng) naming a guest and an organisation the base model cannot spell
# unaided. Measured 2026-11-27: without vocabulary "je m'appelle Swanique … et ma usconecte".
ESPEAK_NAME = (
    "Bonjour, je m'appelle Soizic Kerhervé et je dirige l'association Emmaüs Connect.",
    "Soizic Kerhervé, Emmaüs Connect",
    "kerhervé",
)
# FLEURS fr-001: "… la déclaration de l'USOC, Comité olympique des États-Unis …". Measured
# 2026-11-27: without vocabulary "comité au Limpic des États-Unis".
FLEURS_NAME = ("fleurs-fr-001", "USOC, Comité olympique des États-Unis", "olympique")


def espeak_wav(text: str, out: Path) -> Path:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "150", "-w", str(raw), text], check=True, capture_output=True)
    ffmpeg("-i", str(raw), "-ar", "16000", "-ac", "1", str(out))
    return out


def silence(out: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "30", str(out))
    return out


def music(out: Path) -> Path:
    """30 s of synthetic music: a chord changing every 2 s, an arpeggiated melody in sixteenths
    and a noise hi-hat on every half second."""
    chord = "+".join(
        f"0.1*sin(2*PI*if(lt(mod(t,4),2),{a},{b})*t)" for a, b in ((220, 196), (277.18, 246.94), (329.63, 293.66))
    )
    melody = "0.15*sin(2*PI*440*pow(2,floor(mod(t*4,8))/12)*t)*exp(-3*mod(t,0.25))"
    hihat = "0.3*random(0)*exp(-30*mod(t,0.5))"
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{chord}+{melody}+{hihat}':s=16000:d=30", "-ac", "1", str(out))
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("asr-clips")
    out = {"silence": silence(tmp / "silence.wav"), "music": music(tmp / "music.wav")}
    out["espeak-name"] = espeak_wav(ESPEAK_NAME[0], tmp / "espeak-name.wav")
    return out


@pytest.fixture(scope="module")
def openai_pt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline CT2 base model converted by our converter into a fresh checkpoint."""
    pytest.importorskip("whisper")
    return convert_ct2_to_openai(install_offline_model("base"), tmp_path_factory.mktemp("oa") / "base.pt")


@pytest.fixture(scope="module")
def oa_settings(openai_pt: Path) -> WhisperSettings:
    return WhisperSettings(backend="openai-whisper", model=str(openai_pt))


@pytest.fixture(scope="module")
def french_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """FLEURS fr-003 and its reference when shared, else project-made espeak speech."""
    if have_shared("fleurs-fr-003.ogg", "fleurs-fr-003.txt"):
        return SHARED_MEDIA / "fleurs-fr-003.ogg", (SHARED_MEDIA / "fleurs-fr-003.txt").read_text(encoding="utf-8")
    # 9.5 s: on a 3.6 s espeak sentence the two implementations drift apart (different garbage),
    # as they pad short windows differently; on this one they agree word for word (measured).
    text = (
        "Parce que chaque semaine, des tonnes d'objets encore utiles finissent à la benne. "
        "Nous les collectons, nous les réparons, et nous les revendons à petit prix dans le quartier."
    )
    return espeak_wav(text, tmp_path_factory.mktemp("espeak") / "benne.wav"), text


def run(audio: Path, settings: WhisperSettings, prompt: str = ""):
    transcript, cached = transcribe(audio, settings, language="fr", prompt=prompt, use_cache=False)
    assert not cached
    return transcript


def test_converted_checkpoint_loads_strictly_with_the_config_alignment_heads(openai_pt):
    model = load_openai_checkpoint(openai_pt)  # load_state_dict(strict=True) inside
    assert model.dims.n_text_layer == 6 and model.dims.n_vocab == 51865
    assert model.alignment_heads.to_dense().sum().item() == 8


def test_base_resolves_to_the_converted_checkpoint(monkeypatch, tmp_path):
    pytest.importorskip("whisper")
    monkeypatch.setenv("TOUKTOUK_MODELS_DIR", str(tmp_path))
    # hub names and local paths go through unchanged
    assert resolve_openai_whisper_model("large-v3") == "large-v3"
    assert resolve_openai_whisper_model(__file__) == __file__
    path = Path(resolve_openai_whisper_model("base"))
    assert path == tmp_path / "openai-whisper-base.pt" and path.stat().st_size > 100_000_000
    assert {(m.name, m.backend, m.installed) for m in list_models()} >= {
        ("base", "faster-whisper", True),
        ("base", "openai-whisper", True),
    }


@pytest.mark.parametrize("kind", ["silence", "music"])
@pytest.mark.parametrize("backend", ["faster-whisper", "openai-whisper"])
def test_no_words_over_silence_or_music(clips, kind, backend, request):
    settings = FW if backend == "faster-whisper" else request.getfixturevalue("oa_settings")
    transcript = run(clips[kind], settings)
    assert transcript.words == [], transcript.text
    assert transcript.backend == backend


def test_converted_model_transcribes_like_the_ct2_model(french_clip, oa_settings):
    """Same tensors, two implementations: faster-whisper float32 and openai-whisper on the converted
    checkpoint, both beam 5 with VAD. Measured 2026-11-27 on fleurs-fr-003: WER between the two
    0.000 (character-identical transcripts, word starts equal to the millisecond), each 0.615
    against the reference; on the espeak fallback also 0.000 between the two (0.83 each). The
    bounds leave room for the VAD clip edges, which the two backends handle differently
    (faster-whisper joins the speech chunks, openai-whisper decodes each clip)."""
    audio, reference = french_clip
    ct2 = run(audio, FW.model_copy(update={"compute_type": "float32"}))
    oa = run(audio, oa_settings)
    between = jiwer.wer(normalise(ct2.text), normalise(oa.text))
    assert between <= 0.05, (ct2.text, oa.text)  # measured 0.000
    ref = normalise(reference)
    assert abs(jiwer.wer(ref, normalise(oa.text)) - jiwer.wer(ref, normalise(ct2.text))) <= 0.05  # measured 0.000
    # word timings agree too
    pairs = list(zip(ct2.words, oa.words, strict=False))
    assert pairs and sum(abs(a.start - b.start) < 0.1 for a, b in pairs) / len(pairs) >= 0.9  # measured 100 %


@pytest.mark.parametrize("case", ["espeak", "fleurs"])
def test_episode_vocabulary_spells_the_name_right(case, clips):
    if case == "espeak":
        audio, vocabulary, word = clips["espeak-name"], ESPEAK_NAME[1], ESPEAK_NAME[2]
    else:
        if not have_shared(f"{FLEURS_NAME[0]}.ogg"):
            pytest.skip("shared FLEURS media absent; the espeak case covers the vocabulary")
        audio, vocabulary, word = SHARED_MEDIA / f"{FLEURS_NAME[0]}.ogg", FLEURS_NAME[1], FLEURS_NAME[2]
    without = normalise(run(audio, FW).text)
    with_vocabulary = normalise(run(audio, FW, prompt=vocabulary).text)
    assert word not in without.split()
    assert word in with_vocabulary.split(), with_vocabulary


def test_second_transcription_comes_from_the_cache(clips, monkeypatch, tmp_path):
    monkeypatch.setenv("TOUKTOUK_CACHE_DIR", str(tmp_path))
    audio = clips["espeak-name"]
    first, cached1 = transcribe(audio, FW, language="fr", prompt=ESPEAK_NAME[1])
    second, cached2 = transcribe(audio, FW, language="fr", prompt=ESPEAK_NAME[1])
    assert (cached1, cached2) == (False, True)
    assert second == first
    # another prompt or other settings are another key
    _, cached3 = transcribe(audio, FW.model_copy(update={"beam_size": 1}), language="fr", prompt=ESPEAK_NAME[1])
    assert cached3 is False
