"""Unit tests for touktouk.select on synthetic word-timed transcripts (no ASR involved)."""

from __future__ import annotations

import re
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media_fixtures import SHARED_MEDIA, have_shared
from touktouk.clips.energy import SILENCE_DB, rms_db, rms_per_second
from touktouk.clips.quotes import QuoteNotFoundError, find_quote
from touktouk.clips.scoring import WEIGHTS, energy_profile, reason, score_window
from touktouk.clips.select import PickRequest, auto_clips, choose_clips, clip_id, length_range, picked_clips
from touktouk.clips.sentences import sentences, vocabulary
from touktouk.config import Pick, load_episode
from touktouk.errors import ConfigError, ToukToukError
from touktouk.french import FILLERS
from touktouk.platforms import PLATFORMS
from touktouk.render.probe import extract_audio
from touktouk.types import ClipPlan, Segment, Transcript, Word

MIN_S, MAX_S = 20.0, 60.0
TERMS = ("Awa Diallo", "Ressourcerie du Canal", "réemploi et insertion professionnelle", "#ESS")


@dataclass(frozen=True)
class Synthetic:
    transcript: Transcript
    spans: list[tuple[float, float]]  # (start, end) of each sentence, as built


def build(
    texts: Sequence[str],
    *,
    wps: float = 2.0,
    pauses: Sequence[float] | float = 0.0,
    start: float = 0.0,
) -> Synthetic:
    """Sentences spoken at `wps` words per second, words back to back (each lasts 1/wps s).

    `pauses[i]` seconds of silence follow sentence i (a single number applies to all).
    Each sentence becomes one segment; words carry no leading spaces (as after merge_elisions).
    """
    gaps = [pauses] * len(texts) if isinstance(pauses, (int, float)) else list(pauses)
    step = 1.0 / wps
    t = start
    segments, spans = [], []
    for text, gap in zip(texts, gaps, strict=True):
        words = []
        for token in text.split():
            words.append(Word(t, t + step, token))
            t += step
        segments.append(Segment(words[0].start, words[-1].end, text, tuple(words)))
        spans.append((words[0].start, words[-1].end))
        t += gap
    return Synthetic(Transcript("fr", t, tuple(segments)), spans)


def sentence(n: int, word: str = "mot") -> str:
    """n words, the first capitalised, the last one ending with a full stop."""
    words = [word] * (n - 1) + [f"{word}."]
    words[0] = words[0].capitalize()
    return " ".join(words)


def uniform(n_sentences: int, words_each: int = 10, **kw: float) -> Synthetic:
    """At the default 2 w/s, 10-word sentences last exactly 5 s: sentence i spans [5i, 5i+5]."""
    return build([sentence(words_each) for _ in range(n_sentences)], **kw)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# --- sentences ---------------------------------------------------------------------------


def test_sentences_split_at_terminal_punctuation() -> None:
    words = build(["Bonjour à tous. Ça va ? Oui ! Alors… on commence « maintenant. » et puis"]).transcript.words
    got = [" ".join(w.text for w in s.words) for s in sentences(words)]
    assert got == ["Bonjour à tous.", "Ça va ?", "Oui !", "Alors…", "on commence « maintenant.", "» et puis"]


def test_sentence_start_and_end_come_from_its_words() -> None:
    syn = build(["Un deux trois.", "Quatre cinq."], wps=2.0, pauses=1.0)
    got = sentences(syn.transcript.words)
    assert [(s.start, s.end) for s in got] == syn.spans == [(0.0, 1.5), (2.5, 3.5)]


def test_sentences_of_nothing() -> None:
    assert sentences([]) == []


def test_sentences_ignore_commas_and_elisions() -> None:
    words = build(["L'économie, c'est 3,5 milliards aujourd'hui"]).transcript.words
    assert len(sentences(words)) == 1


@given(st.lists(st.sampled_from(["mot", "fin.", "quoi ?", "l'eau", "3,5", "…", "oui!»"]), max_size=40))
def test_sentences_partition_the_words_in_order(tokens: list[str]) -> None:
    words = [Word(float(i), i + 0.5, t) for i, t in enumerate(tokens)]
    parts = sentences(words)
    assert [w for s in parts for w in s.words] == words
    for s in parts[:-1]:
        assert s.words[-1].ends_sentence
        assert not any(w.ends_sentence for w in s.words[:-1])


# --- score components --------------------------------------------------------------------


def _words(n: int, *, start: float = 0.0, step: float = 1.0, length: float = 1.0, text: str = "mot") -> list[Word]:
    return [Word(start + i * step, start + i * step + length, text) for i in range(n)]


def test_density_is_the_spoken_share_and_pauses_lower_it() -> None:
    continuous = _words(30, step=1.0)  # 30 s spoken in 30 s
    paused = _words(30, step=1.5)  # 30 s spoken, 14.5 s of silence in between
    full = score_window(continuous, 0.0, 30.0, frozenset(), MIN_S, MAX_S)
    gappy = score_window(paused, 0.0, paused[-1].end, frozenset(), MIN_S, MAX_S)
    assert full["density"] == pytest.approx(0.15)
    assert gappy["density"] == pytest.approx(0.15 * 30 / 44.5, abs=1e-4)
    assert gappy["density"] < full["density"]


def test_pace_is_full_from_2_5_words_per_second() -> None:
    fast = score_window(_words(100, step=0.4, length=0.4), 0.0, 40.0, frozenset(), MIN_S, MAX_S)
    faster = score_window(_words(160, step=0.25, length=0.25), 0.0, 40.0, frozenset(), MIN_S, MAX_S)
    slow = score_window(_words(50, step=0.8, length=0.8), 0.0, 40.0, frozenset(), MIN_S, MAX_S)
    assert fast["pace"] == pytest.approx(0.10)
    assert faster["pace"] == pytest.approx(0.10)  # capped
    assert slow["pace"] == pytest.approx(0.05)


def test_length_is_best_at_the_middle_of_the_range() -> None:
    def length_part(duration: float) -> float:
        n = int(duration)
        return score_window(_words(n), 0.0, float(n), frozenset(), MIN_S, MAX_S)["length"]

    assert length_part(40) == pytest.approx(0.05)
    assert length_part(20) == pytest.approx(0.025)
    assert length_part(60) == pytest.approx(0.025)
    assert length_part(30) < length_part(40)


def test_vocabulary_keeps_significant_words_of_the_episode_terms() -> None:
    vocab = vocabulary(TERMS)
    assert {"diallo", "ressourcerie", "canal", "réemploi", "insertion", "professionnelle"} <= vocab
    assert not {"awa", "du", "et", "ess"} & vocab  # shorter than four letters
    assert vocabulary(["#Réemploi"]) == {"réemploi"}


def test_topic_counts_episode_vocabulary_and_is_full_at_three_hits_per_30_s() -> None:
    vocab = vocabulary(TERMS)

    def topic(texts: list[str]) -> float:
        words = [Word(float(i), i + 1.0, t) for i, t in enumerate(texts)]
        return score_window(words, 0.0, float(len(words)), vocab, MIN_S, MAX_S)["topic"]

    plain = ["on", "parle", "de", "choses", "et", "autres"] * 5
    assert topic(plain) == 0
    one = [*plain[:-1], "Ressourcerie."]
    assert topic(one) == pytest.approx(0.20 / 3, abs=1e-4)
    three = [*plain[:-3], "l'insertion,", "RÉEMPLOI", "Diallo"]
    assert topic(three) == pytest.approx(0.20)
    assert topic([*three[:-1], "canal", "ressourcerie"]) == pytest.approx(0.20)  # capped
    assert topic(three + plain) == pytest.approx(0.10)  # the same three mentions in 60 s: half the density


@pytest.mark.parametrize("filler", ["euh", "Euh,", "« ben »", "bah", "hein ?", "voilà.", "Voilà"])
def test_each_filler_costs_five_hundredths(filler: str) -> None:
    words = [Word(float(i), i + 1.0, "mot") for i in range(30)]
    with_filler = [*words[:10], Word(10.0, 11.0, filler), *words[11:]]
    same_punctuation = [*words[:10], Word(10.0, 11.0, re.sub(r"\w+", "mot", filler)), *words[11:]]
    clean = score_window(same_punctuation, 0.0, 30.0, frozenset(), MIN_S, MAX_S)
    penalised = score_window(with_filler, 0.0, 30.0, frozenset(), MIN_S, MAX_S)
    assert clean["fillers"] == 0
    assert penalised["fillers"] == pytest.approx(-0.05)
    assert sum(penalised.values()) == pytest.approx(sum(clean.values()) - 0.05)


def test_filler_penalty_is_capped() -> None:
    words = [Word(float(i), i + 1.0, "euh" if i % 2 else "ben") for i in range(30)]
    assert score_window(words, 0.0, 30.0, frozenset(), MIN_S, MAX_S)["fillers"] == pytest.approx(-0.25)


def test_filler_words_inside_longer_words_do_not_count() -> None:
    words = [Word(float(i), i + 1.0, t) for i, t in enumerate(["bienvenue", "hello", "bahut", "voilàààà"] * 6)]
    assert score_window(words, 0.0, 24.0, frozenset(), MIN_S, MAX_S)["fillers"] == 0


# --- auto_clips ---------------------------------------------------------------------------


def test_uniform_speech_gives_middle_length_clips_earliest_first() -> None:
    # All windows score alike except for length, which peaks at 40 s = 8 sentences;
    # ties go to the earlier window, and touching windows do not overlap.
    clips = auto_clips(uniform(60).transcript, count=3, min_seconds=MIN_S, max_seconds=MAX_S)
    assert [(c.start, c.end) for c in clips] == [(0.0, 40.0), (40.0, 80.0), (80.0, 120.0)]
    for c in clips:
        assert c.source == "auto"
        assert c.id == ""
        assert c.score_parts["density"] == pytest.approx(0.15)
        assert c.score_parts["pace"] == pytest.approx(0.10 * 2.0 / 2.5)
        assert c.score_parts["length"] == pytest.approx(0.05)
        assert c.score_parts["boundaries"] == pytest.approx(0.10)
        assert c.score_parts["opening"] == pytest.approx(0.10)  # standalone and 4-25 words, but no hook
        assert c.score_parts["energy"] == pytest.approx(0.05)  # no loudness track: neutral
        assert c.score_parts["answer"] == 0
        assert str(c.score_parts["fillers"]) == "0.0"  # not -0.0 in the manifest
        assert c.score == pytest.approx(sum(c.score_parts.values()), abs=1e-3)
        assert c.text == " ".join([sentence(10)] * 8)
        assert c.reason.startswith("Whole sentences")
        assert "Against" not in c.reason


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_auto_clips_returns_exactly_count_when_there_is_room(count: int) -> None:
    clips = auto_clips(uniform(60).transcript, count=count, min_seconds=MIN_S, max_seconds=MAX_S)
    assert len(clips) == count


def test_auto_clips_avoid_taken_ranges() -> None:
    clips = auto_clips(
        uniform(60).transcript, count=2, min_seconds=MIN_S, max_seconds=MAX_S, taken=[(0.0, 100.0), (150.0, 151.0)]
    )
    # [95, 135] would overlap the first range; a window starting exactly at its end does not.
    # The 40 s window [100, 140] fits; the next one must end by 150 or start after 151.
    assert [(c.start, c.end) for c in clips] == [(100.0, 140.0), (155.0, 195.0)]


def test_no_candidate_when_transcript_is_shorter_than_min_seconds() -> None:
    short = uniform(3)  # 15 s
    assert auto_clips(short.transcript, count=3, min_seconds=MIN_S, max_seconds=MAX_S) == []
    assert choose_clips(short.transcript, [], duration=15.0, count=3, min_seconds=MIN_S, max_seconds=MAX_S) == []


def test_no_candidate_when_every_sentence_is_longer_than_max_seconds() -> None:
    long = uniform(3, words_each=130)  # 65 s sentences
    assert auto_clips(long.transcript, count=3, min_seconds=MIN_S, max_seconds=MAX_S) == []


def test_empty_transcript() -> None:
    empty = Transcript("fr", 0.0, ())
    assert auto_clips(empty, count=3, min_seconds=MIN_S, max_seconds=MAX_S) == []


def _two_regions(first: list[str], second: list[str], *, first_pause: float = 0.0) -> Synthetic:
    """Two runs of sentences separated by a 100 s silence, so no window spans both."""
    pauses = [first_pause] * (len(first) - 1) + [100.0] + [0.0] * len(second)
    return build([*first, *second], pauses=pauses)


def test_long_pauses_lose_to_continuous_speech() -> None:
    plain = [sentence(10)] * 8
    syn = _two_regions(plain, plain, first_pause=4.0)  # the earlier region has 4 s pauses
    (clip,) = auto_clips(syn.transcript, count=1, min_seconds=MIN_S, max_seconds=MAX_S)
    second_start = syn.spans[8][0]
    assert clip.start >= second_start
    assert clip.score_parts["density"] == pytest.approx(0.15)


def test_episode_vocabulary_wins() -> None:
    plain = [sentence(10)] * 8
    topical = [*plain[:5], "La ressourcerie fait du réemploi pour l'insertion des gens ici.", *plain[6:]]
    syn = _two_regions(plain, topical)
    (clip,) = auto_clips(syn.transcript, count=1, min_seconds=MIN_S, max_seconds=MAX_S, terms=TERMS)
    assert clip.start >= syn.spans[8][0]
    assert clip.score_parts["topic"] > 0
    assert "ressourcerie" in clip.text
    # Without the terms, the earlier (identical-scoring) region wins the tie instead.
    (untargeted,) = auto_clips(syn.transcript, count=1, min_seconds=MIN_S, max_seconds=MAX_S)
    assert untargeted.start == 0.0
    assert untargeted.score_parts["topic"] == 0


def test_fillers_are_penalised() -> None:
    plain = [sentence(10)] * 8
    hesitant = ["Euh mot mot mot mot mot mot mot mot mot."] * 8  # one filler every 5 s
    syn = _two_regions(hesitant, plain)
    first, second = auto_clips(syn.transcript, count=2, min_seconds=MIN_S, max_seconds=MAX_S)
    assert first.start >= syn.spans[8][0]  # the clean region is ranked first despite coming later
    assert first.score_parts["fillers"] == 0
    assert "filler" not in first.reason
    assert second.end <= syn.spans[7][1]
    # Any window of 20 s or more in the hesitant region holds at least four fillers.
    assert second.score_parts["fillers"] <= -0.20
    assert "filler(s)" in second.reason
    assert first.score > second.score


_sentence_plan = st.lists(
    st.tuples(st.integers(min_value=1, max_value=30), st.sampled_from([0.0, 0.3, 1.0, 2.5, 8.0])),
    min_size=1,
    max_size=35,
)


@settings(max_examples=60, deadline=None)
@given(
    plan=_sentence_plan,
    wps=st.sampled_from([1.0, 2.0, 3.0]),
    count=st.integers(min_value=0, max_value=4),
    taken=st.lists(
        st.tuples(st.floats(0, 300), st.floats(0, 60)).map(lambda t: (t[0], t[0] + t[1])),
        max_size=2,
    ),
)
def test_auto_clip_invariants(
    plan: list[tuple[int, float]], wps: float, count: int, taken: list[tuple[float, float]]
) -> None:
    syn = build([sentence(n) for n, _ in plan], wps=wps, pauses=[p for _, p in plan])
    clips = auto_clips(syn.transcript, count=count, min_seconds=MIN_S, max_seconds=MAX_S, taken=taken)
    starts = {s for s, _ in syn.spans}
    ends = {e for _, e in syn.spans}

    assert len(clips) <= count
    for c in clips:
        assert MIN_S <= c.duration <= MAX_S
        assert c.start in starts
        assert c.end in ends
        assert not any(_overlap((c.start, c.end), t) for t in taken)
        assert c.text.endswith(".")
    for a in range(len(clips)):
        for b in range(a + 1, len(clips)):
            assert not _overlap((clips[a].start, clips[a].end), (clips[b].start, clips[b].end))
    # Best first.
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)
    # Greedy but not lazy: fewer clips than asked only when no valid window is left free.
    if len(clips) < count:
        occupied = [*taken, *((c.start, c.end) for c in clips)]
        for i, (s, _) in enumerate(syn.spans):
            for _, e in syn.spans[i:]:
                if MIN_S <= e - s <= MAX_S:
                    assert any(_overlap((s, e), o) for o in occupied), (s, e)


# --- choose_clips -------------------------------------------------------------------------


def test_choose_clips_puts_picks_first_and_numbers_by_time() -> None:
    syn = uniform(60)  # 300 s
    picks = [PickRequest(250.0, 9999.0, "La fin"), PickRequest(12.3, 47.9, "Pourquoi une ressourcerie ?")]
    clips = choose_clips(syn.transcript, picks, duration=300.0, count=2, min_seconds=MIN_S, max_seconds=MAX_S)

    assert [c.id for c in clips] == ["c00m12.3s", "c00m50.0s", "c01m30.0s", "c04m10.0s"]
    assert [(c.start, c.end) for c in clips] == [(12.3, 47.9), (50.0, 90.0), (90.0, 130.0), (250.0, 300.0)]
    assert [c.source for c in clips] == ["pick", "auto", "auto", "pick"]
    # Producer timecodes are kept as given (not snapped to sentences), only clamped to the footage.
    first, last = clips[0], clips[-1]
    assert first.title == "Pourquoi une ressourcerie ?"
    assert last.title == "La fin"
    assert first.reason == last.reason == "Chosen by the producer."
    # Picks are scored too (for the review page), but kept whatever their score.
    assert set(first.score_parts) == {*WEIGHTS, "fillers"}
    assert first.score == pytest.approx(sum(first.score_parts.values()), abs=1e-3)
    assert all(not _overlap((a.start, a.end), (b.start, b.end)) for a in clips for b in clips if a is not b)


def test_clip_ids_name_the_start_and_never_move_when_a_pick_is_added() -> None:
    assert clip_id(102.34) == "c01m42.3s"
    assert clip_id(0.04) == "c00m00.0s"
    assert clip_id(59.96) == "c01m00.0s"  # rounded to the tenth, then split
    assert clip_id(3725.0) == "c62m05.0s"
    syn = uniform(60)  # 300 s
    picks = [PickRequest(12.3, 47.9, "Un")]
    before = choose_clips(syn.transcript, picks, duration=300.0, count=2, min_seconds=MIN_S, max_seconds=MAX_S)
    # One more pick, between the others: every clip that is still chosen keeps its id (the old
    # numbering c01, c02… renamed every later clip).
    more = [*picks, PickRequest(250.0, 280.0, "Deux")]
    after = choose_clips(syn.transcript, more, duration=300.0, count=2, min_seconds=MIN_S, max_seconds=MAX_S)
    kept = {(c.start, c.end): c.id for c in before}
    again = {(c.start, c.end): c.id for c in after}
    assert set(kept) & set(again), "some clips are chosen both times"
    assert all(again[w] == kept[w] for w in set(kept) & set(again))
    assert again[(250.0, 280.0)] == "c04m10.0s"
    # Two picks from the same instant: told apart by their end, the shorter first.
    same = [PickRequest(12.3, 40.0), PickRequest(12.3, 30.0)]
    ids = [
        c.id for c in choose_clips(syn.transcript, same, duration=300.0, count=0, min_seconds=MIN_S, max_seconds=MAX_S)
    ]
    assert ids == ["c00m12.3s", "c00m12.3s-2"]


def test_pick_text_is_the_words_inside_it() -> None:
    syn = build(["Bonjour à tous.", "Je suis Awa Diallo.", "Bienvenue ici."], wps=2.0)
    # Sentence 2 spans [1.5, 3.5]; a pick over exactly that range gets exactly its words.
    assert syn.spans[1] == (1.5, 3.5)
    (clip,) = choose_clips(
        syn.transcript, [PickRequest(1.5, 3.5)], duration=7.0, count=0, min_seconds=MIN_S, max_seconds=MAX_S
    )
    assert clip.text == "Je suis Awa Diallo."
    assert clip.title == ""


def test_picks_shorter_than_min_seconds_are_kept() -> None:
    syn = uniform(3)
    clips = choose_clips(
        syn.transcript, [PickRequest(2.0, 4.0, "court")], duration=15.0, count=3, min_seconds=MIN_S, max_seconds=MAX_S
    )
    assert [(c.id, c.start, c.end, c.source) for c in clips] == [("c00m02.0s", 2.0, 4.0, "pick")]


def test_choose_clips_ids_follow_time_order_for_auto_clips_too() -> None:
    plain = [sentence(10)] * 8
    hesitant = ["Euh mot mot mot mot mot mot mot mot mot."] * 8
    syn = _two_regions(hesitant, plain)  # the later region scores higher
    clips = choose_clips(syn.transcript, [], duration=syn.transcript.duration, count=2, min_seconds=20, max_seconds=60)
    assert [c.id for c in clips] == [clip_id(clips[0].start), clip_id(clips[1].start)]
    assert clips[0].start < clips[1].start
    assert clips[0].score < clips[1].score
    assert isinstance(clips[0], ClipPlan)


def test_vocabulary_matches_decomposed_accents() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "réemploi")  # as typed on some macOS keyboards
    words = [Word(float(i), i + 1.0, "réemploi") for i in range(3)]
    assert score_window(words, 0.0, 3.0, vocabulary([decomposed]), MIN_S, MAX_S)["topic"] == pytest.approx(0.20)


# --- the real French interview (seed text, synthetic word timings) -------------------------

SEED = SHARED_MEDIA.parent / "seed" / "brandnewsblog-interviews-fr.txt"
_SPEAKER = re.compile(r"^(Le BrandNewsBlog|Anthony Babkine)\s*:\s*")
SEED_TERMS = ("Anthony Babkine", "Diversidays", "égalité des chances", "#Numérique", "#Diversité")
needs_seed = pytest.mark.skipif(not SEED.is_file(), reason="the shared seed interviews are not here")


def seed_interview(
    wps: float = 2.6, sentence_pause: float = 0.4, paragraph_pause: float = 1.2, *, speakers: bool = False
) -> Transcript:
    """The Diversidays interview (host questions, guest answers) as words said at `wps` words per second.

    Each word lasts 90 % of its slot; sentences and paragraphs are followed by short pauses, as in speech.
    With `speakers`, each word carries who said it ("host": the blog, "guest": Anthony Babkine).
    """
    lines = SEED.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("Le BrandNewsBlog : Bonjour Anthony"))
    last = next(i for i, line in enumerate(lines) if line.startswith("Marketeurs.euses"))
    t, segments = 0.0, []
    who = "host"
    for line in lines[first:last]:
        said_by = _SPEAKER.match(line)
        if said_by:
            who = "host" if said_by.group(1) == "Le BrandNewsBlog" else "guest"
        text = _SPEAKER.sub("", line).strip()
        if not text:
            continue
        words = []
        for token in text.split():
            words.append(Word(round(t, 3), round(t + 0.9 / wps, 3), token, speaker=who if speakers else ""))
            t += 1 / wps + (sentence_pause if words[-1].ends_sentence else 0.0)
        segments.append(Segment(words[0].start, words[-1].end, text, tuple(words)))
        t += paragraph_pause
    return Transcript("fr", round(t, 3), tuple(segments))


@pytest.fixture(scope="module")
def interview() -> Transcript:
    if not SEED.is_file():
        pytest.skip("the shared seed interviews are not here")
    return seed_interview()


def test_scores_are_deterministic_for_the_same_transcript(interview: Transcript) -> None:
    first = auto_clips(interview, count=4, min_seconds=MIN_S, max_seconds=MAX_S, terms=SEED_TERMS)
    again = auto_clips(seed_interview(), count=4, min_seconds=MIN_S, max_seconds=MAX_S, terms=SEED_TERMS[::-1])
    assert len(first) == 4
    assert first == again  # same windows, scores, components and reasons
    assert [c.score for c in first] == sorted((c.score for c in first), reverse=True)
    for c in first:
        assert c.text[0].isupper() and c.text[-1] in ".!?…"
        assert c.reason.startswith("Whole sentences")


def test_interview_clips_favour_questions_with_their_answers(interview: Transcript) -> None:
    clips = auto_clips(interview, count=4, min_seconds=MIN_S, max_seconds=MAX_S, terms=SEED_TERMS)
    assert all(c.score_parts["answer"] > 0 for c in clips)
    assert sum("question then the guest's answer" in c.reason for c in clips) >= 2


def _window(sents: Sequence[object], first: int, seconds: float) -> tuple[list[Word], float, float]:
    picked = []
    for s in sents[first:]:
        picked.extend(s.words)  # type: ignore[attr-defined]
        if picked[-1].end - picked[0].start >= seconds:
            break
    return picked, picked[0].start, picked[-1].end


def test_host_question_then_guest_answer_scores_the_answer_component(interview: Transcript) -> None:
    sents = sentences(interview.words)
    q = next(i for i, s in enumerate(sents) if " ".join(w.text for w in s.words).endswith("le plus fier aujourd’hui ?"))
    assert sents[q].is_question and not sents[q + 1].is_question

    def answer(first: int, previous: int | None) -> float:
        words, start, end = _window(sents, first, 30.0)
        prev = sents[previous] if previous is not None else None
        return score_window(words, start, end, frozenset(), MIN_S, MAX_S, previous=prev)["answer"]

    assert answer(q, q - 1) == pytest.approx(0.15)  # opens with the question, 8 s+ of answer follow
    assert answer(q + 1, q) == pytest.approx(0.75 * 0.15)  # the answer, right after its question
    assert sents[q + 3].is_question  # the guest's own « Pourquoi ? », followed by a long answer: counted too
    assert answer(q + 6, q + 5) == 0  # mid-answer, no question in sight


def test_with_real_turns_only_another_speakers_answer_counts(interview: Transcript) -> None:
    turns = seed_interview(speakers=True)
    sents = sentences(turns.words)
    q = next(i for i, s in enumerate(sents) if " ".join(w.text for w in s.words).endswith("le plus fier aujourd’hui ?"))
    assert (sents[q].speaker, sents[q + 1].speaker) == ("host", "guest")
    rhetorical = next(i for i in range(q + 1, q + 8) if sents[i].is_question)
    assert sents[rhetorical].speaker == "guest"  # « Pourquoi ? », which he answers himself

    def answer(first: int, previous: int | None) -> float:
        words, start, end = _window(sents, first, 30.0)
        prev = sents[previous] if previous is not None else None
        return score_window(words, start, end, frozenset(), MIN_S, MAX_S, previous=prev)["answer"]

    assert answer(q, q - 1) == pytest.approx(0.15)  # the host's question, the guest's answer
    assert answer(q + 1, q) == pytest.approx(0.75 * 0.15)  # the guest's answer, right after it
    assert answer(rhetorical, rhetorical - 1) == 0  # the guest answering himself: no question -> answer
    # the same window without speakers: the heuristic counts the rhetorical question
    plain = sentences(interview.words)
    same = next(i for i, s in enumerate(plain) if s.start == sents[rhetorical].start)
    assert plain[same].is_question
    words, start, end = _window(plain, same, 30.0)
    assert score_window(words, start, end, frozenset(), MIN_S, MAX_S, previous=plain[same - 1])["answer"] > 0


def test_a_question_without_a_long_answer_does_not_count() -> None:
    syn = build(["Vous êtes prête ?", "Oui.", "Alors on commence ?", "Allons-y, " + sentence(60)])
    words = syn.transcript.words
    end = words[-1].end
    first_three = [w for w in words if w.end <= syn.spans[2][1]]
    assert score_window(first_three, 0.0, syn.spans[2][1], frozenset(), 1.0, 60.0)["answer"] == 0
    # The third sentence is a question followed by 30 s of answer: counted from inside the window.
    assert score_window(words, 0.0, end, frozenset(), MIN_S, MAX_S)["answer"] == pytest.approx(0.5 * 0.15)


def test_opening_rewards_a_standalone_hook_and_penalises_connectives() -> None:
    vocab = vocabulary(TERMS)
    rest = [sentence(10)] * 5

    def opening(first: str) -> float:
        words = build([first, *rest]).transcript.words
        return score_window(words, 0.0, words[-1].end, vocab, MIN_S, MAX_S)["opening"]

    assert opening("Pourquoi avoir créé une ressourcerie dans ce quartier ?") == pytest.approx(0.15)
    assert opening("Nous avons sauvé 100 tonnes d'objets l'an dernier.") == pytest.approx(0.15)  # a number
    assert opening("Mais nous avons sauvé 100 tonnes d'objets.") == pytest.approx(0.10)  # leans on before
    assert opening("Du coup nous avons sauvé 100 tonnes d'objets.") == pytest.approx(0.10)
    assert opening("Voilà.") == 0  # a filler, one word, no hook


def test_boundaries_notice_a_window_that_starts_or_stops_mid_sentence() -> None:
    def boundaries(texts: list[str]) -> float:
        words = build(texts).transcript.words
        return score_window(words, 0.0, words[-1].end, frozenset(), MIN_S, MAX_S)["boundaries"]

    assert boundaries([sentence(20), sentence(20)]) == pytest.approx(0.10)
    assert boundaries(["et " + sentence(20), sentence(20)]) == pytest.approx(0.05)
    assert boundaries([sentence(20), "Et puis on continue sans finir"]) == pytest.approx(0.05)
    parts = score_window(build(["et puis " + sentence(20)]).transcript.words, 0.0, 11.0, frozenset(), MIN_S, MAX_S)
    assert "mid-sentence" in reason(parts)


def test_each_long_silence_costs_density() -> None:
    syn = build([sentence(10)] * 6, pauses=[0.5, 2.0, 0.5, 2.0, 0.5, 0.0])
    words = syn.transcript.words
    parts = score_window(words, 0.0, words[-1].end, frozenset(), MIN_S, MAX_S)
    spoken = 30.0 / words[-1].end
    assert parts["density"] == pytest.approx(0.15 * (spoken - 2 * 0.15), abs=1e-4)


def test_fillers_are_configurable_and_match_phrases() -> None:
    words = build(["Du coup on a lancé le projet en fait avec les voisins."]).transcript.words
    default = score_window(words, 0.0, words[-1].end, frozenset(), MIN_S, MAX_S)
    custom = score_window(words, 0.0, words[-1].end, frozenset(), MIN_S, MAX_S, fillers={*FILLERS, "en fait"})
    assert default["fillers"] == pytest.approx(-0.05)  # « du coup »
    assert custom["fillers"] == pytest.approx(-0.10)  # « du coup » and « en fait »


def test_louder_delivery_wins_when_all_else_is_equal() -> None:
    syn = _two_regions([sentence(10)] * 8, [sentence(10)] * 8)
    seconds = int(syn.transcript.duration) + 1
    second_start = syn.spans[8][0]
    levels = [-20.0 if t >= second_start else -30.0 for t in range(seconds)]
    (quiet_first,) = auto_clips(syn.transcript, count=1, min_seconds=MIN_S, max_seconds=MAX_S)
    (loud,) = auto_clips(syn.transcript, count=1, min_seconds=MIN_S, max_seconds=MAX_S, energy=energy_profile(levels))
    assert quiet_first.start == 0.0 and quiet_first.score_parts["energy"] == pytest.approx(0.05)
    assert loud.start >= second_start and loud.score_parts["energy"] == pytest.approx(0.10)


def test_energy_profile_scales_between_the_episode_percentiles() -> None:
    profile = energy_profile([-60.0] * 10 + [-30.0] * 80 + [-10.0] * 10)
    assert profile.level(0.0, 10.0) == 0.0  # quieter than the 10th percentile
    assert profile.level(95.0, 100.0) == 1.0
    assert profile.level(20.0, 30.0) == 1.0  # -30 dB is the 90th percentile
    assert profile.level(5.0, 15.0) == pytest.approx(0.5)  # half at -60 dB, half at -30 dB
    assert energy_profile([-20.0] * 5).level(0.0, 5.0) == 0.5  # flat: no information


def test_clip_lengths_fit_every_selected_platform() -> None:
    assert length_range(20.0, 90.0, [PLATFORMS["tiktok"], PLATFORMS["youtube_shorts"]]) == (20.0, 60.0)
    assert length_range(1.0, 90.0, [PLATFORMS["tiktok"]]) == (3.0, 90.0)
    assert length_range(20.0, 60.0, []) == (20.0, 60.0)
    assert length_range(200.0, 300.0, [PLATFORMS["x"]]) == (200.0, 300.0)  # no room: the settings win


# --- quote picks ---------------------------------------------------------------------------


def _sentence_of(words: Sequence[Word], index: int) -> tuple[int, int]:
    first = index
    while first > 0 and not words[first - 1].ends_sentence:
        first -= 1
    last = index
    while not words[last].ends_sentence:
        last += 1
    return first, last


@pytest.mark.parametrize(
    "quote",
    [
        "merci Hervé pour tes encouragements",  # as written
        "MERCI HERVE POUR TES ENCOURAGEMENTS !",  # case, accents, punctuation
        "merci Herve pour tes encouragments",  # a typo
        "Tout dabord, merci Hervé",  # missing apostrophe
        "Tout d'abord merci Hervé pour tes encouragements et pour mavoir donné la parole",  # ' vs ’, no apostrophe
    ],
)
def test_quote_pick_is_found_and_snapped_to_its_sentence(interview: Transcript, quote: str) -> None:
    words = interview.words
    (clip,) = picked_clips(interview, [PickRequest(quote=quote, title="Merci")], interview.duration)
    first = next(i for i, w in enumerate(words) if w.text == "Tout" and words[i + 1].text == "d’abord,")
    s, e = _sentence_of(words, first)
    assert s == first and words[e].text == "blog."
    # Snapped to the whole sentence, padded by 0.3 s but never into the neighbouring words.
    assert clip.start == pytest.approx(max(words[s].start - 0.3, words[s - 1].end))
    assert clip.end == pytest.approx(min(words[e].end + 0.3, words[e + 1].start))
    assert words[s - 1].end <= clip.start < words[s].start
    assert (
        clip.text == "Tout d’abord, merci Hervé pour tes encouragements et pour m’avoir donné la parole sur ton blog."
    )
    assert (clip.source, clip.title) == ("pick", "Merci")
    assert clip.reason.startswith("Chosen by the producer: quote found")


def test_quote_in_the_middle_of_a_sentence_takes_the_whole_sentence(interview: Transcript) -> None:
    (clip,) = picked_clips(interview, [PickRequest(quote="de quels succès êtes-vous le plus fier")], 1e9)
    assert clip.text.startswith("Quelles ont été les étapes clés")
    assert clip.text.endswith("le plus fier aujourd’hui ?")


def test_quote_not_in_the_interview_is_a_clear_error(interview: Transcript) -> None:
    quote = "le chat de ma grand-mère mange des croquettes le dimanche"
    with pytest.raises(QuoteNotFoundError) as err:
        choose_clips(
            interview,
            [PickRequest(quote=quote)],
            duration=interview.duration,
            count=2,
            min_seconds=MIN_S,
            max_seconds=MAX_S,
            where="config/episodes/diversidays.toml",
        )
    message = str(err.value)
    assert isinstance(err.value, ToukToukError)
    assert message.startswith("config/episodes/diversidays.toml: pick 1 quotes « " + quote + " »")
    assert "transcript.srt" in message


def test_a_quote_from_another_interview_is_not_found(interview: Transcript) -> None:
    # Real French from the same seed file, but said by another guest in another interview.
    assert find_quote(interview.words, "Le personal branding, c'est l'art de valoriser") is None


def test_ambiguous_quote_uses_the_first_occurrence_and_says_so() -> None:
    said = "Nous ne lâcherons rien."
    syn = build([sentence(10), said, sentence(10), said, sentence(10)], pauses=1.0)
    match = find_quote(syn.transcript.words, "nous ne lâcherons rien")
    assert match is not None and match.occurrences == 2
    (clip,) = picked_clips(syn.transcript, [PickRequest(quote="nous ne lâcherons rien")], syn.transcript.duration)
    assert clip.start == pytest.approx(syn.spans[1][0] - 0.3)
    assert clip.end == pytest.approx(syn.spans[1][1] + 0.3)
    assert "said 2 times, first one used (at 0:05)" in clip.reason


def test_quote_padding_is_clamped_to_the_footage() -> None:
    syn = build(["Bonjour à toutes et à tous.", sentence(10), "Merci et à bientôt."])
    duration = syn.spans[-1][1] + 0.1
    first, last = picked_clips(
        syn.transcript, [PickRequest(quote="bonjour a toutes"), PickRequest(quote="merci et a bientot")], duration
    )
    assert (first.start, first.end) == (0.0, pytest.approx(syn.spans[0][1]))  # the next word starts right away
    assert (last.start, last.end) == (pytest.approx(syn.spans[2][0]), duration)


def test_quote_and_timecode_picks_mix_with_auto_clips(interview: Transcript) -> None:
    picks = [PickRequest(quote="merci Hervé pour tes encouragements"), PickRequest(100.0, 130.0, "Un")]
    clips = choose_clips(
        interview, picks, duration=interview.duration, count=3, min_seconds=MIN_S, max_seconds=MAX_S, terms=SEED_TERMS
    )
    assert [c.source for c in clips].count("pick") == 2 and len(clips) == 5
    assert len({c.id for c in clips}) == 5 and all(c.id == clip_id(c.start) for c in clips)
    spans = [(c.start, c.end) for c in clips]
    assert spans == sorted(spans)
    assert all(not _overlap(a, b) for a in spans for b in spans if a is not b)


def test_episode_file_takes_quote_picks(tmp_path: Path) -> None:
    path = tmp_path / "episode.toml"
    path.write_text(
        'number = 1\nslug = "diversidays"\ntitle = "Diversidays"\n'
        '[[picks]]\nquote = "merci Hervé pour tes encouragements"\ntitle = "Merci"\n'
        '[[picks]]\nstart = "00:01:00"\nend = "00:01:30"\n',
        encoding="utf-8",
    )
    first, second = load_episode(path).picks
    assert (first.quote, first.start, first.end) == ("merci Hervé pour tes encouragements", None, None)
    assert (second.start, second.end, second.quote) == (60.0, 90.0, "")


@pytest.mark.parametrize(
    "pick, problem",
    [
        ('quote = "bonjour"\nstart = 1\nend = 5', "not both"),
        ('title = "rien"', "needs start and end"),
        ("start = 1", "needs start and end"),
        ('quote = "   "', "needs start and end"),
    ],
)
def test_a_pick_needs_either_a_quote_or_start_and_end(tmp_path: Path, pick: str, problem: str) -> None:
    path = tmp_path / "episode.toml"
    path.write_text(f'number = 1\nslug = "ep"\ntitle = "Ep"\n[[picks]]\n{pick}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=problem) as err:
        load_episode(path)
    assert str(path) in str(err.value) and "picks.0" in str(err.value)
    with pytest.raises(ValueError):
        Pick.model_validate({"title": "rien"})


# --- energy (loudness per second) --------------------------------------------------------


def test_rms_db_of_known_signals() -> None:
    rate = 16000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    levels = rms_db(np.concatenate([np.zeros(rate), tone, tone[: rate // 2] * 0.1]), rate)
    assert levels[0] == SILENCE_DB
    assert levels[1] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.01)  # -9.03 dBFS
    assert levels[2] == pytest.approx(levels[1] - 20, abs=0.05)  # a tenth of the amplitude, half a second
    assert len(levels) == 3


def test_rms_per_second_reads_a_pcm_wav(tmp_path: Path) -> None:
    rate = 16000
    samples = (np.concatenate([np.full(rate, 1000), np.full(rate, 10000)]) * np.tile([1, -1], rate)).astype("<i2")
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.tobytes())
    quiet, loud = rms_per_second(path)
    assert quiet == pytest.approx(20 * np.log10(1000 / 32768), abs=0.01)
    assert loud - quiet == pytest.approx(20.0, abs=0.01)


def test_rms_per_second_refuses_a_file_that_is_not_wav(tmp_path: Path) -> None:
    path = tmp_path / "not.wav"
    path.write_text("ceci n'est pas un wav", encoding="utf-8")
    with pytest.raises(ToukToukError, match="not a readable PCM wav"):
        rms_per_second(path)


@pytest.mark.skipif(not have_shared("fleurs-fr-001.ogg"), reason="shared FLEURS recording not here")
def test_loudness_of_real_french_speech_from_the_extracted_wav(tmp_path: Path) -> None:
    wav = extract_audio(SHARED_MEDIA / "fleurs-fr-001.ogg", tmp_path / "audio-16k.wav")
    levels = rms_per_second(wav)
    with wave.open(str(wav), "rb") as f:
        seconds = f.getnframes() / f.getframerate()
    assert len(levels) == int(np.ceil(seconds))
    assert all(SILENCE_DB <= v < 0 for v in levels)
    assert max(levels) - min(levels) > 3  # speech and pauses differ
    assert 0 <= energy_profile(levels).level(0, seconds) <= 1


# --- the flow's choose-clips step --------------------------------------------------------


def _flow_inputs(tmp_path: Path, picks: str) -> Any:
    from touktouk.config import SeriesConfig
    from touktouk.publish.commit import Inputs

    path = tmp_path / "diversidays.toml"
    path.write_text(f'number = 1\nslug = "diversidays"\ntitle = "Diversidays"\n{picks}', encoding="utf-8")
    return Inputs(tmp_path / "footage.mp4", SeriesConfig(), load_episode(path), str(path), str(tmp_path / "store"))


def test_flow_step_stops_on_an_unfound_quote_naming_the_episode_file(tmp_path: Path) -> None:
    from touktouk.orchestration.tasks import choose_clips_task

    inputs = _flow_inputs(tmp_path, '[[picks]]\nquote = "une phrase que personne ne dit"\n')
    syn = uniform(20)
    with pytest.raises(QuoteNotFoundError) as err:
        choose_clips_task.fn(syn.transcript, inputs, syn.transcript.duration)
    assert str(err.value).startswith(f"{inputs.episode_file}: pick 1 quotes « une phrase que personne ne dit »")


@pytest.mark.skipif(not have_shared("fleurs-fr-001.ogg"), reason="shared FLEURS recording not here")
def test_flow_step_reads_the_loudness_of_the_extracted_audio(tmp_path: Path) -> None:
    from prefect.logging import disable_run_logger

    from touktouk.orchestration.tasks import choose_clips_task

    wav = extract_audio(SHARED_MEDIA / "fleurs-fr-001.ogg", tmp_path / "audio-16k.wav")
    levels = rms_per_second(wav)
    syn = build([sentence(10) for _ in range(len(levels) // 5)])  # sentences over the recording's length
    inputs = _flow_inputs(tmp_path, '[[picks]]\nquote = "mot mot mot"\n')
    with disable_run_logger():
        plans = choose_clips_task.fn(syn.transcript, inputs, syn.transcript.duration, wav)
    profile = energy_profile(levels)
    for plan in plans:
        expected = round(0.10 * profile.level(plan.start, plan.end), 4)
        assert plan.score_parts["energy"] == pytest.approx(expected)
    assert plans[0].source == "pick" and plans[0].start == 0.0
