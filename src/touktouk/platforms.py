"""Platform presets: one row per platform, every delivery number in one table.

Sources: /work/shared/docs/SPECS.md ("Platform delivery", 2025-2026). Where sources
disagree the stricter value is used; numbers not in SPECS.md are marked "not in SPECS".
Check against the platform's own help page before relying on a limit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Platform:
    id: str
    label: str
    aspect: str  # "9:16" | "16:9"
    width: int
    height: int
    max_fps: int
    min_duration: float  # seconds
    max_duration: float  # seconds
    title_limit: int | None  # None: the platform has no separate title field
    text_limit: int  # description / caption / post
    text_unit: str  # "chars" | "bytes" (UTF-8)
    max_hashtags: int
    tags_limit: int | None  # YouTube tags: total characters; None where there are no tags
    safe_bottom: float  # fraction of the frame height covered by platform UI at the bottom
    safe_right: float  # fraction of the frame width covered by platform UI on the right


_ROWS: tuple[Platform, ...] = (
    Platform(
        id="youtube",
        label="YouTube",
        aspect="16:9",
        width=1920,
        height=1080,
        max_fps=60,  # SPECS: 1080p bitrates given for 24-30 and 48-60 fps
        min_duration=1.0,  # not in SPECS: no documented minimum
        max_duration=12 * 3600.0,  # SPECS: 12 h
        title_limit=100,  # SPECS: title 100 characters
        text_limit=5000,  # SPECS: description 5,000 bytes
        text_unit="bytes",
        max_hashtags=15,  # not in SPECS: YouTube ignores every hashtag past 15
        tags_limit=500,  # SPECS: tags 500 characters in total
        safe_bottom=0.10,  # not in SPECS: player controls and progress bar on hover
        safe_right=0.0,
    ),
    Platform(
        id="youtube_shorts",
        label="YouTube Shorts",
        aspect="9:16",
        width=1080,
        height=1920,  # SPECS: 9:16, 1080x1920
        max_fps=60,
        min_duration=1.0,  # not in SPECS: no documented minimum
        # SPECS: 3 min, but a Short over 1 min with a Content ID claim is blocked: stricter
        max_duration=60.0,
        title_limit=100,  # SPECS: "as YouTube"
        text_limit=5000,  # SPECS: "as YouTube", bytes
        text_unit="bytes",
        max_hashtags=15,  # as YouTube
        tags_limit=500,  # as YouTube
        safe_bottom=0.20,  # SPECS: UI covers the bottom fifth
        safe_right=0.15,  # SPECS: UI covers the right edge (action buttons); width estimated
    ),
    Platform(
        id="tiktok",
        label="TikTok",
        aspect="9:16",
        width=1080,
        height=1920,
        max_fps=60,  # SPECS: 23-60 fps
        min_duration=3.0,  # SPECS: 3 s - 10 min
        max_duration=600.0,  # SPECS: 10 min (per-account cap; some accounts get less)
        title_limit=None,
        text_limit=2200,  # SPECS: caption 2,200 characters
        text_unit="chars",
        max_hashtags=5,  # not in SPECS: no hard cap; 3-5 is the usual guidance
        tags_limit=None,
        safe_bottom=0.20,  # SPECS: bottom fifth
        safe_right=0.15,  # SPECS: right edge; width estimated
    ),
    Platform(
        id="instagram_reels",
        label="Instagram Reels",
        aspect="9:16",
        width=1080,
        height=1920,  # SPECS: 9:16, 1080x1920
        max_fps=60,  # SPECS: 23-60 fps
        min_duration=3.0,  # SPECS: 3 s - 15 min
        max_duration=900.0,
        title_limit=None,
        text_limit=2200,  # SPECS: caption 2,200 characters
        text_unit="chars",
        max_hashtags=5,  # SPECS: 30 max, recent guidance 5 or fewer: stricter
        tags_limit=None,
        safe_bottom=0.20,  # SPECS: bottom fifth
        safe_right=0.15,  # SPECS: right edge; width estimated
    ),
    Platform(
        id="linkedin",
        label="LinkedIn",
        aspect="9:16",  # SPECS: any aspect from 1:2.4 to 2.4:1; clips are delivered 9:16
        width=1080,
        height=1920,
        max_fps=60,  # not in SPECS
        min_duration=3.0,  # SPECS: 3 s - 30 min
        max_duration=1800.0,
        title_limit=None,
        text_limit=3000,  # SPECS: post 3,000 characters
        text_unit="chars",
        max_hashtags=5,  # not in SPECS: 3-5 is the usual guidance
        tags_limit=None,
        safe_bottom=0.10,  # not in SPECS: feed player controls
        safe_right=0.0,
    ),
    Platform(
        id="x",
        label="X",
        aspect="9:16",
        width=720,
        height=1280,  # SPECS: 720x1280 portrait is safe
        max_fps=60,  # SPECS: up to 60 fps
        min_duration=0.5,  # not in SPECS: X media upload minimum
        max_duration=140.0,  # SPECS: 140 s (longer for paid accounts)
        title_limit=None,
        text_limit=280,  # SPECS: 280 characters (X weights URLs and CJK differently)
        text_unit="chars",
        max_hashtags=2,  # not in SPECS: 1-2 is the usual guidance; they eat the 280
        tags_limit=None,
        safe_bottom=0.10,  # not in SPECS: player controls
        safe_right=0.0,
    ),
)

PLATFORMS: dict[str, Platform] = {p.id: p for p in _ROWS}
