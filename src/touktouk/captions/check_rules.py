"""The caption rules the checker applies, per frame shape, and the events it checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from touktouk.captions.lines import CaptionEvent
from touktouk.captions.styles import CaptionStyle, classic_style, square_style, vertical_style

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
