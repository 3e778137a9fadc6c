"""Storage keys of an episode's objects (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from touktouk.config import EpisodeConfig, SeriesConfig

# A key's episode folder: <series_slug>/sNN/eNN-<slug>, anywhere below the store root.
_EPISODE_PREFIX = re.compile(r"^((?:[^/]+/)*?[a-z0-9-]+/s\d{2,}/e\d{2,}-[a-z0-9-]+)/")
_SAFE_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


def episode_prefix(series: SeriesConfig, episode: EpisodeConfig) -> str:
    return f"{series.series_slug}/s{episode.season:02d}/e{episode.number:02d}-{episode.slug}"


def master_key(prefix: str, footage_suffix: str) -> str:
    ext = footage_suffix.lower()
    return f"{prefix}/master/footage{ext if _SAFE_EXT.fullmatch(ext) else '.bin'}"


def transcript_keys(prefix: str, translations: Sequence[str] = ()) -> dict[str, str]:
    """Transcript files; a translation adds "<lang>.srt" and "<lang>.vtt" (e.g. "en.srt")."""
    keys = {fmt: f"{prefix}/transcript/transcript.{fmt}" for fmt in ("json", "srt", "vtt")}
    for lang in translations:
        if not re.fullmatch(r"[a-z]{2}", lang):
            raise ValueError(f"translation language must be a two-letter code, not {lang!r}")
        keys |= {f"{lang}.{fmt}": f"{prefix}/transcript/transcript.{lang}.{fmt}" for fmt in ("srt", "vtt")}
    return keys


def clip_video_key(prefix: str, clip_id: str, width: int, height: int) -> str:
    return f"{prefix}/clips/{clip_id}/{width}x{height}.mp4"


def clip_caption_keys(prefix: str, clip_id: str) -> dict[str, str]:
    return {fmt: f"{prefix}/clips/{clip_id}/captions.{fmt}" for fmt in ("srt", "vtt", "ass")}


def clip_cover_key(prefix: str, clip_id: str) -> str:
    return f"{prefix}/clips/{clip_id}/cover.jpg"


def youtube_master_key(prefix: str) -> str:
    """The YouTube-ready master of the whole episode (16:9, loudness-normalised)."""
    return f"{prefix}/master/youtube-1920x1080.mp4"


def clip_metadata_key(prefix: str, clip_id: str) -> str:
    return f"{prefix}/clips/{clip_id}/metadata.json"


def manifest_key(prefix: str) -> str:
    return f"{prefix}/manifest.json"


def links_key(prefix: str) -> str:
    return f"{prefix}/links.json"
