"""Who speaks when, from one mic per person: real French speech (FLEURS, or espeak-ng voices
without the shared media) on two mics that each hear the other voice (bleed), at different gains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from media_fixtures import SHOOT_RATE, conversation_turns
from touktouk.shoot.speakers import (
    FRAME_S,
    label_words,
    leading_speaker,
    mic_turns,
    speaker_at,
    turns_from_frames,
    words_per_speaker,
)
from touktouk.types import Segment, Transcript, Turn, Word


def words_over(truth: list[tuple[str, float, float]], length: float = 0.3) -> list[tuple[Word, str]]:
    """Words of `length` s laid end to end over each true turn, with who said them."""
    out = []
    for who, start, end in truth:
        t = start
        while t + length <= end:
            out.append((Word(t, t + length, "mot"), who))
            t += length
    return out


@pytest.mark.parametrize(
    ("bleed", "guest_gain"),
    [(0.08, 1.0), (0.2, 0.25), (0.2, 4.0)],
    ids=["bleed -22 dB", "bleed -14 dB, guest mic 12 dB lower", "bleed -14 dB, guest mic 12 dB higher"],
)
def test_each_word_goes_to_the_person_whose_mic_leads_whatever_the_bleed_and_gains(
    tmp_path: Path, bleed: float, guest_gain: float
) -> None:
    host, guest, truth, _ = conversation_turns(tmp_path, bleed=bleed, guest_gain=guest_gain, hiss=0.0005)
    turns = mic_turns({"host": host, "guest": guest}, SHOOT_RATE)
    labelled = words_over(truth)
    right = sum(speaker_at(w.start, w.end, turns) == who for w, who in labelled)
    assert right / len(labelled) >= 0.95, (right, len(labelled), turns)
    # The turns follow the true ones (a long pause inside a reading may cut one in two).
    said = [t.speaker for n, t in enumerate(turns) if n == 0 or turns[n - 1].speaker != t.speaker]
    assert said == [who for who, _, _ in truth], turns


def test_with_a_louder_mic_alone_the_bleed_would_win() -> None:
    """Why levels are read against each mic's own speech level: raw, the guest's quiet mic loses
    its own turn to the host's mic hearing it."""
    rng = np.random.default_rng(3)
    n = SHOOT_RATE * 3  # a second of room, a second of each voice (noise bursts)
    host_voice = rng.standard_normal(n) * np.repeat([0.0, 1.0, 0.0], SHOOT_RATE)
    guest_voice = rng.standard_normal(n) * np.repeat([0.0, 0.0, 1.0], SHOOT_RATE)
    host_mic = host_voice + 0.3 * guest_voice + 0.001 * rng.standard_normal(n)
    guest_mic = 0.2 * (guest_voice + 0.3 * host_voice) + 0.001 * rng.standard_normal(n)
    guest_part = slice(2 * SHOOT_RATE, n)
    raw_second = np.sqrt(np.mean(host_mic[guest_part] ** 2)) > np.sqrt(np.mean(guest_mic[guest_part] ** 2))
    assert raw_second, "the host's mic is louder than the guest's even while the guest speaks"
    turns = mic_turns({"host": host_mic, "guest": guest_mic}, SHOOT_RATE)
    assert [t.speaker for t in turns] == ["host", "guest"], turns


def test_no_one_leads_in_silence_or_when_both_speak_at_once() -> None:
    room, host_alone, guest_alone, both = [-80.0] * 10, [-20.0] * 10, [-41.0] * 10, [-20.0] * 10
    levels = {
        "host": np.array(room + host_alone + guest_alone + both),
        "guest": np.array(room + [-40.0] * 10 + [-21.0] * 10 + [-21.0] * 10),  # hears the host 20 dB down
    }
    frames = leading_speaker(levels)
    assert frames[:10] == [None] * 10, "silence"
    assert frames[10:20] == ["host"] * 10 and frames[20:30] == ["guest"] * 10
    assert frames[30:] == [None] * 10, "both at their speech level: nobody leads by the margin"


def test_a_blip_does_not_take_the_turn_and_a_short_pause_does_not_end_it() -> None:
    n = round(1.0 / FRAME_S)  # frames a second
    frames: list[str | None] = ["host"] * n + ["guest"] * 2 + ["host"] * n  # a 40 ms cough
    frames += [None] * round(0.3 / FRAME_S) + ["host"] * n  # a breath
    frames += [None] * round(1.0 / FRAME_S) + ["guest"] * n  # a real pause, then the guest
    turns = turns_from_frames(frames)
    assert [t.speaker for t in turns] == ["host", "guest"], turns
    assert turns[0].start == 0.0 and turns[0].end == pytest.approx((3 * n + 2 + round(0.3 / FRAME_S)) * FRAME_S)
    assert turns[1].start == pytest.approx(turns[0].end + 1.0)


def test_words_take_the_turn_they_overlap_most_or_the_nearest_one() -> None:
    turns = [Turn(0.0, 2.0, "host"), Turn(2.2, 5.0, "guest")]
    assert speaker_at(1.95, 2.3, turns) == "guest", "0.1 s in the guest's turn against 0.05 in the host's"
    assert speaker_at(1.7, 2.25, turns) == "host"
    assert speaker_at(2.05, 2.15, turns) == "host", "in the gap, the nearer turn"
    assert speaker_at(8.0, 8.2, turns) == "", "far from every turn: unknown"
    transcript = Transcript(
        "fr", 5.0, (Segment(0.0, 5.0, "a b", (Word(0.5, 0.9, "Bonjour"), Word(3.0, 3.4, "Merci"))),)
    )
    labelled = label_words(transcript, turns)
    assert [w.speaker for w in labelled.words] == ["host", "guest"]
    assert words_per_speaker(labelled) == {"host": 1, "guest": 1}
    data = labelled.to_dict()
    assert data["segments"][0]["words"][0]["speaker"] == "host"
    assert Transcript.from_dict(data) == labelled
    assert "speaker" not in transcript.to_dict()["segments"][0]["words"][0], "unknown speakers are not written"
