"""Who speaks when from one mixed track, by the voices alone: Resemblyzer's shipped weights (no
download) on real French speech (FLEURS: different native speakers; espeak-ng voices without the
shared media), then the clustering maths on its own."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pytest

from media_fixtures import voice_mix
from touktouk.pipeline.speakers import diarize_audio
from touktouk.shoot.speakers import speaker_at
from touktouk.types import Turn
from touktouk.voices.cluster import cluster_voices, smooth_labels, voice_turns

log = logging.getLogger("test")


def words_right(truth: list[tuple[str, float, float]], turns: list[Turn], length: float = 0.3) -> float:
    """The share of 0.3 s words laid over the true turns that get their voice, under the best
    one-to-one naming of the found speakers (S1, S2…) as the true voices."""
    words = [(t, who) for who, a, b in truth for t in np.arange(a, b - length, length)]
    found = sorted({t.speaker for t in turns})
    voices = sorted({who for who, _, _ in truth})
    best = 0.0
    for names in itertools.permutations(found + [""] * max(0, len(voices) - len(found)), len(voices)):
        as_voice = {n: v for n, v in zip(names, voices, strict=True) if n}
        right = sum(as_voice.get(speaker_at(t, t + length, turns)) == who for t, who in words)
        best = max(best, right / len(words))
    return best


@pytest.mark.parametrize("speakers", [1, 2])
def test_the_voices_are_counted_and_each_word_goes_to_its_speaker(tmp_path: Path, speakers: int) -> None:
    """An interview's case: one or two people. (Three voices are counted as four: docs/benchmarks.md.)"""
    audio, truth, origin = voice_mix(tmp_path, speakers)
    turns = diarize_audio(audio, max_speakers=4, log=log)
    assert len({t.speaker for t in turns}) == speakers, (origin, turns)
    assert words_right(truth, turns) >= 0.9, (origin, turns, truth)


def test_no_more_voices_than_the_series_allows(tmp_path: Path) -> None:
    audio, _, _ = voice_mix(tmp_path, 3)
    assert {t.speaker for t in diarize_audio(audio, max_speakers=2, log=log)} == {"S1", "S2"}


def test_clusters_are_counted_by_distance_and_small_ones_join_the_nearest() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(256), rng.standard_normal(256)
    voice = lambda centre, n: centre + 0.35 * np.linalg.norm(centre) / 16 * rng.standard_normal((n, 256))  # noqa: E731
    two = np.vstack([voice(a, 40), voice(b, 30), voice(a, 20)])
    labels = cluster_voices(two)
    assert labels.tolist() == [0] * 40 + [1] * 30 + [0] * 20, "two voices, named in the order they speak"
    one = voice(a, 60)
    assert set(cluster_voices(one).tolist()) == {0}
    stray = np.vstack([voice(a, 60), voice(b, 5), voice(a, 40)])  # 5 % of the windows
    assert set(cluster_voices(stray).tolist()) == {0}, "a voice under 10 % of the speech is not a speaker"


def test_one_window_flickers_are_smoothed_and_turns_keep_to_the_speech() -> None:
    labels = np.array([0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1])
    assert smooth_labels(labels).tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    centres = np.array([1.0, 1.5, 2.0, 6.0, 6.5])
    turns = voice_turns(centres, np.array([0, 0, 0, 1, 1]), [(0.8, 2.3), (5.9, 6.8)], 0.5)
    assert turns == [Turn(0.8, 2.3, "S1"), Turn(5.9, 6.8, "S2")]
    same = voice_turns(centres, np.array([0, 0, 0, 0, 0]), [(0.8, 2.3), (2.9, 6.8)], 0.5)
    assert same == [Turn(0.8, 6.8, "S1")], "one speaker across a pause under a second: one turn"
