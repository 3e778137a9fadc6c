"""Caption files read back for the checker: SRT, VTT and ASS (karaoke events merged)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pysubs2

from touktouk.captions.check_rules import RULES, CheckEvent, Rules, Violation
from touktouk.captions.checker import check_events
from touktouk.french import NBSP

_ASS_OVERRIDE = re.compile(r"(?<!\\)\{[^}]*\}")
_ASS_ESCAPE = re.compile(r"\\([Nnh{}])")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>")


def _ass_lines(text: str, *, soft_breaks: bool) -> tuple[str, ...]:
    """Displayed lines of an ASS event: override blocks removed, \\N (and \\n in wrap style 2)
    break lines, \\h is a non-breaking space, \\{ \\} are braces, a backslash + word joiner
    (escape_ass_text) is a backslash."""
    text = _ASS_OVERRIDE.sub("", text)
    subst = {"N": "\n", "n": "\n" if soft_breaks else " ", "h": NBSP, "{": "{", "}": "}"}
    text = _ASS_ESCAPE.sub(lambda m: subst[m.group(1)], text)
    text = text.replace("\\\u2060", "\\")
    return tuple(line.strip(" \t") for line in text.split("\n"))


def _merge_karaoke(events: list[CheckEvent], tolerance: float) -> list[CheckEvent]:
    """Consecutive back-to-back events with the same text (one per highlighted word) are one
    caption on screen."""
    merged: list[CheckEvent] = []
    for ev in events:
        last = merged[-1] if merged else None
        if last and ev.lines == last.lines and last.start <= ev.start <= last.end + tolerance:
            merged[-1] = replace(last, end=max(last.end, ev.end))
        else:
            merged.append(ev)
    return merged


def load_events(path: Path) -> tuple[list[CheckEvent], str]:
    """The displayed captions of an SRT, VTT or ASS file, and the style its frame suggests
    (ASS PlayResY > PlayResX, e.g. 1080x1920, is vertical; equal is square; else classic)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        return [], "classic"
    try:
        subs = pysubs2.SSAFile.from_string(text, keep_html_tags=True)
    except pysubs2.Pysubs2Error as exc:
        raise ValueError(f"{path}: not an SRT, VTT or ASS file ({exc})") from exc
    fmt = subs.format or ""
    events: list[CheckEvent] = []
    if fmt in ("ass", "ssa"):
        soft_breaks = subs.info.get("WrapStyle", "0").strip() == "2"
        for e in subs.events:
            if not e.is_comment:
                events.append(CheckEvent(e.start / 1000, e.end / 1000, _ass_lines(e.text, soft_breaks=soft_breaks)))
        events = _merge_karaoke(events, RULES["classic"].tolerance)
        try:
            res_x, res_y = int(subs.info.get("PlayResX", 0)), int(subs.info.get("PlayResY", 0))
        except ValueError:
            res_x = res_y = 0
        shape = "vertical" if res_y > res_x else "square" if res_x and res_x == res_y else "classic"
        return events, shape
    for e in subs.events:
        body = _HTML_TAG.sub("", e.text)
        if fmt == "vtt":
            body = html.unescape(body)
        lines = tuple(line.strip(" \t") for line in body.split("\\N"))
        events.append(CheckEvent(e.start / 1000, e.end / 1000, lines))
    return events, "classic"


def check_file(
    path: Path,
    *,
    fps: float = 25,
    style: str | None = None,
    max_cps: float | None = None,
    fast_speech: str | None = None,
    cuts: Sequence[float] = (),
    rules: Rules | None = None,
) -> list[Violation]:
    """Every rule violation in one SRT, VTT or ASS file (style auto-detected unless given).

    `rules` (e.g. Rules.for_caption_style) replaces the style table and the other options.
    """
    events, detected = load_events(path)
    if rules is None:
        rules = Rules.for_style(style or detected, fps=fps, max_cps=max_cps, fast_speech=fast_speech, cuts=cuts)
    return check_events(events, rules)


def read_cuts(path: Path) -> list[float]:
    """Shot changes from a text file: one time a line, in seconds or as a timecode
    (00:01:02.5); blank lines and lines starting with # are ignored."""
    from touktouk.types import parse_timecode

    cuts = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            cuts.append(parse_timecode(text))
        except ValueError:
            raise ValueError(f"{path} line {n}: '{text}' is not a time (seconds or HH:MM:SS.mmm)") from None
    return sorted(cuts)
