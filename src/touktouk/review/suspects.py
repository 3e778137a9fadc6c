"""Suspect words: which transcript words a producer should check first, and why (pure, no I/O
beyond reading the French word list shipped with pyspellchecker, once).

`flag_words` gives each word the tuple of reasons it is suspect (empty = fine), from the
transcript's words alone (text, timing, Whisper's probability, sentence starts), the episode's
vocabulary and a French word list:

- "low probability 0.42": Whisper's word probability below `threshold`, unless the word is part
  of a whole occurrence of a vocabulary term ("Caroline du Nord"): the vocabulary reaches Whisper
  as hotwords, which pull the spelling of those names in at a low probability ("Nord" 0.00,
  correct, on FLEURS fr 009);
- "not a French word": a word (not name-like) absent from the French word list and from the
  vocabulary, with a probability under `NOT_FRENCH_BELOW`: Whisper's mis-hearings are often
  non-words it is fairly sure of ("créditation." 0.86, "sortitudes." 0.68, "tingue," 0.59);
- "name not in the episode's vocabulary": a name-like word (a capital not explained by the start
  of a sentence: "Limpic", "l'Usoc"; or odd casing: "USOC", "iPhone") that is neither a French
  word ("États-Unis", "l'État" are not flagged) nor made of vocabulary words;
- "too short": a word timed under `TOO_SHORT_S` (Whisper's alignment found no sound for it);
- "too long": a word timed over `TOO_LONG_S` (a word stretched over something else);
- "among misheard-looking words", only when `context_threshold` is given: a word under that
  probability next to a word flagged for a low probability, as not French, or as too short
  (errors come in runs). Off by default: on FLEURS it brings words that are wrong half the time,
  no better than raising `threshold`, and breaks the budget of a quarter of the words.

The signals and the default threshold were chosen on the French FLEURS clips: see
`benchmarks/confidence.py` and docs/benchmarks.md ("Word confidence flags").
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

from touktouk.types import SENTENCE_END, Word

# The highest threshold of the benchmark's curve (0.30, 0.35 … 0.90) at which `flag_words` flags
# at most a quarter of the words on the French FLEURS clips, with and without an episode
# vocabulary (24 % and 23 % there, catching 55 % and 61 % of the wrong words; 0.55: 26.5 % and 25.2 %).
DEFAULT_THRESHOLD = 0.5
# "Not a French word" only below this probability: a guard for the words the list lacks and
# Whisper writes confidently (anglicisms, brands). On FLEURS every such non-word was under 0.9
# (the highest, "créditation." 0.86) and every word at 0.9 or more was in the list.
NOT_FRENCH_BELOW = 0.9
# Shorter than this, a word has no sound of its own (Whisper times 1-2 % of words at 0 s). On
# FLEURS 3 of the 4 words under 50 ms were wrong; the shortest right ones last 40 ms.
TOO_SHORT_S = 0.05
# Longer than this, one word spans more than a word. No word reaches it in the benchmark: the
# longest FLEURS word lasts 0.96 s ("Malheureusement,", with the pause after it), the longest of
# the 418 words of the (English, spontaneous) lecture clip 1.32 s. A guard, unmeasured.
TOO_LONG_S = 1.5

LOW_PROBABILITY = "low probability"
NOT_FRENCH = "not a French word"
NAME_NOT_IN_VOCABULARY = "name not in the episode's vocabulary"
TOO_SHORT = "too short"
TOO_LONG = "too long"
AMONG_SUSPECTS = "among misheard-looking words"

# Spoken French and anglicisms of interviews that pyspellchecker's list (written French, 140,000
# words) lacks. Unmeasured (no spontaneous French audio here): a guard, with NOT_FRENCH_BELOW.
SPOKEN_WORDS = frozenset(
    (  # noqa: SIM905 (a list of words reads better as words)
        "ouais ouai ok okay ben bah hum mmh hmm mh euh heu bon ba waouh wow cool web internet email e-mail "
        "mail mails emails smartphone startup start newsletter podcast podcasts live stories story post "
        "posts like likes follower followers influenceur influenceuse influenceurs influenceuses youtube "
        "instagram facebook tiktok twitter linkedin covid bio recyclerie recycleries ressourcerie "
        "ressourceries crowdfunding"
    ).split()
)
# What an elision leaves before its apostrophe ("l'", "qu'", "-t-il").
_ELIDED_PIECES = frozenset(
    ["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu", "quelqu"]
)

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


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=1)
def french_lexicon() -> frozenset[str]:
    """The French words of pyspellchecker's frequency list (its wheel's `fr.json.gz`), without
    case or accents, plus `SPOKEN_WORDS`. Read once, on first use (a quarter of a second)."""
    data = (resources.files("spellchecker") / "resources" / "fr.json.gz").read_bytes()
    words = json.loads(gzip.decompress(data))
    return frozenset(_fold(w) for w in words) | SPOKEN_WORDS


def is_french_word(text: str) -> bool:
    """Whether a transcript word is in the French word list, punctuation and case aside: as a
    whole ("aujourd'hui", "peut-être"), or each of its hyphenated parts, after an elision
    ("l'école", "qu'à", "dit-il", "a-t-elle"). Words with digits, or no letters, count as French."""
    word = _TRAILING.sub("", _LEADING.sub("", _fold(text)))
    if not any(ch.isalpha() for ch in word) or any(ch.isdigit() for ch in word):
        return True
    lexicon = french_lexicon()

    def known(part: str) -> bool:
        return (
            part in lexicon
            or _ELISION.sub("", part) in lexicon
            or all(piece in lexicon or piece in _ELIDED_PIECES for piece in part.split("'") if piece)
        )

    return known(word) or all(known(part) for part in word.split("-") if part)


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
    context_threshold: float | None = None,
) -> list[tuple[str, ...]]:
    """For each word, the reasons it is suspect (an empty tuple: nothing to check).

    `vocabulary` is the episode's guest, organisation, cause, hashtags and the series glossary's
    right-hand sides, as typed (several words each; case, accents and elisions do not matter).
    `words` are one transcript's words in order (sentence starts are read from the punctuation).
    `context_threshold` (off by default): also flag a word under this probability whose neighbour
    is flagged for a low probability, as not French or as too short.
    """
    terms = vocabulary_terms(vocabulary)
    known = {k for term in terms for k in term}
    keys = [word_keys(w.text) for w in words]
    in_vocabulary = _in_terms(keys, terms)
    reasons: list[list[str]] = []
    for i, w in enumerate(words):
        why: list[str] = []
        outside = i not in in_vocabulary and not (keys[i] and all(k in known for k in keys[i]))
        if w.probability < threshold and i not in in_vocabulary:
            why.append(f"{LOW_PROBABILITY} {w.probability:.2f}")
        name_like = is_name_like(w.text, sentence_start=_starts_sentence(words, i))
        if outside and not name_like and w.probability < NOT_FRENCH_BELOW and not is_french_word(w.text):
            why.append(NOT_FRENCH)
        if outside and name_like and not is_french_word(w.text):
            why.append(NAME_NOT_IN_VOCABULARY)
        duration = round(w.end - w.start, 3)  # Whisper times words to 20 ms: no float noise at a limit
        if duration < too_short:
            why.append(TOO_SHORT)
        elif duration > too_long:
            why.append(TOO_LONG)
        reasons.append(why)
    if context_threshold is not None:
        primary = [any(r.startswith(LOW_PROBABILITY) or r in (NOT_FRENCH, TOO_SHORT) for r in why) for why in reasons]
        for i, w in enumerate(words):
            if (
                w.probability < context_threshold
                and i not in in_vocabulary
                and not any(r.startswith(LOW_PROBABILITY) for r in reasons[i])
                and any(primary[j] for j in (i - 1, i + 1) if 0 <= j < len(words))
            ):
                reasons[i].append(AMONG_SUSPECTS)
    return [tuple(why) for why in reasons]
