"""ffmpeg argument escaping for filter graphs (an argument list, no shell)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import ffmpeg

from touktouk.errors import MediaError


def escape_filter_path(path: str | Path) -> str:
    """Escape a path for a filter option value inside a filtergraph (two levels).

    First the option value (\\ ' :), then the filtergraph (\\ ' [ ] , ;), as measured in
    VERIFIED.md; for an argument list passed without a shell.
    """
    s = str(path)
    for ch in ("\\", "'", ":"):
        s = s.replace(ch, "\\" + ch)
    for ch in ("\\", "'", "[", "]", ",", ";"):
        s = s.replace(ch, "\\" + ch)
    return s


def subtitles_filter(ass_path: str | Path, fontsdir: str | Path | None = None) -> str:
    """The `subtitles=` filter for an .ass file, escaped for a -vf / -filter_complex value."""
    f = f"subtitles=filename={escape_filter_path(ass_path)}"
    if fontsdir is not None:
        f += f":fontsdir={escape_filter_path(fontsdir)}"
    return f


def ffmpeg_message(exc: ffmpeg.Error) -> str:
    err = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return err[-1] if err else "ffmpeg failed"


def input_path(path: Path | str) -> str:
    """The path as ffmpeg must see it: absolute, so a name such as 'interview:1.mp4' is never
    taken for a protocol ('interview:')."""
    return str(Path(path).absolute())


def run_ffmpeg(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise MediaError(f"{what} failed ({lines[-1] if lines else 'ffmpeg failed'}).")
    return done
