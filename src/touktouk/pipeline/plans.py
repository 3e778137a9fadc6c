"""The episode's clip plans: the producer's picks and the scored highlights, logged."""

from __future__ import annotations

from pathlib import Path

from touktouk.clips.energy import rms_per_second
from touktouk.clips.scoring import energy_profile
from touktouk.clips.select import PickRequest, choose_clips, length_range
from touktouk.platforms import PLATFORMS
from touktouk.publish.commit import Inputs
from touktouk.runlog import LoggerLike
from touktouk.types import ClipPlan, Transcript


def plan_clips(
    transcript: Transcript, inputs: Inputs, duration: float, audio: Path | None, logger: LoggerLike
) -> list[ClipPlan]:
    """Picks and highlights; `audio` (the 16 kHz wav) adds the loudness component. A quote pick
    that is not in the transcript raises QuoteNotFoundError here, before anything is rendered or stored."""
    ep, settings = inputs.episode, inputs.series.clips
    min_s, max_s = length_range(settings.min_seconds, settings.max_seconds, (PLATFORMS[p] for p in settings.platforms))
    plans = choose_clips(
        transcript,
        [PickRequest(p.start, p.end, p.title, p.quote) for p in ep.picks],
        duration=duration,
        count=settings.auto_clips,
        min_seconds=min_s,
        max_seconds=max_s,
        terms=[ep.guest, ep.organisation, ep.cause, *ep.hashtags],
        energy=energy_profile(rms_per_second(audio)) if audio is not None else None,
        where=inputs.episode_file or "the episode file",
    )
    for c in plans:
        logger.info("Clip %s: %.1f-%.1f s (%s, score %.2f) %s", c.id, c.start, c.end, c.source, c.score, c.reason)
    if not plans:
        logger.warning(
            "No clip chosen: no sentence-bounded window of %g-%g s and no pick in the episode file.",
            settings.min_seconds,
            settings.max_seconds,
        )
    return plans
