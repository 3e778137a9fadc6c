"""Encode settings per platform preset, output specs and branding (logo, bumpers)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from touktouk.config import BrandSettings
from touktouk.errors import ConfigError
from touktouk.platforms import EncodePreset
from touktouk.render.probe import VIDEO_FPS_CAP


@dataclass(frozen=True)
class EncodeSettings:
    """How one output is encoded: x264 High yuv420p, AAC 48 kHz stereo, +faststart, plus the
    platform caps (frame rate, video bitrate) and the loudness target of its sound."""

    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: str = "192k"
    max_fps: int = VIDEO_FPS_CAP
    maxrate: str = "8M"
    bufsize: str = "16M"
    loudness: float | None = -14.0  # integrated LUFS; None leaves the sound level as recorded
    true_peak: float = -1.5  # dBTP
    loudness_range: float = 11.0  # LU, loudnorm's LRA target
    aac_coder: str = "twoloop"  # ffmpeg's AAC search: twoloop (its default), or fast


# ffmpeg's default AAC search (twoloop) slows sharply at high bit rates: on 2 cores, a minute of
# stereo took 2.2 s at 192 kb/s but 9.5 s at 384 kb/s (the YouTube master's rate: 95 s for a
# 10-minute episode); the fast search took 4.7 s there. At 320 kb/s and above either is far past
# transparency, so the fast search is used.
FAST_AAC_FROM_KBPS = 320


def encode_settings(preset: EncodePreset, *, x264_preset: str = "veryfast", crf: int = 20) -> EncodeSettings:
    """EncodeSettings from a platform's preset data (platforms.py) and the series' x264 choices."""
    return EncodeSettings(
        preset=x264_preset,
        crf=crf,
        aac_coder="fast" if preset.audio_bitrate_kbps >= FAST_AAC_FROM_KBPS else "twoloop",
        audio_bitrate=f"{preset.audio_bitrate_kbps}k",
        max_fps=preset.fps_cap,
        maxrate=f"{preset.video_maxrate_kbps}k",
        bufsize=f"{preset.video_bufsize_kbps}k",
        loudness=preset.loudness_lufs,
        true_peak=preset.true_peak_db,
    )


@dataclass(frozen=True)
class OutputSpec:
    """One encoded file from a render: where, at which size, with its own captions, reframing
    (`crop_x`: an ffmpeg expression of `t`, the crop window's left edge in source pixels; None
    centres it) and encoding (None: the render's default)."""

    path: Path
    width: int
    height: int
    subtitles: Path | None = None
    crop_x: str | None = None
    encode: EncodeSettings | None = None


Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


@dataclass(frozen=True)
class Branding:
    """Logo overlay and intro/outro bumpers, checked to exist (see `branding_from`)."""

    logo: Path | None = None
    logo_position: Corner = "top-left"
    logo_width: float = 0.12  # fraction of the output width
    logo_margin: float = 0.03  # fraction of the output width, from both edges of the corner
    intro: Path | None = None
    outro: Path | None = None


STEREO = "aformat=channel_layouts=stereo"  # downmix (5.1 included) before measuring or applying loudness
AAC_IN = "aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"


def aac_args(e: EncodeSettings) -> list[str]:
    """The sound's output arguments of every render: AAC at the preset's rate, 48 kHz stereo."""
    return ["-c:a", "aac", "-aac_coder", e.aac_coder, "-b:a", e.audio_bitrate, "-ar", "48000", "-ac", "2"]


def branding_from(brand: BrandSettings, base: Path | None = None) -> Branding:
    """Branding from the config's brand settings; relative paths are taken from `base` (the config
    file's folder). A missing file is the user's to fix: ConfigError naming it."""

    def path(value: str, what: str) -> Path | None:
        if not value:
            return None
        p = Path(value).expanduser()
        if base is not None and not p.is_absolute():
            p = base / p
        if not p.is_file():
            raise ConfigError(f"{p}: the brand {what} file is not there; fix brand.{what} in the series config.")
        return p

    return Branding(
        logo=path(brand.logo, "logo"),
        logo_position=brand.logo_position,
        logo_width=brand.logo_width,
        logo_margin=brand.logo_margin,
        intro=path(brand.intro, "intro"),
        outro=path(brand.outro, "outro"),
    )
