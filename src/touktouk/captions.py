"""Caption layout and subtitle files: words in, timed and line-broken caption events out.

Rules follow /work/shared/docs/SPECS.md (Netflix general + French style guide): at most
`max_lines` lines, breaks after punctuation or before conjunctions and prepositions, never
after an article, a determiner or a subject pronoun, reading speed, minimum gap, French
non-breaking spaces, shot changes. Reading speed: out-times run into the following silence,
neighbouring events share time or merge, and disfluencies are left out as a last resort.
Styles (classic 16:9, vertical 9:16, square 1:1) are data; 9:16 and 1:1 lines are measured
with the configured font. Everything is pure except `write_captions` and the font lookup
(`find_font` reads font files).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pysubs2
from PIL import ImageFont

from touktouk.errors import ConfigError
from touktouk.timeline import Word

NBSP = "\u00a0"
_log = logging.getLogger(__name__)
_NARROW_NBSP = "\u202f"
# Shortest on-screen time kept for an event squeezed by the next one (one frame at 25 fps).
_MIN_VISIBLE = 0.04

# Words that must not end a line (or an event): articles, determiners, subject pronouns,
# clitics that bind to the following verb, elided forms.
_WEAK = frozenset(
    {
        "le", "la", "les", "l'", "un", "une", "des", "du", "de", "d'", "au", "aux",
        "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "notre", "nos", "votre", "vos", "leur", "leurs",
        "ce", "cet", "cette", "ces", "quel", "quelle", "quels", "quelles", "chaque", "plusieurs", "certains",
        "certaines", "je", "j'", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles", "c'", "qu'", "ça",
        "ne", "n'", "se", "s'", "me", "m'", "te", "t'", "y",
    }
)  # fmt: skip
# Break before these (conjunctions and prepositions); ending a line with them is poor.
_BREAK_BEFORE = frozenset(
    {
        "et", "ou", "mais", "donc", "car", "que", "qui", "de", "à", "pour", "dans", "sur", "avec", "par", "en",
        "sans", "vers", "chez", "parce", "puis",
    }
)  # fmt: skip
# Clitics and verbs that belong to the previous word's group: avoid breaking before them.
_CLITIC = frozenset({"se", "s'", "ne", "n'", "me", "m'", "te", "t'", "y", "lui", "leur"})
_AUXILIARY = frozenset(
    {
        "a", "ai", "as", "avons", "avez", "ont", "est", "es", "sont", "suis", "sommes", "êtes", "été", "être",
        "avoir", "va", "vais",
    }
)  # fmt: skip
_LINE_END_PUNCT = tuple(",;:.!?…»)")
_OPENING_ONLY = re.compile(r"^[«“\"(\[]+$")
_CLOSING_ONLY = re.compile(r"^[,.;:!?…»”\")\]%]+$")
_APOSTROPHES = str.maketrans({"’": "'"})

_FORBIDDEN = 1000.0
_OVERFLOW = 10000.0
# A line longer than the character limit that still fits the measured safe width: allowed only
# when no layout within the character limit avoids a forbidden break.
_WIDE_LINE = 100.0

# The default font (config brand.font "DejaVu Sans"), packaged by Debian's fonts-dejavu-core.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEFAULT_FONT = "DejaVu Sans"
_SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
_MEASURE_SIZE = 1000  # measure at a large size, then scale: no rounding of metrics


@functools.lru_cache(maxsize=32)
def _faces(folder: str) -> tuple[tuple[str, str, str], ...]:
    """(family, style, path) of every font file under `folder`, sorted by path."""
    out: list[tuple[str, str, str]] = []
    root = Path(folder)
    if not root.is_dir():
        return ()
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in _FONT_SUFFIXES):
        try:
            family, style = ImageFont.truetype(str(path), 12).getname()
        except OSError:
            continue
        out.append(((family or "").casefold(), (style or "").casefold(), str(path)))
    return tuple(out)


@functools.lru_cache(maxsize=32)
def find_font(font_name: str, fonts_dir: str = "", *, bold: bool) -> Path:
    """The font file libass will use for `font_name` (config brand.font) in `fonts_dir`
    (brand.fonts_dir; empty = the system font folders): upright, bold or regular.

    Raises ConfigError when no face of that family is there.
    """
    family = (font_name or DEFAULT_FONT).casefold()
    folders = [Path(fonts_dir)] if fonts_dir else list(_SYSTEM_FONT_DIRS)
    faces = [f for folder in folders for f in _faces(str(folder)) if f[0] == family]
    upright = [f for f in faces if not any(k in f[1] for k in ("italic", "oblique", "condensed"))]

    def score(face: tuple[str, str, str]) -> int:
        is_bold = "bold" in face[1]
        exact = face[1] in (("bold",) if bold else ("regular", "book", "normal", "roman"))
        return (0 if is_bold == bold else 2) + (0 if exact else 1)

    if not upright:
        where = f"fonts_dir '{fonts_dir}'" if fonts_dir else "the system font folders"
        raise ConfigError(
            f"brand.font '{font_name}' (config/touktouk.toml) is not in {where}; "
            "install the font there or set brand.fonts_dir to the folder that holds its .ttf/.otf files."
        )
    return Path(min(upright, key=score)[2])


@functools.lru_cache(maxsize=16)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, _MEASURE_SIZE)


@functools.lru_cache(maxsize=65536)
def text_width(text: str, font_size: float, *, bold: bool, font_file: str = "") -> float:
    """Width in pixels of one line as libass draws it at ASS `font_size` (outline excluded).

    `font_file` is the face to measure (see `find_font`; default: DejaVu Sans). libass (like
    VSFilter) scales a font so that ascender + descender equals the ASS font size, so the em is
    smaller than the size: DejaVu's ascender + descender is 1.164 em.
    """
    font = _font(font_file or str(find_font(DEFAULT_FONT, str(FONT_DIR), bold=bold)))
    ascent, descent = font.getmetrics()
    return font.getlength(text) * font_size / (ascent + descent)


@dataclass(frozen=True)
class CaptionEvent:
    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True)
class CaptionStyle:
    name: str
    play_res_x: int
    play_res_y: int
    font_name: str
    font_size: int
    bold: bool
    primary_colour: str  # "#RRGGBB"
    highlight_colour: str
    outline_colour: str
    outline: float
    shadow: float
    margin_v: int
    margin_h: int
    alignment: int  # ASS numpad: 2 = bottom centre
    max_chars_per_line: int
    max_lines: int
    fonts_dir: str = ""  # where font_name's files are (config brand.fonts_dir); empty = system fonts
    max_cps: float = 17.0  # reading speed the layout aims for and the checker applies
    emphasis_colour: str = ""  # episode keywords in this colour ("" = no keyword emphasis)
    condense: bool = True  # leave out « euh », « ben »… from captions still too fast to read

    @property
    def measured(self) -> bool:
        """Line length is the rendered width, not a character count (9:16 and 1:1 frames)."""
        return self.play_res_y >= self.play_res_x

    @property
    def safe_width(self) -> int:
        """Width available to a line of text inside the horizontal margins (the safe area)."""
        return self.play_res_x - 2 * self.margin_h

    def font_file(self) -> Path:
        """The font file libass draws this style with (brand.font in brand.fonts_dir)."""
        return find_font(self.font_name, self.fonts_dir, bold=self.bold)

    def line_width(self, text: str) -> float:
        """Rendered width of one line in this style, outline on both sides included."""
        return text_width(text, self.font_size, bold=self.bold, font_file=str(self.font_file())) + 2 * self.outline

    def line_fits(self, text: str) -> bool:
        return self.line_width(text) <= self.safe_width


@dataclass(frozen=True)
class _Shape:
    """One frame shape's caption numbers; sizes are fractions of the frame."""

    name: str
    width: int  # default frame
    height: int
    font_size: float  # of the width
    outline: float  # the width divided by this, to 0.1 px
    margin_v: float  # of the height
    margin_h: float  # of the width
    bold: bool
    max_chars_per_line: int
    max_lines: int = 2


# 16:9 (Netflix): 54 px regular, 3 px outline, 60 px from the bottom, 192 px sides at 1920x1080.
_CLASSIC = _Shape("Classic", 1920, 1080, 54 / 1920, 640, 1 / 18, 0.10, bold=False, max_chars_per_line=42)
# 9:16: 56 px at 1080 (22 bold DejaVu chars fit 756 px), 4 px outline. The TikTok/Reels/Shorts UI
# covers the bottom fifth and the right edge; symmetric side margins keep the text centred.
_VERTICAL = _Shape("Vertical", 1080, 1920, 0.052, 270, 0.22, 0.15, bold=True, max_chars_per_line=22)
# 1:1: 52 px at 1080, 4 px outline; 10 % sides and 12 % from the bottom (see square_style).
_SQUARE = _Shape("Square", 1080, 1080, 0.048, 270, 0.12, 0.10, bold=True, max_chars_per_line=26)


def _shape_style(
    shape: _Shape,
    width: int,
    height: int,
    *,
    font_name: str,
    primary: str,
    highlight: str,
    fonts_dir: str,
    max_cps: float,
    emphasis: str,
    condense: bool,
) -> CaptionStyle:
    """The caption style of `shape` for a width x height frame and the series' settings."""
    return CaptionStyle(
        name=shape.name,
        play_res_x=width,
        play_res_y=height,
        font_name=font_name,
        font_size=round(width * shape.font_size),
        bold=shape.bold,
        primary_colour=primary,
        highlight_colour=highlight,
        outline_colour="#000000",
        outline=round(width / shape.outline, 1),
        shadow=1.0,
        margin_v=round(height * shape.margin_v),
        margin_h=round(width * shape.margin_h),
        alignment=2,
        max_chars_per_line=shape.max_chars_per_line,
        max_lines=shape.max_lines,
        fonts_dir=fonts_dir,
        max_cps=max_cps,
        emphasis_colour=emphasis,
        condense=condense,
    )


def vertical_style(
    *,
    font_name: str,
    primary: str,
    highlight: str,
    width: int = _VERTICAL.width,
    height: int = _VERTICAL.height,
    fonts_dir: str = "",
    max_cps: float = 17.0,
    emphasis: str = "",
    condense: bool = True,
) -> CaptionStyle:
    """9:16 social captions: large bold, outlined, 1-2 short lines above the bottom-fifth UI."""
    return _shape_style(
        _VERTICAL,
        width,
        height,
        font_name=font_name,
        primary=primary,
        highlight=highlight,
        fonts_dir=fonts_dir,
        max_cps=max_cps,
        emphasis=emphasis,
        condense=condense,
    )


def square_style(
    *,
    font_name: str,
    primary: str,
    highlight: str,
    size: int = _SQUARE.width,
    fonts_dir: str = "",
    max_cps: float = 17.0,
    emphasis: str = "",
    condense: bool = True,
) -> CaptionStyle:
    """1:1 feed captions (Instagram, LinkedIn, X): bold, outlined, 2 lines in the lower third.

    Feeds overlay no interface on a square post, but crop previews to 4:5 or round corners:
    10 % side margins and 12 % from the bottom keep the text clear. The line length is the
    measured width (26 characters preferred; 864 px at 1080).
    """
    return _shape_style(
        _SQUARE,
        size,
        size,
        font_name=font_name,
        primary=primary,
        highlight=highlight,
        fonts_dir=fonts_dir,
        max_cps=max_cps,
        emphasis=emphasis,
        condense=condense,
    )


def classic_style(
    *,
    font_name: str,
    primary: str,
    highlight: str,
    fonts_dir: str = "",
    max_cps: float = 17.0,
    emphasis: str = "",
    condense: bool = True,
) -> CaptionStyle:
    """16:9 1920x1080 captions: bottom centre, 42 characters, 2 lines (Netflix)."""
    w, h = _CLASSIC.width, _CLASSIC.height
    return _shape_style(
        _CLASSIC,
        w,
        h,
        font_name=font_name,
        primary=primary,
        highlight=highlight,
        fonts_dir=fonts_dir,
        max_cps=max_cps,
        emphasis=emphasis,
        condense=condense,
    )


# The caption styles by name, as data: one entry per frame shape.
STYLES: dict[str, Callable[..., CaptionStyle]] = {
    "classic": classic_style,
    "vertical": vertical_style,
    "square": square_style,
}


# --- French typography --------------------------------------------------------------

_SPACE_BEFORE_HIGH_PUNCT = re.compile(r"[ \t]+([?!:;%])")
_GLUED_HIGH_PUNCT = re.compile(r"(?<=[^\s\u00a0\u202f?!:;])([?!:;])")
_SPACE_BEFORE_LOW_PUNCT = re.compile(r"[ \t]+([,.…)\]])")
_AFTER_OPEN_GUILLEMET = re.compile(r"«[ \t\u00a0\u202f]*")
_BEFORE_CLOSE_GUILLEMET = re.compile(r"[ \t\u00a0\u202f]*»")


def french_typography(text: str) -> str:
    """Non-breaking space before ? ! : ; % and inside « », never doubled; none before , ."""
    text = _SPACE_BEFORE_LOW_PUNCT.sub(r"\1", text)
    text = _SPACE_BEFORE_HIGH_PUNCT.sub(NBSP + r"\1", text)

    def glue(m: re.Match[str]) -> str:
        s, i = m.string, m.start()
        # Leave clock times (14:30), URLs (https://) and ratios alone.
        if m.group(1) == ":" and (
            (i > 0 and s[i - 1].isdigit() and s[i + 1 : i + 2].isdigit()) or s[i + 1 : i + 3] == "//"
        ):
            return m.group(1)
        return NBSP + m.group(1)

    text = _GLUED_HIGH_PUNCT.sub(glue, text)
    text = _AFTER_OPEN_GUILLEMET.sub("«" + NBSP, text)
    text = _BEFORE_CLOSE_GUILLEMET.sub(NBSP + "»", text)
    return text


# --- layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """Words that must stay together on screen (a word plus detached punctuation)."""

    words: tuple[Word, ...]
    text: str
    start: float  # sanitised (monotonic) times
    end: float

    @property
    def ends_sentence(self) -> bool:
        return self.words[-1].ends_sentence


def _key(text: str) -> str:
    return text.translate(_APOSTROPHES).lstrip('«“"([' + NBSP).lower()


def _is_weak(text: str) -> bool:
    return _key(text) in _WEAK or bool(_OPENING_ONLY.match(text))


def _boundary_penalty(prev: str, nxt: str) -> float:
    """Cost of a line or event break between two display units (0 is ideal)."""
    if _is_weak(prev):
        return 2 * _FORBIDDEN  # worse still than a forbidden conjunction break when nothing fits
    if _key(prev) in _BREAK_BEFORE:  # a conjunction or preposition starts the next line
        return _FORBIDDEN
    if prev.endswith(_LINE_END_PUNCT):
        return 0.0
    p, n = _key(prev), _key(nxt)
    cost = 2.0 if n in _BREAK_BEFORE else 5.0
    if n in _CLITIC:
        cost += 6.0
    if p in _AUXILIARY:
        cost += 3.0
    if prev[:1].isupper() and nxt[:1].isupper():  # first + last name
        cost += 6.0
    return cost


def _units(words: Sequence[Word]) -> list[_Unit]:
    groups: list[list[Word]] = []
    for w in words:
        if groups and (_CLOSING_ONLY.match(w.text) or _OPENING_ONLY.match(groups[-1][-1].text)):
            groups[-1].append(w)
        else:
            groups.append([w])
    units: list[_Unit] = []
    last_start = float("-inf")
    for g in groups:
        start = max(g[0].start, last_start)
        end = max(start, max(w.end for w in g))
        last_start = start
        units.append(_Unit(tuple(g), french_typography(" ".join(w.text for w in g)), start, end))
    return units


def _break_lines(
    texts: Sequence[str], max_chars: int, max_lines: int, fits_wide: Callable[[str], bool] | None = None
) -> tuple[tuple[str, ...], float]:
    """Best split of display units into lines: fewest lines that fit, then lowest cost.

    When no split within `max_chars` avoids a forbidden break and `fits_wide` is given, lines
    longer than `max_chars` that `fits_wide` accepts (the measured rendered width) are allowed.
    A cost >= _FORBIDDEN means no split respects the limits and the weak-word rule.
    """
    best = _break_lines_once(texts, max_chars, max_lines, None)
    if best[1] >= _FORBIDDEN and fits_wide is not None:
        wide = _break_lines_once(texts, max_chars, max_lines, fits_wide)
        if wide[1] < best[1]:
            return wide
    return best


def _break_lines_once(
    texts: Sequence[str], max_chars: int, max_lines: int, fits_wide: Callable[[str], bool] | None
) -> tuple[tuple[str, ...], float]:
    def overflow(a: int, b: int, length: int) -> float:
        if length <= max_chars:
            return 0.0
        if fits_wide is not None and fits_wide(" ".join(texts[a:b])):
            return _WIDE_LINE + (length - max_chars)
        return _OVERFLOW * (length - max_chars)

    n = len(texts)
    lengths = [len(t) for t in texts]
    best: tuple[tuple[str, ...], float] | None = None
    for k in range(1, max(1, min(max_lines, n)) + 1):
        for cuts in itertools.combinations(range(1, n), k - 1):
            bounds = (0, *cuts, n)
            line_lengths = [sum(lengths[a:b]) + (b - a - 1) for a, b in itertools.pairwise(bounds)]
            cost = sum(overflow(a, b, ln) for (a, b), ln in zip(itertools.pairwise(bounds), line_lengths, strict=True))
            cost += sum(_boundary_penalty(texts[c - 1], texts[c]) for c in cuts)
            cost += max(line_lengths) - min(line_lengths)
            if best is None or cost < best[1]:
                lines = tuple(" ".join(texts[a:b]) for a, b in itertools.pairwise(bounds))
                best = (lines, cost)
        if best is not None and best[1] < _FORBIDDEN:
            return best
    assert best is not None
    return best


def layout_captions(
    words: Sequence[Word],
    *,
    max_chars_per_line: int,
    max_lines: int = 2,
    max_duration: float = 7.0,
    min_duration: float = 5 / 6,
    min_gap: float = 2 / 25,
    max_cps: float = 17.0,
    pause_break: float = 0.7,
    fits_wide: Callable[[str], bool] | None = None,
    until: float | None = None,
    fillers: Collection[str] = (),
    cuts: Sequence[float] = (),
    cut_snap: float = 0.5,
) -> list[CaptionEvent]:
    """Group timed words into caption events with line breaks and subtitle timing.

    `fits_wide` (a measured-width test, e.g. `CaptionStyle.line_fits`) allows a line longer
    than `max_chars_per_line` where no break within the limit is allowed. `until` is where the
    picture ends (a clip's length): no event runs past it, and the last one starts earlier if
    it must, to keep its minimum duration and reading speed.

    `fillers` (e.g. FILLERS) are disfluencies left out of events that are still over `max_cps`
    once timing and grouping have done what they can (the last resort; logged). `cuts` are shot
    changes (seconds, same time base as the words): an event ends at a cut that falls between
    two words (within `cut_snap` of the speech around it) when the event before it can keep its
    minimum duration, and its out-time stops 2 frames before the cut when reading speed allows.
    """
    units = _units(words)
    cut_list = sorted(cuts)

    def separated(x: _Unit, y: _Unit) -> bool:
        return _cut_between(x, y, cut_list, cut_snap)

    def fits(group: Sequence[_Unit]) -> bool:
        return _break_lines([u.text for u in group], max_chars_per_line, max_lines)[1] < _FORBIDDEN

    def fits_measured(group: Sequence[_Unit]) -> bool:
        # Lines over the character limit but inside the measured width: only for the units that
        # move to the next event at a cut, so that a cut never has to fall on a forbidden break.
        return _break_lines([u.text for u in group], max_chars_per_line, max_lines, fits_wide)[1] < _FORBIDDEN

    def too_soon(first: _Unit, group_start: float) -> bool:
        # The previous event needs its minimum duration plus the gap before this one starts.
        return first.start - group_start < min_gap + min_duration

    groups: list[list[_Unit]] = []
    cur: list[_Unit] = []
    for u in units:
        if not cur:
            cur = [u]
            continue
        prev, start = cur[-1], cur[0].start
        if too_soon(u, start):
            cur.append(u)
            continue
        if prev.ends_sentence:
            reason = "sentence"
        elif separated(prev, u):
            reason = "sentence"  # a shot change: end the event here, like a sentence
        elif u.start - prev.end > pause_break:
            reason = "pause"
        elif u.end - start > max_duration:
            reason = "duration"
        elif not fits([*cur, u]):
            reason = "length"
        else:
            cur.append(u)
            continue
        keep = len(cur)
        if reason != "sentence":
            keep = _choose_cut(cur, u, reason, fits_measured, too_soon, max_duration)
            nxt = cur[keep] if keep < len(cur) else u
            if (
                reason == "length"
                and _boundary_penalty(cur[keep - 1].text, nxt.text) >= _FORBIDDEN
                and fits_measured([*cur, u])
            ):
                cur.append(u)  # every cut is forbidden: a line wider than the limit but inside the safe area
                continue
        groups.append(cur[:keep])
        cur = [*cur[keep:], u]
    if cur:
        groups.append(cur)
    groups = _rebalance(
        groups,
        fits,
        max_chars_per_line,
        max_lines,
        max_duration,
        min_duration,
        min_gap,
        max_cps,
        pause_break,
        until,
        separated,
    )
    events = _timed_events(
        groups, max_chars_per_line, max_lines, max_duration, min_duration, min_gap, max_cps, fits_wide, until
    )
    if cut_list:
        events = _end_before_cuts(events, cut_list, min_duration, min_gap, max_cps)
    if fillers:
        events = _condense(events, frozenset(fillers), max_chars_per_line, max_lines, max_cps, fits_wide)
    return events


def _cut_between(x: _Unit, y: _Unit, cuts: Sequence[float], snap: float) -> bool:
    """A shot change falls between two consecutive units (or within `snap` of the speech
    boundary between them), so an event should end after `x` and the next start with `y`."""
    lo, hi = max(x.start, x.end - snap), min(y.end, y.start + snap)
    i = bisect.bisect_right(cuts, lo)
    return i < len(cuts) and cuts[i] <= hi


def _end_before_cuts(
    events: list[CaptionEvent], cuts: Sequence[float], min_duration: float, min_gap: float, max_cps: float
) -> list[CaptionEvent]:
    """An event whose speech is over before a shot change leaves the screen 2 frames before the
    cut, unless that makes it too short or too fast to read (reading comes first)."""
    out: list[CaptionEvent] = []
    for ev in events:
        speech_end = max((w.end for w in ev.words), default=ev.start)
        i = bisect.bisect_right(cuts, max(ev.start, speech_end - 1e-9))
        if i < len(cuts) and cuts[i] < ev.end:
            end = cuts[i] - min_gap
            if end - ev.start >= min_duration and len(ev.text) <= max_cps * (end - ev.start):
                ev = replace(ev, end=end)
        out.append(ev)
    return out


def _group_chars(group: Sequence[_Unit], max_chars: int, max_lines: int) -> int:
    lines, _ = _break_lines([u.text for u in group], max_chars, max_lines)
    return sum(len(line) for line in lines) + len(lines) - 1


def _rebalance(
    groups: list[list[_Unit]],
    fits: Callable[[Sequence[_Unit]], bool],
    max_chars: int,
    max_lines: int,
    max_duration: float,
    min_duration: float,
    min_gap: float,
    max_cps: float,
    pause_break: float,
    until: float | None,
    separated: Callable[[_Unit, _Unit], bool],
) -> list[list[_Unit]]:
    """Move the boundary between two neighbouring events, or merge them, where one reads too fast.

    An event's in-time stays on its first word (timing to speech), so it can be shown from there
    until the next event starts (or `max_duration`, or the silence after it). Fast speech followed
    by a pause or slower speech gets readable by sharing that time: move units across the boundary
    or merge both events when the lines allow it, never onto a forbidden break (article, pronoun).
    """

    def window(g: Sequence[_Unit], nxt: Sequence[_Unit] | None) -> float:
        start = g[0].start
        end = start + max_duration
        if nxt is not None:
            end = min(end, nxt[0].start - min_gap)
        elif until is not None:
            end = min(end, until)
        return end - start

    def speed(g: Sequence[_Unit], nxt: Sequence[_Unit] | None) -> float:
        w = window(g, nxt)
        if w < min_duration - 1e-9 or g[-1].end - g[0].start > max_duration:
            return float("inf")
        return _group_chars(g, max_chars, max_lines) / w

    def ok_break(a: Sequence[_Unit], b: Sequence[_Unit]) -> bool:
        return _boundary_penalty(a[-1].text, b[0].text) < _FORBIDDEN

    def joined(a: Sequence[_Unit], b: Sequence[_Unit]) -> bool:
        # Never show words before a pause together with words after it: they would appear early.
        return b[0].start - a[-1].end <= pause_break and not separated(a[-1], b[0])

    def score(pair: Sequence[Sequence[_Unit]], after: Sequence[_Unit] | None) -> tuple[int, float]:
        # Fewest events over the limit first, then the slowest worst one.
        speeds = [speed(g, pair[j + 1] if j + 1 < len(pair) else after) for j, g in enumerate(pair)]
        return sum(1 for v in speeds if v > max_cps + 1e-9), max(speeds)

    out = [list(g) for g in groups]
    changed, rounds = True, 0
    while changed and rounds < 4 * len(out) + 4:
        changed, rounds = False, rounds + 1
        i = 0
        while i + 1 < len(out):
            a, b = out[i], out[i + 1]
            after = out[i + 2] if i + 2 < len(out) else None
            current = score([a, b], after)
            if current[0] == 0 or not joined(a, b):
                i += 1
                continue
            candidates: list[list[list[_Unit]]] = []
            if fits([*a, *b]):
                candidates.append([[*a, *b]])
            for k in range(1, len(a)):  # the last units of a move to b
                na, nb = a[:k], [*a[k:], *b]
                if ok_break(na, nb) and fits(nb):
                    candidates.append([na, nb])
            for k in range(1, len(b)):  # the first units of b move to a
                na, nb = [*a, *b[:k]], b[k:]
                if ok_break(na, nb) and fits(na):
                    candidates.append([na, nb])
            scored = [(score(c, after), c) for c in candidates]
            best = min(scored, key=lambda x: x[0], default=None)
            if best is not None and (best[0][0], best[0][1] + 1e-6) < current:
                out[i : i + 2] = best[1]
                changed = True
            i += 1
    return out


# French disfluencies that condensed captions may leave out (SPECS.md: reading speed first).
FILLERS = frozenset({"euh", "heu", "euhm", "hum", "hm", "ben", "bah", "beh", "hein"})
# Repeated words never dropped: "nous nous sommes", "vous vous êtes" are grammatical.
_KEEP_REPEATED = frozenset({"nous", "vous", "que", "si"})
_WORD_KEY = re.compile(r"[^\w']+")


def _bare(text: str) -> str:
    return _WORD_KEY.sub("", text.translate(_APOSTROPHES)).lower()


def condense_words(words: Sequence[Word], fillers: Collection[str] = FILLERS) -> tuple[list[Word], list[Word]]:
    """Drop disfluencies from verbatim words: fillers (« euh », « ben », « hein »…) and a word
    said twice in a row (« je je »). Returns (kept, dropped); content words are always kept.

    A question or exclamation mark carried by a dropped word (« oui, hein ? ») moves to the word
    before it; a word after a dropped sentence-initial filler (« Euh, je ») gets its capital.
    """
    keys = {f.lower() for f in fillers}
    kept: list[Word] = []
    dropped: list[Word] = []
    capitalise = False
    for i, w in enumerate(words):
        key = _bare(w.text)
        nxt = _bare(words[i + 1].text) if i + 1 < len(words) else ""
        filler = key in keys and (key != "ben" or not w.text[:1].isupper())  # Ben is also a name
        stutter = (
            bool(key) and key == nxt and key not in _KEEP_REPEATED and not w.text.rstrip().endswith(_LINE_END_PUNCT)
        )
        if not key and dropped and dropped[-1] is words[i - 1] and kept:
            # Punctuation said with a dropped word (« hein » « ? »): it moves to the word before.
            mark = w.text.strip()
            if mark and mark[0] in "?!.…" and not kept[-1].ends_sentence:
                sep = "" if mark[0] in ".…" else NBSP
                kept[-1] = replace(kept[-1], text=kept[-1].text.rstrip(",;: ") + sep + mark)
            continue
        if not key or not (filler or stutter) or (not kept and i + 1 == len(words)):
            if capitalise and w.text[:1].islower():
                w = replace(w, text=w.text[:1].upper() + w.text[1:])
            capitalise = False
            kept.append(w)
            continue
        dropped.append(w)
        capitalise = capitalise or (w.text[:1].isupper() and (not kept or kept[-1].ends_sentence))
        tail = w.text.rstrip()[-1:]
        if tail in "?!" and kept and not kept[-1].ends_sentence:
            kept[-1] = replace(kept[-1], text=kept[-1].text.rstrip(",;: ") + NBSP + tail)
    return kept, dropped


def _condense(
    events: list[CaptionEvent],
    fillers: frozenset[str],
    max_chars: int,
    max_lines: int,
    max_cps: float,
    fits_wide: Callable[[str], bool] | None,
) -> list[CaptionEvent]:
    """Last resort for events still over the reading speed: leave out their disfluencies."""
    out: list[CaptionEvent] = []
    for ev in events:
        duration = ev.end - ev.start
        if duration <= 0 or len(ev.text) <= max_cps * duration:
            out.append(ev)
            continue
        kept, dropped = condense_words(ev.words, fillers)
        if not dropped or not kept:
            out.append(ev)
            continue
        lines, _ = _break_lines([u.text for u in _units(kept)], max_chars, max_lines, fits_wide)
        _log.info(
            "Caption at %.2f s condensed for reading speed: left out %s",
            ev.start,
            ", ".join(f"« {w.text} »" for w in dropped),
        )
        out.append(replace(ev, lines=lines, words=tuple(kept)))
    return out


def _choose_cut(
    cur: list[_Unit],
    u: _Unit,
    reason: str,
    fits: Callable[[Sequence[_Unit]], bool],
    too_soon: Callable[[_Unit, float], bool],
    max_duration: float,
) -> int:
    """How many units of `cur` to keep when an event must end before `u`.

    Moves a short tail to the next event when that gives a better break (after a comma,
    before a conjunction, never after an article), as long as the next event still fits.
    """
    total = sum(len(x.text) + 1 for x in cur)
    best_keep, best_cost = len(cur), float("inf")
    for keep in range(len(cur), 0, -1):
        kept_chars = sum(len(x.text) + 1 for x in cur[:keep])
        if keep < len(cur) and kept_chars < total / 2:
            break
        tail = [*cur[keep:], u]
        nxt = tail[0]
        cost = _boundary_penalty(cur[keep - 1].text, nxt.text)
        if keep == len(cur):
            if reason == "pause" and cost < _FORBIDDEN:
                cost = 0.0
        else:
            if too_soon(nxt, cur[0].start) or u.end - nxt.start > max_duration or not fits(tail):
                continue
            cost += 0.15 * (total - kept_chars)
        if cost < best_cost:
            best_keep, best_cost = keep, cost
    return best_keep


def _timed_events(
    groups: list[list[_Unit]],
    max_chars: int,
    max_lines: int,
    max_duration: float,
    min_duration: float,
    min_gap: float,
    max_cps: float,
    fits_wide: Callable[[str], bool] | None = None,
    until: float | None = None,
) -> list[CaptionEvent]:
    events: list[CaptionEvent] = []
    for i, g in enumerate(groups):
        lines, _ = _break_lines([u.text for u in g], max_chars, max_lines, fits_wide)
        start = g[0].start
        chars = sum(len(line) for line in lines) + len(lines) - 1
        needed = max(min_duration, chars / max_cps)
        end = max(max(u.end for u in g), start + needed)
        end = min(end, start + max_duration)
        if i + 1 < len(groups):
            end = min(end, groups[i + 1][0].start - min_gap)
        elif until is not None:
            end = min(end, until)
        end = max(end, start + _MIN_VISIBLE) if i + 1 == len(groups) else end
        words = tuple(w for u in g for w in u.words)
        events.append(CaptionEvent(start=start, end=end, lines=lines, words=words))
    if until is not None:
        events = _fit_before(events, until, min_duration, min_gap, max_cps, max_duration)
    return events


def _fit_before(
    events: list[CaptionEvent], until: float, min_duration: float, min_gap: float, max_cps: float, max_duration: float
) -> list[CaptionEvent]:
    """The picture ends at `until`: show the last events earlier rather than cut them short.

    Each keeps its minimum duration (walking back while an event must move); the last one also
    takes the free time before it for its reading time, without pushing the others.
    """
    out = list(events)
    limit = until
    for j in range(len(out) - 1, -1, -1):
        ev = out[j]
        end = min(ev.end, limit)
        start = max(min(ev.start, end - min_duration), 0.0)
        if j == len(out) - 1:
            free = out[j - 1].end + min_gap if j else 0.0
            reading = min(len(ev.text) / max_cps, max_duration)
            start = min(start, max(free, end - reading))
        if (start, end) == (ev.start, ev.end):
            break
        out[j] = replace(ev, start=start, end=max(end, start + _MIN_VISIBLE))
        limit = start - min_gap
    return out


def layout_for_style(
    words: Sequence[Word], style: CaptionStyle, *, until: float | None = None, cuts: Sequence[float] = ()
) -> list[CaptionEvent]:
    """`layout_captions` with the style's limits; the 9:16 and 1:1 styles measure rendered width.

    `cuts` are shot changes in the same time base as the words (see `layout_captions`).
    """
    return layout_captions(
        words,
        max_chars_per_line=style.max_chars_per_line,
        max_lines=style.max_lines,
        max_cps=style.max_cps,
        fits_wide=style.line_fits if style.measured else None,
        until=until,
        fillers=FILLERS if style.condense else (),
        cuts=cuts,
    )


def layout_clip(
    words: Sequence[Word], style: CaptionStyle, start: float, end: float, *, cuts: Sequence[float] = ()
) -> list[CaptionEvent]:
    """Caption events for the clip [start, end) laid out from its own words, in clip time.

    Words are shifted so the clip starts at 0 and clamped to the clip, so no event straddles
    the clip's edges: each event is timed (minimum duration, reading speed) inside the clip,
    instead of being cut at an edge as `rebase` does to events laid out for the whole episode.
    `cuts` are the footage's shot changes in episode time, like the words (e.g. scene_cuts).
    """
    length = end - start

    def clamp(t: float) -> float:
        return min(max(t - start, 0.0), length)

    inside = [replace(w, start=clamp(w.start), end=clamp(w.end)) for w in words if w.end > start and w.start < end]
    clip_cuts = [c - start for c in cuts if start < c < end]
    return layout_for_style(inside, style, until=length, cuts=clip_cuts)


def rebase(events: Sequence[CaptionEvent], start: float, end: float) -> list[CaptionEvent]:
    """Events overlapping [start, end), shifted to clip time (0 = start) and clamped."""
    length = end - start

    def clamp(t: float) -> float:
        return min(max(t - start, 0.0), length)

    out: list[CaptionEvent] = []
    for ev in events:
        if ev.end <= start or ev.start >= end:
            continue
        words = tuple(replace(w, start=clamp(w.start), end=clamp(w.end)) for w in ev.words)
        out.append(replace(ev, start=clamp(ev.start), end=clamp(ev.end), words=words))
    return out


# --- subtitle files -------------------------------------------------------------------


def _colour(hex_rgb: str, alpha: int = 0) -> pysubs2.Color:
    m = re.fullmatch(r"#?([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})", hex_rgb.strip())
    if not m:
        raise ValueError(f"colour '{hex_rgb}' is not #RRGGBB")
    r, g, b = (int(x, 16) for x in m.groups())
    return pysubs2.Color(r, g, b, alpha)


def _ass_colour_tag(hex_rgb: str) -> str:
    c = _colour(hex_rgb)
    return f"{{\\c&H{c.b:02X}{c.g:02X}{c.r:02X}&}}"


def escape_ass_text(text: str) -> str:
    """Make text inert in an ASS event: braces can't open tags, backslashes can't form \\N."""
    # A word joiner after each backslash stops "\N", "\h", "\{" from being read as escapes.
    text = text.replace("\\", "\\\u2060")
    return text.replace("{", "\\{").replace("}", "\\}")


# Colour emoji and the code points that build them (variation selectors, zero-width joiner,
# keycap, tags, skin tones): libass draws none of them (SPECS.md), so burned-in text leaves them out.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u200d\ufe0e\ufe0f\u20e3\U000e0020-\U000e007f]")
_NOT_A_CHARACTER = "\U0010fffd"  # private use: no font has it, so it renders as the .notdef box


@functools.lru_cache(maxsize=4096)
def _has_glyph(font_file: str, ch: str) -> bool:
    font = ImageFont.truetype(font_file, 48)
    return bytes(font.getmask(ch)) != bytes(font.getmask(_NOT_A_CHARACTER))


def burnable_text(text: str, font_file: str | Path | None = None) -> tuple[str, str]:
    """Text libass can draw, and the emoji left out: emoji code points, and symbols the font
    has no glyph for (they would be empty boxes). Spaces left doubled by a removal are merged."""
    dropped: list[str] = []

    def drop(ch: str) -> bool:
        if _EMOJI.match(ch):
            return True
        if font_file is not None and unicodedata.category(ch) == "So":
            return not _has_glyph(str(font_file), ch)
        return False

    kept = []
    for ch in text:
        if drop(ch):
            dropped.append(ch)
        else:
            kept.append(ch)
    if not dropped:
        return text, ""
    clean = re.sub(r"[ \u00a0]{2,}", lambda m: m.group(0)[0], "".join(kept)).strip(" ")
    return clean, "".join(ch for ch in dropped if not ch.isspace())


def emoji_warnings(events: Sequence[CaptionEvent], style: CaptionStyle) -> list[str]:
    """One line per caption whose emoji are left out of the burned-in (ASS) captions; the SRT
    and VTT sidecars keep them. `write_captions` logs these; the flow can report them."""
    font_file = style.font_file()
    out = []
    for ev in events:
        tokens = [t for t in ev.text.split() if burnable_text(t, font_file)[1]]
        if tokens:
            out.append(
                f"caption at {ev.start:.2f} s: emoji in {' '.join(tokens)} left out of the burned-in captions "
                "(libass draws no colour emoji); the SRT and VTT files keep them"
            )
    return out


_ELISION = re.compile(r"^(?:jusqu|lorsqu|puisqu|quoiqu|qu|[ldjmnstc])'", re.IGNORECASE)


def keyword_key(text: str) -> str:
    """A word as keywords are matched: no case, accents, elided article (l', d', qu') or
    punctuation; a hashtag's # is ignored."""
    text = text.translate(_APOSTROPHES).strip()
    text = _ELISION.sub("", text.lstrip('#«“"(['))
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", "", text).casefold()


def _keyword_sequences(keywords: Collection[str]) -> list[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for kw in keywords:
        tokens = tuple(k for k in (keyword_key(t) for t in kw.replace("-", " ").split()) if k)
        if tokens:
            out.add(tokens)
        if kw.startswith("#"):  # #InsertionPro also matches "insertion pro" said aloud
            parts = tuple(keyword_key(p) for p in re.findall(r"[A-ZÀ-Ý]?[a-zà-ÿ]+|[A-ZÀ-Ý]+(?![a-zà-ÿ])|\d+", kw))
            if len(parts) > 1:
                out.add(parts)
    return sorted(out, key=len, reverse=True)


def keyword_segments(lines: Sequence[Sequence[str]], keywords: Collection[str]) -> set[int]:
    """Indexes of the display segments (flattened over lines) that are part of a keyword."""
    seqs = _keyword_sequences(keywords)
    if not seqs:
        return set()
    tokens: list[tuple[str, int]] = []
    k = 0
    for parts in lines:
        for part in parts:
            tokens += [(key, k) for key in (keyword_key(t) for t in part.replace(NBSP, " ").split()) if key]
            k += 1
    keys = [t for t, _ in tokens]
    hit: set[int] = set()
    for seq in seqs:
        n = len(seq)
        for i in range(len(keys) - n + 1):
            if tuple(keys[i : i + n]) == seq:
                hit.update(seg for _, seg in tokens[i : i + n])
    return hit


def _karaoke_segments(ev: CaptionEvent) -> tuple[list[list[str]], list[int]]:
    """Display segments per line, and for each word the index of the segment holding it.

    Segments are the layout units (a word plus glued punctuation), so a word and its
    detached "?" light up together. Events whose lines don't come from `layout_captions`
    fall back to space-separated tokens.
    """
    units = _units(ev.words)
    lines: list[list[str]] = []
    unit_index: dict[int, int] = {}
    k = 0
    for line in ev.lines:
        parts: list[str] = []
        rest = line
        while rest and k < len(units) and rest.startswith(units[k].text):
            unit_index[k] = sum(len(p) for p in lines) + len(parts)
            parts.append(units[k].text)
            rest = rest[len(units[k].text) :].removeprefix(" ")
            k += 1
        if rest:
            break
        lines.append(parts)
    if k == len(units) and len(lines) == len(ev.lines):
        word_seg = [unit_index[i] for i, u in enumerate(units) for _ in u.words]
        return lines, word_seg
    lines = [line.split(" ") for line in ev.lines]
    n = sum(len(p) for p in lines)
    return lines, [min(i, n - 1) for i in range(len(ev.words))]


def _karaoke_text(
    lines: list[list[str]],
    active: int,
    colour_tag: str,
    emphasised: Collection[int] = (),
    emphasis_tag: str = "",
    font_file: Path | None = None,
) -> str:
    """ASS text of one event: the active segment in the highlight colour, keyword segments in
    the emphasis colour (the highlight wins on the active word), emoji left out."""
    out: list[str] = []
    k = 0
    for parts in lines:
        shown = []
        for part in parts:
            text = escape_ass_text(burnable_text(part, font_file)[0])
            if not text:
                pass
            elif k == active:
                text = f"{colour_tag}{text}{{\\r}}"
            elif k in emphasised and emphasis_tag:
                text = f"{emphasis_tag}{text}{{\\r}}"
            if text:
                shown.append(text)
            k += 1
        out.append(" ".join(shown))
    return "\\N".join(out)


def to_ssa(
    events: Sequence[CaptionEvent], style: CaptionStyle, *, karaoke: bool, keywords: Collection[str] = ()
) -> pysubs2.SSAFile:
    """An ASS file for the events; with karaoke, one event per word with that word highlighted.

    Words of `keywords` (guest, organisation, cause, hashtags) are shown in the style's
    emphasis colour when it has one. Emoji are left out: libass cannot draw them.
    """
    subs = pysubs2.SSAFile()
    subs.info["PlayResX"] = str(style.play_res_x)
    subs.info["PlayResY"] = str(style.play_res_y)
    subs.info["WrapStyle"] = "2"
    subs.info["ScaledBorderAndShadow"] = "yes"
    subs.styles = {
        style.name: pysubs2.SSAStyle(
            fontname=style.font_name,
            fontsize=float(style.font_size),
            primarycolor=_colour(style.primary_colour),
            secondarycolor=_colour(style.highlight_colour),
            outlinecolor=_colour(style.outline_colour),
            backcolor=_colour("#000000", alpha=0x80),
            bold=style.bold,
            outline=style.outline,
            shadow=style.shadow,
            alignment=pysubs2.Alignment(style.alignment),
            marginl=style.margin_h,
            marginr=style.margin_h,
            marginv=style.margin_v,
        )
    }
    tag = _ass_colour_tag(style.highlight_colour)
    emphasis_tag = _ass_colour_tag(style.emphasis_colour) if style.emphasis_colour and keywords else ""
    font_file = style.font_file()

    def ms(t: float) -> int:
        return round(t * 1000)

    for ev in events:
        lines, seg_of = _karaoke_segments(ev) if ev.words else ([line.split(" ") for line in ev.lines], [])
        emphasised = keyword_segments(lines, keywords) if emphasis_tag else set()
        if not karaoke or not ev.words:
            text = _karaoke_text(lines, -1, tag, emphasised, emphasis_tag, font_file)
            subs.append(pysubs2.SSAEvent(start=ms(ev.start), end=ms(ev.end), text=text, style=style.name))
            continue
        for i, w in enumerate(ev.words):
            a = ev.start if i == 0 else min(max(w.start, ev.start), ev.end)
            b = ev.end if i + 1 == len(ev.words) else min(max(ev.words[i + 1].start, ev.start), ev.end)
            if ms(b) <= ms(a):
                continue  # a word with no time of its own (same start as the next)
            text = _karaoke_text(lines, seg_of[i], tag, emphasised, emphasis_tag, font_file)
            subs.append(pysubs2.SSAEvent(start=ms(a), end=ms(b), text=text, style=style.name))
    return subs


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
