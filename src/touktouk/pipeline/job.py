"""What the render tasks of one run share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from touktouk.config import SeriesConfig
from touktouk.render.probe import MediaInfo
from touktouk.store.base import StoredObject
from touktouk.types import Framing, Transcript


@dataclass(frozen=True, kw_only=True)
class EpisodeJob:
    """What a render of the whole footage needs (the YouTube master: no transcript, and the stored
    footage passed beside it, so that it can start as soon as the footage is stored); it holds no
    local path the task relies on."""

    store_url: str
    endpoint_url: str | None
    prefix: str  # the episode's key prefix
    episode_id: str
    footage_hint: str  # the footage on the flow's machine: used only where it exists with the master's size
    info: MediaInfo
    series: SeriesConfig
    config_dir: Path | None = None  # where relative brand files (logo, bumpers) are found


@dataclass(frozen=True, kw_only=True)
class RenderJob(EpisodeJob):
    """What every clip render and cover of one run shares."""

    master: StoredObject  # the footage, stored before the renders
    transcript: Transcript
    karaoke: bool = True
    keywords: tuple[str, ...] = ()  # episode vocabulary, emphasised in the 9:16 and 1:1 captions
    framing: tuple[Framing, ...] = ()  # a multicam footage's shots: who each shows (`shoot.assemble.framing`)
