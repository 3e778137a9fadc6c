"""Who speaks when in an episode: from the shoot's mics (one per person, `shoot.speakers`), and
the words of the transcript labelled with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from touktouk.publish.commit import Inputs
from touktouk.shoot.decode import decode_mono
from touktouk.shoot.speakers import Turn, label_words, mic_turns
from touktouk.types import Transcript

SPEAKER_RATE = 8000  # Hz: levels per 20 ms need no more


def speaker_turns(inputs: Inputs, log: Any) -> list[Turn]:
    """The turns of the shoot's mics (on the timeline's clock, which is the footage's), or none
    when the episode has no shoot or no mic."""
    shoot = inputs.episode.shoot
    if shoot is None or not shoot.mics or not inputs.episode_file:
        return []
    base = Path(inputs.episode_file).expanduser().resolve().parent
    mics = {
        m.speaker: decode_mono(base / m.file, SPEAKER_RATE, what=f"the mic of speaker '{m.speaker}'")
        for m in shoot.mics
    }
    turns = mic_turns(mics, SPEAKER_RATE)
    spoken: dict[str, float] = {}
    for t in turns:
        spoken[t.speaker] = spoken.get(t.speaker, 0.0) + t.end - t.start
    log.info(
        "Speakers from %d mic(s): %d turns (%s)",
        len(mics),
        len(turns),
        ", ".join(f"{k} {v:.0f} s" for k, v in spoken.items()) or "nobody heard",
    )
    return turns


def label_speakers(transcript: Transcript, turns: list[Turn]) -> Transcript:
    """Every word with the speaker of its turn (`shoot.speakers.label_words`)."""
    return label_words(transcript, turns)
