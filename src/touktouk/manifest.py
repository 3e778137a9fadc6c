"""The episode manifest: the contract between ToukTouk and whatever reads the store.

Pure functions: keys derive only from validated slugs and numbers, never from raw user text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from touktouk import __version__
from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.storage import StoredObject

SCHEMA = "touktouk.manifest/1"
_SAFE_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


def episode_prefix(series: SeriesConfig, episode: EpisodeConfig) -> str:
    return f"{series.series_slug}/s{episode.season:02d}/e{episode.number:02d}-{episode.slug}"


def master_key(prefix: str, footage_suffix: str) -> str:
    ext = footage_suffix.lower()
    return f"{prefix}/master/footage{ext if _SAFE_EXT.fullmatch(ext) else '.bin'}"


def transcript_keys(prefix: str) -> dict[str, str]:
    return {fmt: f"{prefix}/transcript/transcript.{fmt}" for fmt in ("json", "srt", "vtt")}


def clip_video_key(prefix: str, clip_id: str, width: int, height: int) -> str:
    return f"{prefix}/clips/{clip_id}/{width}x{height}.mp4"


def clip_caption_keys(prefix: str, clip_id: str) -> dict[str, str]:
    return {fmt: f"{prefix}/clips/{clip_id}/captions.{fmt}" for fmt in ("srt", "vtt", "ass")}


def clip_metadata_key(prefix: str, clip_id: str) -> str:
    return f"{prefix}/clips/{clip_id}/metadata.json"


def manifest_key(prefix: str) -> str:
    return f"{prefix}/manifest.json"


def build_manifest(
    *,
    series: SeriesConfig,
    episode: EpisodeConfig,
    source: Mapping[str, Any],
    transcript: Mapping[str, Any],
    clips: Sequence[Mapping[str, Any]],
    metadata: Mapping[str, Any],
    objects: Sequence[StoredObject],
    now: datetime | None = None,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "generator": f"touktouk {__version__}",
        "generated_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "episode": {
            "id": episode.episode_id,
            "series": series.series,
            "series_slug": series.series_slug,
            "season": episode.season,
            "number": episode.number,
            "slug": episode.slug,
            "title": episode.title,
            "guest": episode.guest,
            "organisation": episode.organisation,
            "cause": episode.cause,
            "language": series.language,
            "links": dict(episode.links),
        },
        "source": dict(source),
        "transcript": dict(transcript),
        "clips": [dict(c) for c in clips],
        "metadata": dict(metadata),
        "objects": [
            {"key": o.key, "bytes": o.bytes, "sha256": o.sha256, "content_type": o.content_type} for o in objects
        ],
    }


def to_json(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
