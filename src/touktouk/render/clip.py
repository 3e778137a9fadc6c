"""Rendering one clip: every format from one ffmpeg process, loudness in two passes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from touktouk.progress import Progress
from touktouk.render.encode import Branding, EncodeSettings, OutputSpec
from touktouk.render.ffmpeg import run_ffmpeg
from touktouk.render.graph import Fit, clip_command
from touktouk.render.loudness import Loudness, measure_loudness
from touktouk.render.probe import MediaInfo


def render_clip(
    info: MediaInfo,
    start: float,
    end: float,
    outputs: Sequence[OutputSpec],
    *,
    subtitles: Path | None = None,
    fonts_dir: str = "",
    encode: EncodeSettings = EncodeSettings(),
    background: str = "0x1B1B2F",
    measured: Loudness | None = None,
    branding: Branding | None = None,
    fit: Fit = "crop",
    what: str = "",
    on_progress: Progress | None = None,
) -> Loudness | None:
    """Render [start, end) into every output from one ffmpeg process (one decode). Each output may
    carry its own captions (else `subtitles`), reframing and encoding (else `encode`). The sound is
    measured once (or `measured` is used) and normalised to each output's loudness target.
    `fit` crops (clips) or pads (the master) a picture of another aspect; `what` names the render
    in errors; `on_progress(seconds written, seconds in all)` follows the encode. Returns the
    loudness measurement used (None when no output asks for normalisation)."""
    if not outputs:
        return None
    encodes = [o.encode or encode for o in outputs]
    if measured is None and any(e.loudness is not None for e in encodes):
        measured = measure_loudness(info.path, start, end)
    cmd = clip_command(
        info,
        start,
        end,
        outputs,
        subtitles=subtitles,
        fonts_dir=fonts_dir,
        encode=encode,
        background=background,
        measured=measured,
        branding=branding,
        fit=fit,
    )
    what = what or f"rendering the clip {start:.1f}-{end:.1f} s"
    run_ffmpeg(cmd, f"{info.path}: {what}", duration=end - start, on_progress=on_progress)
    return measured
