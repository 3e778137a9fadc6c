"""Caption rule checker: every subtitle rule of the spec, checked on events (`check_events`).

Pure. The rule values live in one table (`check_rules.RULES`), one entry per caption style; the
French word lists are the layout engine's own (`touktouk.french`), so the engine and the
checker cannot drift apart. `check_files` reads SRT/VTT/ASS files back for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from touktouk.captions.check_rules import (
    EMPTY,
    GAP,
    LINE_COUNT,
    LINE_END,
    LINE_LENGTH,
    MAX_DURATION,
    MIN_DURATION,
    ORDER,
    OVERLAP,
    READING_SPEED,
    SHOT_CHANGE,
    TYPOGRAPHY,
    CheckEvent,
    Rules,
    Violation,
)
from touktouk.captions.condense import condense_words
from touktouk.french import BREAK_BEFORE, DISFLUENCIES, LINE_END_PUNCT, NARROW_NBSP, NBSP, WEAK, word_key
from touktouk.types import Word


def format_time(t: float) -> str:
    """HH:MM:SS.mmm"""
    ms_total = max(0, round(t * 1000))
    h, rem = divmod(ms_total, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


_HIGH_PUNCT = "?!:;"
_NB_SPACES = (NBSP, NARROW_NBSP)


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
    conjunction or preposition that should start the next line (`french.py`'s lists)."""
    stripped = line.rstrip()
    if not stripped or stripped.endswith(LINE_END_PUNCT):
        return None
    last = stripped.split()[-1]
    key = word_key(last)
    if key in WEAK:
        return f"line ends with '{last}' (article, determiner or pronoun): keep it with the next word"
    if key in BREAK_BEFORE:
        return f"line ends with '{last}': break before it, not after"
    return None


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
    return [w.text for w in condense_words(words, DISFLUENCIES)[1]]


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
