"""Choosing clips: producer picks by timecode and automatic, sentence-bounded highlights.

Pure functions over a word-timed transcript. The automatic score is deliberately simple and
documented so a producer can predict it:

    score = 0.40 * density   (share of the window actually spoken, long pauses lower it)
          + 0.25 * pace      (words per second, full marks from 2.5 w/s)
          + 0.25 * topic     (episode vocabulary: guest, organisation, cause, hashtags; full at 3 hits)
          + 0.10 * length    (closeness to the middle of the allowed length range)
          - 0.05 per French filler (« euh », « ben », « bah », « hein », « voilà »), at most -0.25
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from touktouk.timeline import ClipPlan, Transcript, Word

FILLERS = frozenset({"euh", "heu", "ben", "bah", "hein", "voilà", "bref"})
WEIGHTS = {"density": 0.40, "pace": 0.25, "topic": 0.25, "length": 0.10}
FILLER_PENALTY, FILLER_CAP = 0.05, 0.25
FULL_PACE, FULL_TOPIC = 2.5, 3


@dataclass(frozen=True)
class Sentence:
    words: tuple[Word, ...]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end


@dataclass(frozen=True)
class PickRequest:
    start: float
    end: float
    title: str = ""


def _norm(token: str) -> str:
    token = unicodedata.normalize("NFC", token.lower())
    return re.sub(r"^[\W_]+|[\W_]+$", "", token)


def sentences(words: Sequence[Word]) -> list[Sentence]:
    """Split words at sentence-ending punctuation."""
    out: list[Sentence] = []
    current: list[Word] = []
    for w in words:
        current.append(w)
        if w.ends_sentence:
            out.append(Sentence(tuple(current)))
            current = []
    if current:
        out.append(Sentence(tuple(current)))
    return out


def vocabulary(terms: Iterable[str]) -> frozenset[str]:
    """Significant words (4+ letters) of the episode's own terms."""
    vocab = set()
    for term in terms:
        term = unicodedata.normalize("NFC", term.lower().lstrip("#"))
        for tok in re.findall(r"\w+", term):
            if len(tok) >= 4:
                vocab.add(tok)
    return frozenset(vocab)


def score_window(
    words: Sequence[Word], start: float, end: float, vocab: frozenset[str], min_s: float, max_s: float
) -> dict[str, float]:
    duration = max(end - start, 1e-6)
    spoken = sum(w.end - w.start for w in words)
    tokens = [_norm(w.text) for w in words]
    fillers = sum(t in FILLERS for t in tokens)
    hits = sum(1 for t in tokens for part in re.findall(r"\w+", t) if part in vocab)
    middle = (min_s + max_s) / 2
    parts = {
        "density": min(spoken / duration, 1.0),
        "pace": min(len(words) / duration / FULL_PACE, 1.0),
        "topic": min(hits / FULL_TOPIC, 1.0),
        "length": max(0.0, 1.0 - abs(duration - middle) / (max_s - min_s)),
    }
    scored = {k: round(WEIGHTS[k] * v, 4) for k, v in parts.items()}
    scored["fillers"] = -round(min(FILLER_CAP, FILLER_PENALTY * fillers), 4)
    return scored


def _reason(parts: dict[str, float]) -> str:
    best = max(WEIGHTS, key=lambda k: parts[k] / WEIGHTS[k])
    label = {
        "density": "continuous speech with few pauses",
        "pace": "lively speaking pace",
        "topic": "talks about the episode's cause and organisation",
        "length": "fits the platforms' preferred length",
    }[best]
    note = f"; {round(-parts['fillers'] / FILLER_PENALTY)} filler(s)" if parts["fillers"] else ""
    return f"Whole sentences, {label}{note}."


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
) -> list[ClipPlan]:
    """Top `count` non-overlapping sentence-bounded windows of min..max seconds."""
    sents = sentences(transcript.words)
    vocab = vocabulary(terms)
    candidates: list[tuple[float, int, int, dict[str, float]]] = []
    for i in range(len(sents)):
        for j in range(i, len(sents)):
            start, end = sents[i].start, sents[j].end
            if end - start > max_seconds:
                break
            if end - start < min_seconds:
                continue
            words = [w for s in sents[i : j + 1] for w in s.words]
            parts = score_window(words, start, end, vocab, min_seconds, max_seconds)
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
                reason=_reason(parts),
                score_parts=parts,
            )
        )
    return chosen


def picked_clips(transcript: Transcript, picks: Sequence[PickRequest], duration: float) -> list[ClipPlan]:
    """Producer picks, clamped to the footage; callers validate that they start inside it."""
    plans = []
    for p in picks:
        end = min(p.end, duration)
        words = transcript.words_between(p.start, end)
        plans.append(
            ClipPlan(
                id="",
                start=p.start,
                end=end,
                text=_text(words),
                title=p.title,
                source="pick",
                reason="Chosen by the producer.",
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
) -> list[ClipPlan]:
    """Producer picks first, then automatic highlights that do not overlap them; ids by time order."""
    chosen = picked_clips(transcript, picks, duration)
    chosen += auto_clips(
        transcript,
        count=count,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        terms=terms,
        taken=[(c.start, c.end) for c in chosen],
    )
    chosen.sort(key=lambda c: (c.start, c.end))
    return [
        ClipPlan(
            id=f"c{n:02d}",
            start=c.start,
            end=c.end,
            text=c.text,
            title=c.title,
            source=c.source,
            score=c.score,
            reason=c.reason,
            score_parts=c.score_parts,
        )
        for n, c in enumerate(chosen, 1)
    ]
