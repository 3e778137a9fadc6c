"""Who speaks when in an episode: from the shoot's mics (one per person, `shoot.speakers`), else
from the voices of the mixed track (`voices`: speaker embeddings clustered), and the words of the
transcript labelled with it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from touktouk.publish.commit import Inputs
from touktouk.shoot.decode import decode_mics
from touktouk.shoot.speakers import LEVEL_RATE, label_words, mic_turns
from touktouk.transcribe.vad import open_pcm, pcm_speech_regions
from touktouk.types import Transcript, Turn
from touktouk.voices.cluster import diarize_embeddings
from touktouk.voices.embed import HOP_S, embed_regions


def speaker_turns(inputs: Inputs, audio: Path, regions: Sequence[tuple[float, float]], log: Any) -> list[Turn]:
    """The turns of the shoot's mics (on the timeline's clock, which is the footage's); without
    mics, those found in the speech `regions` of the footage's sound `audio` (16 kHz mono) by its voices, unless the
    series turns that off ([speakers] diarize = false)."""
    shoot = inputs.episode.shoot
    if shoot is None or not shoot.mics or not inputs.episode_file:
        settings = inputs.series.speakers
        return diarize_audio(audio, settings.max_speakers, log, regions) if settings.diarize else []
    base = Path(inputs.episode_file).expanduser().resolve().parent
    mics = decode_mics(shoot, base, LEVEL_RATE)
    turns = mic_turns(mics, LEVEL_RATE)
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


def diarize_audio(
    audio: Path, max_speakers: int, log: Any, regions: Sequence[tuple[float, float]] | None = None
) -> list[Turn]:
    """Speaker turns of one mixed recording: its speech `regions` (found by Silero VAD when not
    given), a voice embedding every half second inside them, clustered into 1 to `max_speakers`
    voices (`voices.cluster`)."""
    try:
        import resemblyzer  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        log.warning(
            "Speakers by voice: left out, %s is not installed (make setup installs it; or pip install "
            "'touktouk[speakers]' and then pip install --no-deps resemblyzer==0.1.4); the words carry no speaker.",
            exc.name,
        )
        return []
    with open_pcm(audio) as pcm:
        regions = pcm_speech_regions(pcm) if regions is None else regions
        centres, embeddings = embed_regions(pcm.read, regions)
    turns = diarize_embeddings(centres, embeddings, regions, HOP_S, max_speakers=max_speakers)
    voices = sorted({t.speaker for t in turns})
    log.info(
        "Speakers by voice: %d (%s) in %.0f s of speech, %d turns",
        len(voices), ", ".join(voices) or "none", sum(b - a for a, b in regions), len(turns),
    )  # fmt: skip
    return turns
