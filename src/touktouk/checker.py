"""Caption rule checker: every subtitle rule of SPECS.md, checked on events or on SRT/VTT/ASS files.

Pure except `load_events` / `check_file`, which read one file with pysubs2. The rule values live
in one table (`RULES`), one entry per caption style; the French word lists are the layout
engine's own (touktouk.captions), so the engine and the checker cannot drift apart.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pysubs2

from touktouk.captions import (
    _BREAK_BEFORE,
    _LINE_END_PUNCT,
    _NARROW_NBSP,
    _WEAK,
    FILLERS,
    NBSP,
    CaptionEvent,
    CaptionStyle,
    _key,
    classic_style,
    condense_words,
    square_style,
    vertical_style,
)
from touktouk.timeline import Word

# Rule identifiers, as printed by `touktouk captions check`.
LINE_LENGTH = "line-length"
LINE_COUNT = "line-count"
MIN_DURATION = "min-duration"
MAX_DURATION = "max-duration"
READING_SPEED = "reading-speed"
GAP = "gap"
OVERLAP = "overlap"
ORDER = "order"
TYPOGRAPHY = "typography"
LINE_END = "line-end"
EMPTY = "empty"
SHOT_CHANGE = "shot-change"

# What an event faster than max_cps means (config captions.fast_speech):
# "strict": always a violation; "verbatim": allowed only when the speech leaves no more time
# (the event already stays until the next one, or for the maximum duration, or it is the last)
# and nothing is left to condense (no « euh », « ben », « je je »). Both are reported otherwise.
FAST_SPEECH = ("strict", "verbatim")


@dataclass(frozen=True)
class Rules:
    """Limits for one caption style (SPECS.md, Netflix general + French guide)."""

    style: str
    max_chars_per_line: int
    max_lines: int = 2
    min_duration: float = 5 / 6  # 20 frames at 24 fps
    max_duration: float = 7.0
    max_cps: float = 17.0  # characters (spaces included) per second
    min_gap_frames: int = 2
    fps: float = 25.0
    # Timestamps are stored in ms (SRT, VTT) or centiseconds (ASS): allow that rounding.
    tolerance: float = 0.01
    # Measured line length (vertical): the rendered width of a line, outline included, must fit
    # `max_width` (the style's safe area); then `max_chars_per_line` is the layout's preferred
    # length, not a rule. The same measurement as the layout engine's (CaptionStyle.line_width).
    max_width: float | None = None
    line_width: Callable[[str], float] | None = field(default=None, compare=False, repr=False)
    fast_speech: str = "strict"
    cuts: tuple[float, ...] = ()  # shot changes (seconds, the file's time base): no event across one

    @property
    def min_gap(self) -> float:
        return self.min_gap_frames / self.fps

    @classmethod
    def for_style(
        cls,
        style: str,
        *,
        fps: float = 25.0,
        max_cps: float | None = None,
        fast_speech: str | None = None,
        cuts: Sequence[float] = (),
    ) -> Rules:
        try:
            base = RULES[style]
        except KeyError:
            raise ValueError(f"unknown caption style '{style}' (choose {', '.join(RULES)})") from None
        return _with(base, fps=fps, max_cps=max_cps, fast_speech=fast_speech, cuts=cuts)

    @classmethod
    def for_caption_style(
        cls,
        name: str,
        style: CaptionStyle,
        *,
        fps: float = 25.0,
        fast_speech: str | None = None,
        cuts: Sequence[float] = (),
    ) -> Rules:
        """The rules a style's captions are laid out for: its line limits, its font's measured
        width (9:16, 1:1), its max_cps."""
        base = _style_limits(name, style, measured=style.measured)
        return _with(base, fps=fps, max_cps=style.max_cps, fast_speech=fast_speech, cuts=cuts)


def _with(base: Rules, *, fps: float, max_cps: float | None, fast_speech: str | None, cuts: Sequence[float]) -> Rules:
    if fps <= 0:
        raise ValueError(f"fps must be positive, not {fps}")
    if max_cps is not None and max_cps <= 0:
        raise ValueError(f"max_cps must be positive, not {max_cps}")
    if fast_speech is not None and fast_speech not in FAST_SPEECH:
        raise ValueError(f"fast_speech must be {' or '.join(FAST_SPEECH)}, not '{fast_speech}'")
    return replace(
        base,
        fps=fps,
        max_cps=base.max_cps if max_cps is None else max_cps,
        fast_speech=fast_speech or base.fast_speech,
        cuts=tuple(sorted(cuts)),
    )


def _style_limits(name: str, style: CaptionStyle, *, measured: bool) -> Rules:
    if not measured:
        return Rules(
            style=name, max_chars_per_line=style.max_chars_per_line, max_lines=style.max_lines, max_cps=style.max_cps
        )
    return Rules(
        style=name,
        max_chars_per_line=style.max_chars_per_line,
        max_lines=style.max_lines,
        max_cps=style.max_cps,
        max_width=style.safe_width,
        line_width=style.line_width,
    )


_VERTICAL = vertical_style(font_name="", primary="#FFFFFF", highlight="#FFFFFF")
_CLASSIC = classic_style(font_name="", primary="#FFFFFF", highlight="#FFFFFF")
_SQUARE = square_style(font_name="", primary="#FFFFFF", highlight="#FFFFFF")
# The one table of rule values. Line limits come from the caption styles themselves
# (classic: 42 characters; vertical: the rendered width measured at the style's font size
# against the safe-area width).
RULES: Mapping[str, Rules] = {
    "classic": _style_limits("classic", _CLASSIC, measured=False),
    "vertical": _style_limits("vertical", _VERTICAL, measured=True),
    "square": _style_limits("square", _SQUARE, measured=True),
}


@dataclass(frozen=True)
class CheckEvent:
    """One displayed caption: times in seconds and the lines as shown."""

    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @classmethod
    def from_caption(cls, ev: CaptionEvent) -> CheckEvent:
        return cls(ev.start, ev.end, ev.lines)


@dataclass(frozen=True)
class Violation:
    time: float
    rule: str
    message: str


def format_time(t: float) -> str:
    """HH:MM:SS.mmm"""
    ms_total = max(0, round(t * 1000))
    h, rem = divmod(ms_total, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


# --- rules on one line ------------------------------------------------------------------

_HIGH_PUNCT = "?!:;"
_NB_SPACES = (NBSP, _NARROW_NBSP)


def typography_problems(line: str) -> list[str]:
    """French typography: a non-breaking space (U+00A0 or U+202F) before ? ! : ; and inside « »."""
    problems: list[str] = []
    for i, ch in enumerate(line):
        prev, nxt = line[i - 1 : i], line[i + 1 : i + 2]
        if ch in _HIGH_PUNCT:
            if not line[:i].strip():
                problems.append(f"'{ch}' starts a line, away from its word")
            elif prev in _NB_SPACES or prev in _HIGH_PUNCT:  # "?!" is one sign
                continue
            elif prev.isspace():
                problems.append(f"plain space before '{ch}' (needs a non-breaking space)")
            elif not (ch == ":" and ((prev.isdigit() and nxt.isdigit()) or line[i + 1 : i + 3] == "//")):
                problems.append(f"no non-breaking space before '{ch}'")
        elif ch == "«" and nxt not in _NB_SPACES:
            problems.append("'«' ends a line" if not nxt else "no non-breaking space after '«'")
        elif ch == "»" and (prev not in _NB_SPACES or not line[:i].strip()):
            problems.append("no non-breaking space before '»'" if line[:i].strip() else "'»' starts a line")
    return problems


def line_end_problem(line: str) -> str | None:
    """A line may not end with an article, determiner, subject pronoun or clitic, nor with a
    conjunction or preposition that should start the next line (captions.py's lists)."""
    stripped = line.rstrip()
    if not stripped or stripped.endswith(_LINE_END_PUNCT):
        return None
    last = stripped.split()[-1]
    key = _key(last)
    if key in _WEAK:
        return f"line ends with '{last}' (article, determiner or pronoun): keep it with the next word"
    if key in _BREAK_BEFORE:
        return f"line ends with '{last}': break before it, not after"
    return None


# --- rules on events --------------------------------------------------------------------


def _check_one(ev: CheckEvent, rules: Rules) -> list[Violation]:
    t = ev.start
    found: list[Violation] = []
    if len(ev.lines) > rules.max_lines:
        found.append(Violation(t, LINE_COUNT, f"{len(ev.lines)} lines (max {rules.max_lines})"))
    for n, line in enumerate(ev.lines, 1):
        if rules.max_width is not None and rules.line_width is not None:
            width = rules.line_width(line)
            if width > rules.max_width:
                msg = f"line {n} is {width:.0f} px wide (safe area {rules.max_width:g} px): {line!r}"
                found.append(Violation(t, LINE_LENGTH, msg))
        elif len(line) > rules.max_chars_per_line:
            msg = f"line {n} has {len(line)} characters (max {rules.max_chars_per_line}): {line!r}"
            found.append(Violation(t, LINE_LENGTH, msg))
        found += [Violation(t, TYPOGRAPHY, f"line {n}: {p}: {line!r}") for p in typography_problems(line)]
        problem = line_end_problem(line)
        if problem:
            found.append(Violation(t, LINE_END, f"line {n}: {problem}"))
    duration = ev.end - ev.start
    if duration < rules.min_duration - rules.tolerance:
        found.append(Violation(t, MIN_DURATION, f"shown {duration:.3f} s (min {rules.min_duration:.3f} s)"))
    if duration > rules.max_duration + rules.tolerance:
        found.append(Violation(t, MAX_DURATION, f"shown {duration:.3f} s (max {rules.max_duration:g} s)"))
    return found


def _too_fast(ev: CheckEvent, nxt: CheckEvent | None, rules: Rules) -> Violation | None:
    duration = ev.end - ev.start
    chars = len(ev.text)
    if duration <= 0 or chars <= rules.max_cps * (duration + rules.tolerance):
        return None
    msg = f"{chars / duration:.1f} characters per second ({chars} in {duration:.3f} s; max {rules.max_cps:g})"
    if rules.fast_speech == "verbatim":
        squeezed = nxt is None or nxt.start - ev.end <= rules.min_gap + rules.tolerance
        if not squeezed and duration < rules.max_duration - rules.tolerance:
            msg += f"; it could stay {(nxt.start if nxt else ev.end) - rules.min_gap - ev.end:.3f} s longer"
        elif condensable(ev.text):
            msg += f"; condense it: {', '.join(condensable(ev.text))}"
        else:
            return None  # verbatim speech faster than max_cps, shown for all the time it has
    return Violation(ev.start, READING_SPEED, msg)


def condensable(text: str) -> list[str]:
    """Words a condensed caption would leave out (captions.condense_words): fillers, stutters."""
    words = [Word(0.0, 0.0, w) for w in text.replace(NBSP, " ").split()]
    return [w.text for w in condense_words(words, FILLERS)[1]]


def _crossed_cuts(ev: CheckEvent, rules: Rules) -> list[Violation]:
    return [
        Violation(ev.start, SHOT_CHANGE, f"shown across the shot change at {format_time(c)}")
        for c in rules.cuts
        if ev.start + rules.tolerance < c < ev.end - rules.tolerance
    ]


def check_events(events: Sequence[CheckEvent], rules: Rules) -> list[Violation]:
    """Every rule violation in displayed captions (in display order), sorted by time."""
    found: list[Violation] = []
    shown: list[CheckEvent] = []
    for ev in events:
        if not "".join(ev.lines).strip():
            found.append(Violation(ev.start, EMPTY, "event shows no text"))
            continue
        found += _check_one(ev, rules)
        found += _crossed_cuts(ev, rules)
        shown.append(ev)
    for i, ev in enumerate(shown):
        too_fast = _too_fast(ev, shown[i + 1] if i + 1 < len(shown) else None, rules)
        if too_fast:
            found.append(too_fast)
    tol = rules.tolerance
    for a, b in itertools.pairwise(shown):
        if b.start < a.start - tol:
            found.append(Violation(b.start, ORDER, f"starts before the previous event ({format_time(a.start)})"))
        elif b.start < a.end - tol:
            found.append(Violation(b.start, OVERLAP, f"overlaps the previous event by {a.end - b.start:.3f} s"))
        elif b.start - a.end < rules.min_gap - tol:
            gap = b.start - a.end
            msg = (
                f"gap of {gap:.3f} s ({gap * rules.fps:.1f} frames) after the previous event "
                f"(min {rules.min_gap_frames} frames at {rules.fps:g} fps)"
            )
            found.append(Violation(b.start, GAP, msg))
    return sorted(found, key=lambda v: v.time)


# --- files ------------------------------------------------------------------------------

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
    from touktouk.timeline import parse_timecode

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
