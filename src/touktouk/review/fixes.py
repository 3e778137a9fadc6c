"""Word fixes applied to a transcript (pure): whole words, case-insensitive, several words on
either side; the replacement spans the timings of the words it replaces, keeps their outer
punctuation, and is marked certain (probability 1: a person said so)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from touktouk.config import WordFix
from touktouk.errors import ConfigError
from touktouk.types import Segment, Transcript, Word

_EDGE = re.compile(r"^([^\w]*)(.*?)([^\w]*)$", re.DOTALL)
AT_TOLERANCE_S = 2.0  # how far from `at` an occurrence may start or end and still be the one meant


def _key(token: str) -> str:
    """A word as fixes compare it: NFC, case-folded, without the punctuation around it."""
    core = _EDGE.match(unicodedata.normalize("NFC", token))
    return (core.group(2) if core else token).casefold()


def _spread(words: Sequence[Word], tokens: Sequence[str]) -> list[Word]:
    """`tokens` over the time span of `words`, each by its share of the characters."""
    start, end = words[0].start, words[-1].end
    lead = _EDGE.match(words[0].text)
    trail = _EDGE.match(words[-1].text)
    texts = list(tokens)
    texts[0] = (lead.group(1) if lead else "") + texts[0]
    texts[-1] = texts[-1] + (trail.group(3) if trail else "")
    weights = [len(t) + 1 for t in texts]
    total, out, at = sum(weights), [], start
    for text, weight in zip(texts, weights, strict=True):
        step = (end - start) * weight / total
        out.append(Word(round(at, 3), round(at + step, 3), text, 1.0))
        at += step
    out[-1] = replace(out[-1], end=end)
    return out


def _matches(words: Sequence[Word], wrong: Sequence[str]) -> list[int]:
    keys = [_key(w.text) for w in words]
    n = len(wrong)
    return [i for i in range(len(keys) - n + 1) if keys[i : i + n] == list(wrong)]


def apply_fixes(
    transcript: Transcript, fixes: Sequence[WordFix], *, required: Sequence[WordFix] = ()
) -> tuple[Transcript, dict[WordFix, int]]:
    """The transcript with every fix applied in order, and how many words each replaced. A fix
    in `required` that matches nothing is a ConfigError naming it (a typo the producer must see);
    others (the series glossary, stored decisions) may match nothing."""
    segments = list(transcript.segments)
    counts: dict[WordFix, int] = {}
    for fix in fixes:
        wrong = [_key(t) for t in fix.wrong.split()]
        right = fix.right.split()
        found = 0
        for si, seg in enumerate(segments):
            words = list(seg.words)
            hits = _matches(words, wrong)
            if fix.at is not None:
                at = fix.at
                hits = [
                    i
                    for i in hits
                    if words[i].start - AT_TOLERANCE_S <= at <= words[i + len(wrong) - 1].end + AT_TOLERANCE_S
                ]
            if not hits:
                continue
            out: list[Word] = []
            i = 0
            while i < len(words):
                if i in hits:
                    out += _spread(words[i : i + len(wrong)], right)
                    i += len(wrong)
                    found += 1
                else:
                    out.append(words[i])
                    i += 1
            segments[si] = Segment(seg.start, seg.end, " ".join(w.text for w in out), tuple(out))
        counts[fix] = found
        if found == 0 and fix in required:
            where = f" at {fix.at:g} s" if fix.at is not None else ""
            raise ConfigError(
                f"the fix {fix.wrong!r} → {fix.right!r} matches no words{where} in the transcript; "
                "check the spelling against the review page (whole words, any case)"
            )
    return replace(transcript, segments=tuple(segments)), counts
