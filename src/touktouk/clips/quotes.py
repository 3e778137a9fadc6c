"""Quote picks: the producer's words found in the transcript by a fuzzy, character-level match."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from touktouk.errors import ToukToukError
from touktouk.types import Word

QUOTE_THRESHOLD = 0.80  # character-level similarity a quote needs (see find_quote)
QUOTE_PADDING_S = 0.3


class QuoteNotFoundError(ToukToukError):
    """A producer pick quotes words that are not in the transcript."""


def _fold(text: str) -> str:
    """Lower-case letters and digits only: accents, case, punctuation, apostrophes and spaces dropped."""
    text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe").replace("æ", "ae"))
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


@dataclass(frozen=True)
class QuoteMatch:
    first: int  # index of the first matched word
    last: int  # index of the last matched word (inclusive)
    ratio: float  # similarity 0..1
    occurrences: int  # separate places said with this same best ratio (> 1: the quote is ambiguous)


def find_quote(words: Sequence[Word], quote: str, threshold: float = QUOTE_THRESHOLD) -> QuoteMatch | None:
    """Where `quote` is said, or None when nothing is similar enough.

    Both sides are folded to lower-case letters and digits (accents, punctuation, elisions and
    spaces removed), so « l'économie » matches « leconomie » and « L’Économie ». Every run of
    n-2 .. n+2 consecutive words (n = words in the quote) is compared with difflib's
    SequenceMatcher ratio; the best run must reach `threshold` (0.80: a typo or two per
    sentence passes, a different sentence does not). When several runs share the best
    ratio the earliest wins and `occurrences` says how many there were.
    """
    target = _fold(quote)
    if not target:
        return None
    folded = [_fold(w.text) for w in words]
    n = max(1, len(quote.split()))
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    best: tuple[float, int, int] | None = None
    count, counted_end = 0, -1  # occurrences of the best ratio; where the last one counted ends
    for i in range(len(words)):
        if not folded[i]:
            continue  # a run never starts or ends on bare punctuation (« ? », « – »)
        for width in sorted(range(max(1, n - 2), n + 3), key=lambda w: (abs(w - n), w)):
            j = i + width - 1
            if j >= len(words) or not folded[j]:
                continue
            matcher.set_seq1("".join(folded[i : j + 1]))
            # Upper bounds first: most runs cannot reach the threshold or the best so far.
            bound = (max(threshold, best[0]) if best is not None else threshold) - 0.0005  # ratios are rounded
            if matcher.real_quick_ratio() < bound or matcher.quick_ratio() < bound:
                continue
            ratio = round(matcher.ratio(), 3)
            if ratio < threshold:
                continue
            if best is None or ratio > best[0]:
                best, count, counted_end = (ratio, i, j), 1, j
            elif ratio == best[0] and i > counted_end:
                count, counted_end = count + 1, j  # a separate occurrence: it starts after the last one ends
    if best is None:
        return None
    return QuoteMatch(best[1], best[2], best[0], count)


def snap_to_sentences(words: Sequence[Word], first: int, last: int) -> tuple[int, int]:
    """Widen a word span to the start of its first sentence and the end of its last one."""
    while first > 0 and not words[first - 1].ends_sentence:
        first -= 1
    while last < len(words) - 1 and not words[last].ends_sentence:
        last += 1
    return first, last


def quote_span(
    words: Sequence[Word], match: QuoteMatch, duration: float, padding: float = QUOTE_PADDING_S
) -> tuple[float, float]:
    """Clip bounds for a matched quote: whole sentences plus `padding`, never into a neighbour word."""
    first, last = snap_to_sentences(words, match.first, match.last)
    start = words[first].start - padding
    end = words[last].end + padding
    if first > 0:
        start = max(start, words[first - 1].end)
    if last < len(words) - 1:
        end = min(end, words[last + 1].start)
    return max(0.0, start), min(duration, max(end, words[last].end))
