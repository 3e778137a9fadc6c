"""Choosing clips: producer picks (by timecode or by quote) and automatic, sentence-bounded highlights.

Everything is deterministic: the same transcript and settings give the same clips (ties go
to the earlier window).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from touktouk.clips.quotes import QuoteNotFoundError, find_quote, quote_span
from touktouk.clips.scoring import EnergyProfile, reason, score_window
from touktouk.clips.sentences import sentences, vocabulary
from touktouk.french import FILLERS
from touktouk.platforms import Platform
from touktouk.types import ClipPlan, Transcript, Word


@dataclass(frozen=True)
class PickRequest:
    """A producer pick: `start` and `end` (seconds), or a `quote` to find in the transcript."""

    start: float | None = None
    end: float | None = None
    title: str = ""
    quote: str = ""


def length_range(min_seconds: float, max_seconds: float, platforms: Iterable[Platform]) -> tuple[float, float]:
    """The clip length range that fits the series settings and every selected platform.

    Falls back to the settings' range when the platforms leave no room (renders then warn).
    """
    low, high = min_seconds, max_seconds
    for p in platforms:
        low, high = max(low, p.min_duration), min(high, p.max_duration)
    return (low, high) if low < high else (min_seconds, max_seconds)


def _overlaps(a: tuple[float, float], taken: Sequence[tuple[float, float]]) -> bool:
    return any(a[0] < b[1] and b[0] < a[1] for b in taken)


def _text(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words)


def auto_clips(
    transcript: Transcript,
    *,
    count: int,
    min_seconds: float,
    max_seconds: float,
    terms: Iterable[str] = (),
    taken: Sequence[tuple[float, float]] = (),
    energy: EnergyProfile | None = None,
    fillers: Iterable[str] = FILLERS,
) -> list[ClipPlan]:
    """Top `count` non-overlapping sentence-bounded windows of min..max seconds, best first."""
    sents = sentences(transcript.words)
    vocab = vocabulary(terms)
    filler_set = frozenset(fillers)
    candidates: list[tuple[float, int, int, dict[str, float]]] = []
    for i in range(len(sents)):
        words: list[Word] = []
        for j in range(i, len(sents)):
            start, end = sents[i].start, sents[j].end
            if end - start > max_seconds:
                break
            words.extend(sents[j].words)
            if end - start < min_seconds:
                continue
            previous = sents[i - 1] if i else None
            parts = score_window(
                words,
                start,
                end,
                vocab,
                min_seconds,
                max_seconds,
                previous=previous,
                energy=energy,
                fillers=filler_set,
            )
            candidates.append((round(sum(parts.values()), 4), i, j, parts))
    # Highest score first; ties go to the earlier window so results are stable.
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    chosen: list[ClipPlan] = []
    occupied = list(taken)
    for score, i, j, parts in candidates:
        if len(chosen) >= count:
            break
        span = (sents[i].start, sents[j].end)
        if _overlaps(span, occupied):
            continue
        occupied.append(span)
        words = [w for s in sents[i : j + 1] for w in s.words]
        chosen.append(
            ClipPlan(
                id="",
                start=span[0],
                end=span[1],
                text=_text(words),
                source="auto",
                score=score,
                reason=reason(parts),
                score_parts=parts,
            )
        )
    return chosen


def _mmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


def picked_clips(
    transcript: Transcript,
    picks: Sequence[PickRequest],
    duration: float,
    *,
    where: str = "episode file",
    terms: Iterable[str] = (),
    min_seconds: float = 20.0,
    max_seconds: float = 60.0,
    energy: EnergyProfile | None = None,
    fillers: Iterable[str] = FILLERS,
) -> list[ClipPlan]:
    """Producer picks, clamped to the footage; callers validate that timecode picks start inside it.

    A quote pick is found with `find_quote` and snapped to whole sentences; a quote that is not
    found raises QuoteNotFoundError naming `where` (the episode file) and the quote. Picks are
    scored like automatic clips so the review page can show the breakdown; the score does not
    decide whether they are kept.
    """
    words = transcript.words
    vocab = vocabulary(terms)
    plans = []
    for n, p in enumerate(picks, 1):
        if p.quote:
            match = find_quote(words, p.quote)
            if match is None:
                raise QuoteNotFoundError(
                    f"{where}: pick {n} quotes « {p.quote} », which is not in the transcript; "
                    "copy the words as they are said from transcript.srt, or give the pick a start and end instead."
                )
            start, end = quote_span(words, match, duration)
            why = f"Chosen by the producer: quote found ({match.ratio:.0%} similar)"
            if match.occurrences > 1:
                why += f", said {match.occurrences} times, first one used (at {_mmss(start)})"
            why += "."
        elif p.start is not None and p.end is not None:
            start, end = p.start, min(p.end, duration)
            why = "Chosen by the producer."
        else:
            raise ValueError(f"pick {n} has neither a quote nor start and end")
        inside = transcript.words_between(start, end)
        parts = (
            score_window(inside, start, end, vocab, min_seconds, max_seconds, energy=energy, fillers=fillers)
            if inside
            else {}
        )
        plans.append(
            ClipPlan(
                id="",
                start=start,
                end=end,
                text=_text(inside),
                title=p.title,
                source="pick",
                score=round(sum(parts.values()), 4),
                reason=why,
                score_parts=parts,
            )
        )
    return plans


def choose_clips(
    transcript: Transcript,
    picks: Sequence[PickRequest],
    *,
    duration: float,
    count: int,
    min_seconds: float,
    max_seconds: float,
    terms: Iterable[str] = (),
    energy: EnergyProfile | None = None,
    fillers: Iterable[str] = FILLERS,
    where: str = "episode file",
) -> list[ClipPlan]:
    """Producer picks first, then automatic highlights that do not overlap them; ids by time order."""
    terms = list(terms)
    chosen = picked_clips(
        transcript,
        picks,
        duration,
        where=where,
        terms=terms,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        energy=energy,
        fillers=fillers,
    )
    chosen += auto_clips(
        transcript,
        count=count,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        terms=terms,
        taken=[(c.start, c.end) for c in chosen],
        energy=energy,
        fillers=fillers,
    )
    chosen.sort(key=lambda c: (c.start, c.end))
    return with_stable_ids(chosen)


def clip_id(start: float) -> str:
    """A clip's id from where it starts in the master, to the tenth of a second: 102.34 s →
    "c01m42.3s". Adding, removing or dropping another clip never changes it."""
    tenths = round(start * 10)
    minutes, rest = divmod(tenths, 600)
    return f"c{minutes:02d}m{rest // 10:02d}.{rest % 10}s"


def with_stable_ids(clips: Sequence[ClipPlan]) -> list[ClipPlan]:
    """`clips` (in time order) with their `clip_id`; clips starting in the same tenth of a second
    (two picks from one instant) get "-2", "-3"… in order of their end."""
    seen: dict[str, int] = {}
    out = []
    for c in sorted(clips, key=lambda c: (c.start, c.end)):
        base = clip_id(c.start)
        seen[base] = seen.get(base, 0) + 1
        out.append(replace(c, id=base if seen[base] == 1 else f"{base}-{seen[base]}"))
    return out
