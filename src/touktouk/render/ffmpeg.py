"""ffmpeg argument escaping for filter graphs (an argument list, no shell)."""

from __future__ import annotations

from pathlib import Path


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
