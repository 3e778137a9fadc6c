"""Unit tests for touktouk.select on synthetic word-timed transcripts (no ASR involved)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touktouk.select import (
    PickRequest,
    auto_clips,
    choose_clips,
    score_window,
    sentences,
    vocabulary,
)
from touktouk.timeline import ClipPlan, Segment, Transcript, Word

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
    """n words, the last one ending with a full stop."""
    return " ".join([word] * (n - 1) + [f"{word}."])


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
    assert full["density"] == pytest.approx(0.40)
    assert gappy["density"] == pytest.approx(0.40 * 30 / 44.5, abs=1e-4)
    assert gappy["density"] < full["density"]


def test_pace_is_full_from_2_5_words_per_second() -> None:
    fast = score_window(_words(100, step=0.4, length=0.4), 0.0, 40.0, frozenset(), MIN_S, MAX_S)
    faster = score_window(_words(160, step=0.25, length=0.25), 0.0, 40.0, frozenset(), MIN_S, MAX_S)
    slow = score_window(_words(50, step=0.8, length=0.8), 0.0, 40.0, frozenset(), MIN_S, MAX_S)
    assert fast["pace"] == pytest.approx(0.25)
    assert faster["pace"] == pytest.approx(0.25)  # capped
    assert slow["pace"] == pytest.approx(0.125)


def test_length_is_best_at_the_middle_of_the_range() -> None:
    def length_part(duration: float) -> float:
        n = int(duration)
        return score_window(_words(n), 0.0, float(n), frozenset(), MIN_S, MAX_S)["length"]

    assert length_part(40) == pytest.approx(0.10)
    assert length_part(20) == pytest.approx(0.05)
    assert length_part(60) == pytest.approx(0.05)
    assert length_part(30) < length_part(40)


def test_vocabulary_keeps_significant_words_of_the_episode_terms() -> None:
    vocab = vocabulary(TERMS)
    assert {"diallo", "ressourcerie", "canal", "réemploi", "insertion", "professionnelle"} <= vocab
    assert not {"awa", "du", "et", "ess"} & vocab  # shorter than four letters
    assert vocabulary(["#Réemploi"]) == {"réemploi"}


def test_topic_counts_episode_vocabulary_and_is_full_at_three_hits() -> None:
    vocab = vocabulary(TERMS)

    def topic(texts: list[str]) -> float:
        words = [Word(float(i), i + 1.0, t) for i, t in enumerate(texts)]
        return score_window(words, 0.0, float(len(words)), vocab, MIN_S, MAX_S)["topic"]

    plain = ["on", "parle", "de", "choses", "et", "autres"] * 5
    assert topic(plain) == 0
    one = [*plain[:-1], "Ressourcerie."]
    assert topic(one) == pytest.approx(0.25 / 3, abs=1e-4)
    three = [*plain[:-3], "l'insertion,", "RÉEMPLOI", "Diallo"]
    assert topic(three) == pytest.approx(0.25)
    assert topic([*three[:-1], "canal", "ressourcerie"]) == pytest.approx(0.25)  # capped


@pytest.mark.parametrize("filler", ["euh", "Euh,", "« ben »", "bah", "hein ?", "voilà.", "Voilà"])
def test_each_filler_costs_five_hundredths(filler: str) -> None:
    words = [Word(float(i), i + 1.0, "mot") for i in range(30)]
    with_filler = [*words[:10], Word(10.0, 11.0, filler), *words[11:]]
    clean = score_window(words, 0.0, 30.0, frozenset(), MIN_S, MAX_S)
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
        assert c.score_parts["density"] == pytest.approx(0.40)
        assert c.score_parts["pace"] == pytest.approx(0.25 * 2.0 / 2.5)
        assert c.score_parts["length"] == pytest.approx(0.10)
        assert c.score == pytest.approx(sum(c.score_parts.values()), abs=1e-3)
        assert c.text == " ".join([sentence(10)] * 8)
        assert c.reason.startswith("Whole sentences")


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
    assert clip.score_parts["density"] == pytest.approx(0.40)


def test_episode_vocabulary_wins() -> None:
    plain = [sentence(10)] * 8
    topical = [*plain[:5], "La ressourcerie fait du réemploi pour l'insertion des gens ici.", *plain[6:]]
    syn = _two_regions(plain, topical)
    (clip,) = auto_clips(syn.transcript, count=1, min_seconds=MIN_S, max_seconds=MAX_S, terms=TERMS)
    assert clip.start >= syn.spans[8][0]
    assert clip.score_parts["topic"] == pytest.approx(0.25)
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

    assert [c.id for c in clips] == ["c01", "c02", "c03", "c04"]
    assert [(c.start, c.end) for c in clips] == [(12.3, 47.9), (50.0, 90.0), (90.0, 130.0), (250.0, 300.0)]
    assert [c.source for c in clips] == ["pick", "auto", "auto", "pick"]
    # Producer timecodes are kept as given (not snapped to sentences), only clamped to the footage.
    first, last = clips[0], clips[-1]
    assert first.title == "Pourquoi une ressourcerie ?"
    assert last.title == "La fin"
    assert first.reason == last.reason == "Chosen by the producer."
    assert first.score == 0 and first.score_parts == {}
    assert all(not _overlap((a.start, a.end), (b.start, b.end)) for a in clips for b in clips if a is not b)


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
    assert [(c.id, c.start, c.end, c.source) for c in clips] == [("c01", 2.0, 4.0, "pick")]


def test_choose_clips_ids_follow_time_order_for_auto_clips_too() -> None:
    plain = [sentence(10)] * 8
    hesitant = ["Euh mot mot mot mot mot mot mot mot mot."] * 8
    syn = _two_regions(hesitant, plain)  # the later region scores higher
    clips = choose_clips(syn.transcript, [], duration=syn.transcript.duration, count=2, min_seconds=20, max_seconds=60)
    assert [c.id for c in clips] == ["c01", "c02"]
    assert clips[0].start < clips[1].start
    assert clips[0].score < clips[1].score
    assert isinstance(clips[0], ClipPlan)


def test_vocabulary_matches_decomposed_accents() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "réemploi")  # as typed on some macOS keyboards
    words = [Word(float(i), i + 1.0, "réemploi") for i in range(3)]
    assert score_window(words, 0.0, 3.0, vocabulary([decomposed]), MIN_S, MAX_S)["topic"] == pytest.approx(0.25)
