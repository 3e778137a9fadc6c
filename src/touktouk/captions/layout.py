"""Caption layout: timed words grouped into caption events with line breaks and subtitle timing."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from touktouk.captions.condense import condense_events
from touktouk.captions.lines import FORBIDDEN, CaptionEvent, Unit, boundary_penalty, break_lines, split_units
from touktouk.captions.styles import CaptionStyle
from touktouk.captions.timing import end_before_cuts, rebalance, timed_events
from touktouk.french import DISFLUENCIES
from touktouk.types import Word


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

    `fillers` (e.g. DISFLUENCIES) are disfluencies left out of events that are still over `max_cps`
    once timing and grouping have done what they can (the last resort; logged). `cuts` are shot
    changes (seconds, same time base as the words): an event ends at a cut that falls between
    two words (within `cut_snap` of the speech around it) when the event before it can keep its
    minimum duration, and its out-time stops 2 frames before the cut when reading speed allows.
    """
    units = split_units(words)
    cut_list = sorted(cuts)

    def separated(x: Unit, y: Unit) -> bool:
        return _cut_between(x, y, cut_list, cut_snap)

    def fits(group: Sequence[Unit]) -> bool:
        return break_lines([u.text for u in group], max_chars_per_line, max_lines)[1] < FORBIDDEN

    def fits_measured(group: Sequence[Unit]) -> bool:
        # Lines over the character limit but inside the measured width: only for the units that
        # move to the next event at a cut, so that a cut never has to fall on a forbidden break.
        return break_lines([u.text for u in group], max_chars_per_line, max_lines, fits_wide)[1] < FORBIDDEN

    def too_soon(first: Unit, group_start: float) -> bool:
        # The previous event needs its minimum duration plus the gap before this one starts.
        return first.start - group_start < min_gap + min_duration

    groups: list[list[Unit]] = []
    cur: list[Unit] = []
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
                and boundary_penalty(cur[keep - 1].text, nxt.text) >= FORBIDDEN
                and fits_measured([*cur, u])
            ):
                cur.append(u)  # every cut is forbidden: a line wider than the limit but inside the safe area
                continue
        groups.append(cur[:keep])
        cur = [*cur[keep:], u]
    if cur:
        groups.append(cur)
    groups = rebalance(
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
    events = timed_events(
        groups, max_chars_per_line, max_lines, max_duration, min_duration, min_gap, max_cps, fits_wide, until
    )
    if cut_list:
        events = end_before_cuts(events, cut_list, min_duration, min_gap, max_cps)
    if fillers:
        events = condense_events(events, frozenset(fillers), max_chars_per_line, max_lines, max_cps, fits_wide)
    return events


def _cut_between(x: Unit, y: Unit, cuts: Sequence[float], snap: float) -> bool:
    """A shot change falls between two consecutive units (or within `snap` of the speech
    boundary between them), so an event should end after `x` and the next start with `y`."""
    lo, hi = max(x.start, x.end - snap), min(y.end, y.start + snap)
    i = bisect.bisect_right(cuts, lo)
    return i < len(cuts) and cuts[i] <= hi


def _choose_cut(
    cur: list[Unit],
    u: Unit,
    reason: str,
    fits: Callable[[Sequence[Unit]], bool],
    too_soon: Callable[[Unit, float], bool],
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
        cost = boundary_penalty(cur[keep - 1].text, nxt.text)
        if keep == len(cur):
            if reason == "pause" and cost < FORBIDDEN:
                cost = 0.0
        else:
            if too_soon(nxt, cur[0].start) or u.end - nxt.start > max_duration or not fits(tail):
                continue
            cost += 0.15 * (total - kept_chars)
        if cost < best_cost:
            best_keep, best_cost = keep, cost
    return best_keep


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
        fillers=DISFLUENCIES if style.condense else (),
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
