"""Display units (a word plus its detached punctuation) and the best split of units into lines."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from touktouk.french import (
    AUXILIARY,
    BREAK_BEFORE,
    CLITIC,
    CLOSING_ONLY,
    LINE_END_PUNCT,
    OPENING_ONLY,
    french_typography,
    is_weak,
    word_key,
)
from touktouk.types import Word

FORBIDDEN = 1000.0
_OVERFLOW = 10000.0
# A line longer than the character limit that still fits the measured safe width: allowed only
# when no layout within the character limit avoids a forbidden break.
_WIDE_LINE = 100.0


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
class Unit:
    """Words that must stay together on screen (a word plus detached punctuation)."""

    words: tuple[Word, ...]
    text: str
    start: float  # sanitised (monotonic) times
    end: float

    @property
    def ends_sentence(self) -> bool:
        return self.words[-1].ends_sentence


def boundary_penalty(prev: str, nxt: str) -> float:
    """Cost of a line or event break between two display units (0 is ideal)."""
    if is_weak(prev):
        return 2 * FORBIDDEN  # worse still than a forbidden conjunction break when nothing fits
    if word_key(prev) in BREAK_BEFORE:  # a conjunction or preposition starts the next line
        return FORBIDDEN
    if prev.endswith(LINE_END_PUNCT):
        return 0.0
    p, n = word_key(prev), word_key(nxt)
    cost = 2.0 if n in BREAK_BEFORE else 5.0
    if n in CLITIC:
        cost += 6.0
    if p in AUXILIARY:
        cost += 3.0
    if prev[:1].isupper() and nxt[:1].isupper():  # first + last name
        cost += 6.0
    return cost


def split_units(words: Sequence[Word]) -> list[Unit]:
    groups: list[list[Word]] = []
    for w in words:
        if groups and (CLOSING_ONLY.match(w.text) or OPENING_ONLY.match(groups[-1][-1].text)):
            groups[-1].append(w)
        else:
            groups.append([w])
    units: list[Unit] = []
    last_start = float("-inf")
    for g in groups:
        start = max(g[0].start, last_start)
        end = max(start, max(w.end for w in g))
        last_start = start
        units.append(Unit(tuple(g), french_typography(" ".join(w.text for w in g)), start, end))
    return units


def break_lines(
    texts: Sequence[str], max_chars: int, max_lines: int, fits_wide: Callable[[str], bool] | None = None
) -> tuple[tuple[str, ...], float]:
    """Best split of display units into lines: fewest lines that fit, then lowest cost.

    When no split within `max_chars` avoids a forbidden break and `fits_wide` is given, lines
    longer than `max_chars` that `fits_wide` accepts (the measured rendered width) are allowed.
    A cost >= FORBIDDEN means no split respects the limits and the weak-word rule.
    """
    best = _break_lines_once(texts, max_chars, max_lines, None)
    if best[1] >= FORBIDDEN and fits_wide is not None:
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
            cost += sum(boundary_penalty(texts[c - 1], texts[c]) for c in cuts)
            cost += max(line_lengths) - min(line_lengths)
            if best is None or cost < best[1]:
                lines = tuple(" ".join(texts[a:b]) for a, b in itertools.pairwise(bounds))
                best = (lines, cost)
        if best is not None and best[1] < FORBIDDEN:
            return best
    assert best is not None
    return best


def group_chars(group: Sequence[Unit], max_chars: int, max_lines: int) -> int:
    lines, _ = break_lines([u.text for u in group], max_chars, max_lines)
    return sum(len(line) for line in lines) + len(lines) - 1
