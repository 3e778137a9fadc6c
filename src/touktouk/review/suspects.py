"""Suspect words: which transcript words a producer should check first, and why (pure, no I/O).

`flag_words` gives each word the tuple of reasons it is suspect (empty = fine), from the
transcript's words alone (text, timing, Whisper's probability, sentence starts) and the episode's
vocabulary:

- "low probability 0.42": Whisper's word probability below `threshold`, unless the word is part
  of a whole occurrence of a vocabulary term ("Caroline du Nord"): the vocabulary reaches Whisper
  as hotwords, which pull the spelling of those names in at a low probability ("Nord" 0.00,
  correct, on FLEURS fr 009);
- "name not in the episode's vocabulary": a name-like word (a capital not explained by the start
  of a sentence: "Limpic", "l'Usoc"; or odd casing: "USOC", "iPhone") whose words are not all in
  the vocabulary;
- "too short": a word timed under `TOO_SHORT_S` (Whisper's alignment found no sound for it);
- "too long": a word timed over `TOO_LONG_S` (a word stretched over something else).

The signals and the default threshold were chosen on the French FLEURS clips: see
`benchmarks/confidence.py` and docs/benchmarks.md ("Word confidence flags").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from touktouk.types import SENTENCE_END, Word

# The highest threshold of the benchmark's curve (0.30, 0.35 … 0.90) at which `flag_words` flags
# at most a quarter of the words on the French FLEURS clips, with and without an episode
# vocabulary (23 % and 22 % there, catching 48 % and 54 % of the wrong words; 0.55 flags 25.2 %).
DEFAULT_THRESHOLD = 0.5
# Shorter than this, a word has no sound of its own (Whisper times 1-2 % of words at 0 s). On
# FLEURS 3 of the 4 words under 50 ms were wrong; the shortest right ones last 40 ms.
TOO_SHORT_S = 0.05
# Longer than this, one word spans more than a word. No word reaches it in the benchmark: the
# longest FLEURS word lasts 0.96 s ("Malheureusement,", with the pause after it), the longest of
# the 418 words of the (English, spontaneous) lecture clip 1.32 s. A guard, unmeasured.
TOO_LONG_S = 1.5

LOW_PROBABILITY = "low probability"
NAME_NOT_IN_VOCABULARY = "name not in the episode's vocabulary"
TOO_SHORT = "too short"
TOO_LONG = "too long"

_ELISION = re.compile(r"^(?:jusqu|lorsqu|puisqu|quoiqu|qu|[ldjmnstc])'", re.IGNORECASE)
_LEADING = re.compile(r"^[^\w]+")
_TRAILING = re.compile(r"[^\w]+$")
_OPENING_QUOTES = ("«", "“", '"', "‹", "—", "–")
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")


def word_keys(text: str) -> tuple[str, ...]:
    """The words of `text` as they are compared with the vocabulary: no case, no accents, no
    elided article (l', d', qu'…), no punctuation; hyphens and apostrophes split ("États-Unis"
    -> ("etats", "unis"))."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    keys = []
    for part in re.split(r"[\s\-]+", text):
        part = _ELISION.sub("", _LEADING.sub("", part))
        keys += [k for k in re.split(r"[^\w]+", part) if k]
    return tuple(keys)


def vocabulary_terms(vocabulary: Iterable[str]) -> list[tuple[str, ...]]:
    """Each vocabulary string as a sequence of keys. A hashtag loses its '#' and is split at its
    inner capitals ("#EconomieSociale" -> ("economie", "sociale"))."""
    terms = []
    for item in vocabulary:
        item = item.strip()
        if item.startswith("#"):
            item = _CAMEL.sub(" ", item.lstrip("#"))
        keys = word_keys(item)
        if keys:
            terms.append(keys)
    return terms


def _core(text: str) -> tuple[str, bool]:
    """The word without surrounding punctuation or an elided article, and whether it had one."""
    core = _TRAILING.sub("", _LEADING.sub("", text.replace("’", "'")))
    bare = _ELISION.sub("", core)
    return bare, bare != core


def is_name_like(text: str, *, sentence_start: bool) -> bool:
    """Whether a word looks like a name: a capital that the start of a sentence does not explain
    ("Limpic" mid-sentence; "l'Usoc" anywhere), or a capital after the first letter ("USOC",
    "iPhone", "Jean-Pierre")."""
    core, elided = _core(text)
    letters = [ch for ch in core if ch.isalpha()]
    if not letters:
        return False
    if any(ch.isupper() for ch in letters[1:]):
        return True
    return letters[0].isupper() and (elided or not sentence_start)


def _starts_sentence(words: Sequence[Word], i: int) -> bool:
    return (
        i == 0
        or bool(SENTENCE_END.search(words[i - 1].text.strip()))
        or words[i].text.lstrip().startswith(_OPENING_QUOTES)
    )


def _in_terms(keys: Sequence[Sequence[str]], terms: Sequence[tuple[str, ...]]) -> set[int]:
    """Indexes of the words that lie inside a whole occurrence of a term (all its keys, in order,
    across word boundaries)."""
    flat = [(k, i) for i, ks in enumerate(keys) for k in ks]
    inside: set[int] = set()
    for term in terms:
        n = len(term)
        for at in range(len(flat) - n + 1):
            if all(flat[at + j][0] == term[j] for j in range(n)):
                inside.update(flat[at + j][1] for j in range(n))
    return inside


def flag_words(
    words: Sequence[Word],
    *,
    vocabulary: Iterable[str] = (),
    threshold: float = DEFAULT_THRESHOLD,
    too_short: float = TOO_SHORT_S,
    too_long: float = TOO_LONG_S,
) -> list[tuple[str, ...]]:
    """For each word, the reasons it is suspect (an empty tuple: nothing to check).

    `vocabulary` is the episode's guest, organisation, cause, hashtags and the series glossary's
    right-hand sides, as typed (several words each; case, accents and elisions do not matter).
    `words` are one transcript's words in order (sentence starts are read from the punctuation).
    """
    terms = vocabulary_terms(vocabulary)
    known = {k for term in terms for k in term}
    keys = [word_keys(w.text) for w in words]
    in_vocabulary = _in_terms(keys, terms)
    reasons: list[tuple[str, ...]] = []
    for i, w in enumerate(words):
        why: list[str] = []
        if w.probability < threshold and i not in in_vocabulary:
            why.append(f"{LOW_PROBABILITY} {w.probability:.2f}")
        if (
            is_name_like(w.text, sentence_start=_starts_sentence(words, i))
            and i not in in_vocabulary
            and not (keys[i] and all(k in known for k in keys[i]))
        ):
            why.append(NAME_NOT_IN_VOCABULARY)
        duration = round(w.end - w.start, 3)  # Whisper times words to 20 ms: no float noise at a limit
        if duration < too_short:
            why.append(TOO_SHORT)
        elif duration > too_long:
            why.append(TOO_LONG)
        reasons.append(tuple(why))
    return reasons
