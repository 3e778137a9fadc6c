"""Platform presets: one row per platform, every delivery number in one table.

Sources: /work/shared/docs/SPECS.md ("Platform delivery", 2025-2026). Where sources
disagree the stricter value is used; numbers not in SPECS.md are marked "not in SPECS".
Check against the platform's own help page before relying on a limit.

Formats: every clip platform gets 9:16; LinkedIn and X also get a 1:1 file (their feeds show
square video larger than portrait). 16:9 1920x1080 is YouTube's: the episode master.
"""

from __future__ import annotations

import functools
import sys
import types
import unicodedata
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    """One delivery frame: aspect name and pixel size."""

    aspect: str  # "9:16" | "1:1" | "16:9"
    width: int
    height: int


@dataclass(frozen=True)
class EncodePreset:
    """How a platform's file is encoded (H.264 High, yuv420p, AAC 48 kHz stereo, +faststart are
    common to all): frame-rate cap, video bitrate cap, audio bitrate and loudness target."""

    fps_cap: int
    video_maxrate_kbps: int
    video_bufsize_kbps: int
    audio_bitrate_kbps: int
    loudness_lufs: float  # integrated, EBU R128 / ITU BS.1770
    true_peak_db: float  # dBTP
    audio_rate: int = 48000


# Clips: 30 fps is enough for talking heads and halves the encode work of 50/60 fps sources
# (platforms take 23-60 fps). Bitrate cap: SPECS gives YouTube 1080p at 8 Mb/s (24-30 fps); used
# for every 1080-wide clip. Loudness: SPECS "many publishers use -14 LUFS for YouTube/social";
# true peak -1.5 dBTP leaves room for the platforms' own AAC re-encode (not in SPECS: SPECS gives
# -1 dBTP for broadcast; stricter here).
SOCIAL = EncodePreset(
    fps_cap=30,
    video_maxrate_kbps=8000,
    video_bufsize_kbps=16000,
    audio_bitrate_kbps=192,  # not in SPECS
    loudness_lufs=-14.0,
    true_peak_db=-1.5,
)
# X: 720-wide files; 5 Mb/s is ample at 720x1280 30 fps (not in SPECS).
X_PRESET = EncodePreset(
    fps_cap=30,
    video_maxrate_kbps=5000,
    video_bufsize_kbps=10000,
    audio_bitrate_kbps=128,  # not in SPECS
    loudness_lufs=-14.0,
    true_peak_db=-1.5,
)
# YouTube long form (the episode master): SPECS 1080p 12 Mb/s at 48-60 fps (8 Mb/s at 24-30), audio
# 384 kb/s stereo, AAC 48 kHz.
YOUTUBE_MASTER = EncodePreset(
    fps_cap=60,
    video_maxrate_kbps=12000,
    video_bufsize_kbps=24000,
    audio_bitrate_kbps=384,
    loudness_lufs=-14.0,
    true_peak_db=-1.5,
)


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
    text_unit: str  # "chars" | "bytes" (UTF-8) | "weighted" (as X counts: `x_weighted_length`)
    max_hashtags: int
    tags_limit: int | None  # YouTube tags: total characters; None where there are no tags
    safe_bottom: float  # fraction of the frame height covered by platform UI at the bottom
    safe_right: float  # fraction of the frame width covered by platform UI on the right
    encode: EncodePreset = SOCIAL
    extra_formats: tuple[Format, ...] = ()  # delivered besides the main (aspect, width, height)

    @property
    def formats(self) -> tuple[Format, ...]:
        """Every frame delivered to the platform, the main one first."""
        return (Format(self.aspect, self.width, self.height), *self.extra_formats)


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
        encode=YOUTUBE_MASTER,
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
        # SPECS: any aspect from 1:2.4 to 2.4:1; square suits the desktop feed, where 9:16 is shown small.
        extra_formats=(Format("1:1", 1080, 1080),),
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
        text_limit=280,  # SPECS: 280 characters, as X counts them: URLs 23, emoji and CJK 2
        text_unit="weighted",
        max_hashtags=2,  # not in SPECS: 1-2 is the usual guidance; they eat the 280
        tags_limit=None,
        safe_bottom=0.10,  # not in SPECS: player controls
        safe_right=0.0,
        encode=X_PRESET,
        # SPECS: landscape up to 1280x1024, so a square file is at most 1024 high: 720x720 matches
        # the 720-wide portrait file (the timeline shows square video larger than portrait).
        extra_formats=(Format("1:1", 720, 720),),
    ),
)

PLATFORMS: dict[str, Platform] = {p.id: p for p in _ROWS}


def shared_preset(presets: list[EncodePreset] | tuple[EncodePreset, ...]) -> EncodePreset:
    """One preset for a file several platforms share: the strictest of each cap. Loudness targets
    must agree (they do in this table); the quietest is used otherwise."""
    return EncodePreset(
        fps_cap=min(p.fps_cap for p in presets),
        video_maxrate_kbps=min(p.video_maxrate_kbps for p in presets),
        video_bufsize_kbps=min(p.video_bufsize_kbps for p in presets),
        audio_bitrate_kbps=min(p.audio_bitrate_kbps for p in presets),
        loudness_lufs=min(p.loudness_lufs for p in presets),
        true_peak_db=min(p.true_peak_db for p in presets),
    )


# --- X's weighted length -----------------------------------------------------------------------


@functools.cache
def _twitter_text() -> types.SimpleNamespace:
    """twitter-text-parser: X's own counting rules (config v3). Its emoji table is read at import
    with `pkg_resources.resource_string`, which setuptools 81+ no longer ships: where it is
    missing, a stand-in with that one function serves the import and is removed again."""
    try:
        import twitter_text
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise
        shim = types.ModuleType("pkg_resources")

        def resource_string(module: str, name: str) -> bytes:
            return (Path(sys.modules[module].__file__ or ".").parent / name).read_bytes()

        shim.resource_string = resource_string  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
        try:
            import twitter_text
        finally:
            del sys.modules["pkg_resources"]
    from twitter_text.config import config
    from twitter_text.get_character_weight import get_character_weight

    return types.SimpleNamespace(
        parse_tweet=twitter_text.parse_tweet,
        urls=twitter_text.extract_urls_with_indices,
        emojis=twitter_text.extract_emojis_with_indices,
        char_weight=get_character_weight,
        options=config["defaults"],
    )


def x_weighted_length(text: str) -> int:
    """A post's length as X counts it (twitter-text config v3): a URL counts 23 whatever its
    length, an emoji (even of several code points) 2, CJK and most symbols 2 ("…" too), Latin
    letters with their accents and common punctuation 1."""
    return int(_twitter_text().parse_tweet(text).weightedLength)


def x_weighted_prefix(text: str, limit: int) -> str:
    """The longest start of `text` that X counts at most `limit`, never cut inside a URL or an
    emoji."""
    if x_weighted_length(text) <= limit:
        return text
    if not unicodedata.is_normalized("NFC", text):  # X counts the NFC text: no index to walk by
        lo, hi = 0, len(text)  # the longest start that fits, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if x_weighted_length(text[:mid]) <= limit else (lo, mid - 1)
        return text[:lo]
    tt = _twitter_text()
    scale = tt.options["scale"]
    entities: dict[int, tuple[int, int]] = {}  # start -> (end, weight), URLs first as X does
    for e in tt.urls(text):
        entities[e["indices"][0]] = (e["indices"][1], tt.options["transformed_url_length"] * scale)
    for e in tt.emojis(text):
        entities.setdefault(e["indices"][0], (e["indices"][1], tt.options["default_weight"]))
    used, i, budget = 0, 0, limit * scale
    while i < len(text):
        end, weight = entities.get(i) or (i + 1, tt.char_weight(text[i], tt.options))
        if used + weight > budget:
            break
        used, i = used + weight, end
    head = text[:i]
    while head and x_weighted_length(head) > limit:  # a start that X reads differently
        head = head[:-1]
    return head
