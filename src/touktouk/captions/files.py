"""Caption files: SRT and VTT (verbatim sidecars) and the styled ASS for burning in."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path

from touktouk.captions.karaoke import emoji_warnings, to_ssa
from touktouk.captions.lines import CaptionEvent
from touktouk.captions.styles import CaptionStyle

_log = logging.getLogger(__name__)


def _timestamp(t: float, sep: str) -> str:
    ms_total = max(0, round(t * 1000))
    h, rem = divmod(ms_total, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(events: Sequence[CaptionEvent]) -> str:
    """SubRip text; written by hand because pysubs2 would read braces as ASS tags."""
    blocks = [
        f"{i}\n{_timestamp(ev.start, ',')} --> {_timestamp(ev.end, ',')}\n" + "\n".join(ev.lines)
        for i, ev in enumerate(events, 1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def to_vtt(events: Sequence[CaptionEvent]) -> str:
    """WebVTT text (& < > escaped as the format requires)."""

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    blocks = ["WEBVTT"] + [
        f"{_timestamp(ev.start, '.')} --> {_timestamp(ev.end, '.')}\n" + "\n".join(esc(x) for x in ev.lines)
        for ev in events
    ]
    return "\n\n".join(blocks) + "\n"


def write_captions(
    events: Sequence[CaptionEvent],
    style: CaptionStyle,
    out_dir: Path,
    stem: str,
    *,
    karaoke: bool = True,
    keywords: Collection[str] = (),
) -> dict[str, Path]:
    """Write stem.srt, stem.vtt (plain, verbatim) and stem.ass (styled, for burning in); return
    their paths. Emoji left out of the ASS are logged as warnings (see `emoji_warnings`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: out_dir / f"{stem}.{ext}" for ext in ("srt", "vtt", "ass")}
    paths["srt"].write_text(to_srt(events), encoding="utf-8")
    paths["vtt"].write_text(to_vtt(events), encoding="utf-8")
    to_ssa(events, style, karaoke=karaoke, keywords=keywords).save(str(paths["ass"]), format_="ass", encoding="utf-8")
    for warning in emoji_warnings(events, style):
        _log.warning("%s: %s", paths["ass"].name, warning)
    return paths
