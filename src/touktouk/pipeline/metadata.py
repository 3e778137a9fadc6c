"""Per-platform metadata: each clip's title, text and hashtags within the platform's limits, and the
episode's YouTube description with its chapters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from touktouk.clips.chapters import Chapters, find_chapters
from touktouk.clips.texts import DEFAULT_TEMPLATES, Template, describe, hook_from, with_chapters
from touktouk.config import SeriesConfig
from touktouk.pipeline.clips import clip_platforms
from touktouk.platforms import PLATFORMS
from touktouk.publish.commit import Inputs, StoredClip
from touktouk.runlog import LoggerLike
from touktouk.types import Transcript


def _fields(inputs: Inputs, hook: str) -> dict[str, str]:
    ep = inputs.episode
    return {
        "series": inputs.series.series,
        "title": ep.title,
        "guest": ep.guest,
        "organisation": ep.organisation,
        "cause": ep.cause,
        "hook": hook,
        "episode": str(ep.number),
        "season": str(ep.season),
        "episode_url": ep.links.get("youtube", "") or next(iter(ep.links.values()), ""),
    }


def _template(series: SeriesConfig, platform: str) -> Template:
    """The series config may override the French default template of any platform."""
    default = DEFAULT_TEMPLATES[platform]
    custom = series.templates.get(platform)
    if custom is None:
        return default
    return Template(title=custom.title or default.title, text=custom.text or default.text)


def describe_episode(
    clips: Sequence[StoredClip], inputs: Inputs, transcript: Transcript | None, logger: LoggerLike
) -> dict[str, Any]:
    """Per-clip, per-platform metadata; returns the episode-level (YouTube master) metadata, whose
    description carries the chapters found in the transcript."""
    tags = list(inputs.episode.hashtags)
    for clip in clips:
        hook = clip.plan.title or hook_from(clip.plan.text)
        for platforms in clip_platforms(clip):
            for pid in platforms:
                clip.metadata[pid] = describe(
                    PLATFORMS[pid], _fields(inputs, hook), tags, _template(inputs.series, pid)
                )
    yt = PLATFORMS["youtube"]
    fields = _fields(inputs, inputs.episode.title)
    master_meta = describe(yt, fields, tags, _template(inputs.series, "youtube"))
    found = find_chapters(transcript) if transcript is not None else Chapters((), "no transcript")
    if found:
        master_meta["text"] = with_chapters(
            str(master_meta["text"]), found.items, limit=yt.text_limit, unit=yt.text_unit
        )
    logger.info("Chapters: %d (%s)", len(found.items), found.note)
    return {
        "youtube": master_meta,
        "chapters": [{"start": c.start, "title": c.title} for c in found.items],
    }
