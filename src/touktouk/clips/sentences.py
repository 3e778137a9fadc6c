"""Sentences of a word-timed transcript, and the episode's own vocabulary."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from touktouk.types import Word


@dataclass(frozen=True)
class Sentence:
    words: tuple[Word, ...]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def is_question(self) -> bool:
        return bool(re.search(r"\?[»\"')\]]*$", self.words[-1].text))

    @property
    def speaker(self) -> str:
        """Who said most of its words ("" when the transcript knows no speakers)."""
        counts: dict[str, int] = {}
        for w in self.words:
            counts[w.speaker] = counts.get(w.speaker, 0) + 1
        return max(counts, key=counts.__getitem__) if counts else ""


def norm_token(token: str) -> str:
    token = unicodedata.normalize("NFC", token.lower()).replace("’", "'")
    return re.sub(r"^[\W_]+|[\W_]+$", "", token)


def sentences(words: Sequence[Word]) -> list[Sentence]:
    """Split words at sentence-ending punctuation, and where the speaker changes (when the words
    carry speakers: a turn ends a sentence even where the model put no full stop)."""
    out: list[Sentence] = []
    current: list[Word] = []
    for w in words:
        if current and w.speaker and current[-1].speaker and w.speaker != current[-1].speaker:
            out.append(Sentence(tuple(current)))
            current = []
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
