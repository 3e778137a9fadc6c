"""What every render task of one run shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from touktouk.config import SeriesConfig
from touktouk.render.probe import MediaInfo
from touktouk.store.base import StoredObject
from touktouk.types import Transcript


@dataclass(frozen=True)
class RenderJob:
    """What every render task of one run shares; it holds no local path the task relies on."""

    store_url: str
    endpoint_url: str | None
    prefix: str  # the episode's key prefix
    episode_id: str
    master: StoredObject  # the footage, stored before the renders
    footage_hint: str  # the footage on the flow's machine: used only where it exists with the master's size
    info: MediaInfo
    transcript: Transcript
    series: SeriesConfig
    karaoke: bool = True
    keywords: tuple[str, ...] = ()  # episode vocabulary, emphasised in the 9:16 and 1:1 captions
    config_dir: Path | None = None  # where relative brand files (logo, bumpers) are found
