"""Caption timing: reading speed shared between neighbours, minimum durations and gaps, shot changes, the clip's end."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import replace

from touktouk.captions.lines import FORBIDDEN, CaptionEvent, Unit, boundary_penalty, break_lines, group_chars

# Shortest on-screen time kept for an event squeezed by the next one (one frame at 25 fps).
MIN_VISIBLE = 0.04


def end_before_cuts(
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


def rebalance(
    groups: list[list[Unit]],
    fits: Callable[[Sequence[Unit]], bool],
    max_chars: int,
    max_lines: int,
    max_duration: float,
    min_duration: float,
    min_gap: float,
    max_cps: float,
    pause_break: float,
    until: float | None,
    separated: Callable[[Unit, Unit], bool],
) -> list[list[Unit]]:
    """Move the boundary between two neighbouring events, or merge them, where one reads too fast.

    An event's in-time stays on its first word (timing to speech), so it can be shown from there
    until the next event starts (or `max_duration`, or the silence after it). Fast speech followed
    by a pause or slower speech gets readable by sharing that time: move units across the boundary
    or merge both events when the lines allow it, never onto a forbidden break (article, pronoun).
    """

    def window(g: Sequence[Unit], nxt: Sequence[Unit] | None) -> float:
        start = g[0].start
        end = start + max_duration
        if nxt is not None:
            end = min(end, nxt[0].start - min_gap)
        elif until is not None:
            end = min(end, until)
        return end - start

    def speed(g: Sequence[Unit], nxt: Sequence[Unit] | None) -> float:
        w = window(g, nxt)
        if w < min_duration - 1e-9 or g[-1].end - g[0].start > max_duration:
            return float("inf")
        return group_chars(g, max_chars, max_lines) / w

    def ok_break(a: Sequence[Unit], b: Sequence[Unit]) -> bool:
        return boundary_penalty(a[-1].text, b[0].text) < FORBIDDEN

    def joined(a: Sequence[Unit], b: Sequence[Unit]) -> bool:
        # Never show words before a pause together with words after it: they would appear early.
        return b[0].start - a[-1].end <= pause_break and not separated(a[-1], b[0])

    def score(pair: Sequence[Sequence[Unit]], after: Sequence[Unit] | None) -> tuple[int, float]:
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
            candidates: list[list[list[Unit]]] = []
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


def timed_events(
    groups: list[list[Unit]],
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
        lines, _ = break_lines([u.text for u in g], max_chars, max_lines, fits_wide)
        # Collapsed timings (Whisper gives several words one instant): an event never starts
        # before the previous one has been shown and the gap has passed.
        start = max(g[0].start, events[-1].end + min_gap) if events else g[0].start
        chars = sum(len(line) for line in lines) + len(lines) - 1
        needed = max(min_duration, chars / max_cps)
        end = max(max(u.end for u in g), start + needed)
        end = min(end, start + max_duration)
        if i + 1 < len(groups):
            end = min(end, groups[i + 1][0].start - min_gap)
        elif until is not None:
            end = min(end, until)
        end = max(end, start + MIN_VISIBLE)  # never empty or negative, whatever the next start
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
        out[j] = replace(ev, start=start, end=max(end, start + MIN_VISIBLE))
        limit = start - min_gap
    return out
