from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from touktouk.clips.sentences import Sentence, sentences
from touktouk.french import FILLERS, NBSP, TITLE_LEADS
from touktouk.types import Transcript

MIN_EPISODE_S = 120.0
MIN_CHAPTERS, MAX_CHAPTERS = 3, 12
TARGET_CHAPTER_S = 180.0  # one chapter per ~3 minutes of episode
YOUTUBE_MIN_CHAPTER_S = 10.0
BLOCK_WORDS = 80  # words compared on each side of a candidate boundary
QUESTION_BONUS, PAUSE_BONUS_PER_S, PAUSE_CAP_S = 0.15, 0.05, 3.0
TITLE_CHARS = 50
_ASCII_SPACES = re.compile(r"[ \t\r\n]+")

FRENCH_STOPWORDS = frozenset(
    re.split(
        r"\s+",
        """
    a à ai aie ait al alors as au aucun aussi autre aux avait avant avec avez avoir avons ayant
    bah ben bien bon c ça car ce ceci cela celle celles celui ces cet cette ceux chaque chez ci
    comme comment d dans de des deux dit dites do donc dont du elle elles en encore est et étaient
    était été être eu euh eux faire fait fais faut font fut hein heu ici il ils j je jusqu l la là
    le les leur leurs lui m ma mais me même mes moi mon n ne ni non nos notre nous on ont ou où
    oui par parce pas peu peut plus pour pourquoi qu quand que quel quelle quelles quels qui quoi
    s sa sans se ses si sien son sont sous suis sur t ta te tes toi ton tous tout toute toutes
    très tu un une vos votre vous voilà y été étés étée étées avez-vous êtes-vous c'est qu'il
    cest quil aujourd aujourd'hui hui fois déjà beaucoup vraiment chose choses faire effet
    """.strip(),
    )
)


@dataclass(frozen=True)
class Chapter:
    start: float  # whole seconds
    title: str


@dataclass(frozen=True)
class Chapters:
    items: tuple[Chapter, ...]
    note: str  # how they were found, or why there are none

    def __bool__(self) -> bool:
        return bool(self.items)


def _content(text: str) -> list[str]:
    out = []
    for tok in re.findall(r"[\w'’-]+", text.lower().replace("’", "'")):
        tok = tok.split("'")[-1].strip("-")  # l'économie -> économie
        if len(tok) < 3 or tok in FRENCH_STOPWORDS or tok.isdigit():
            continue
        if len(tok) > 4 and tok[-1] in "sx":
            tok = tok[:-1]
        out.append(unicodedata.normalize("NFC", tok))
    return out


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def boundary_scores(sents: Sequence[Sentence], block_words: int = BLOCK_WORDS) -> list[float]:
    """A score per sentence start (index 0 gets 0): lexical-cohesion depth plus question and pause cues."""
    tokens = [[t for w in s.words for t in _content(w.text)] for s in sents]
    sizes = [len(s.words) for s in sents]
    sims = [0.0] * len(sents)
    for k in range(1, len(sents)):
        left: Counter[str] = Counter()
        n, i = 0, k - 1
        while i >= 0 and n < block_words:
            left.update(tokens[i])
            n, i = n + sizes[i], i - 1
        right: Counter[str] = Counter()
        n, i = 0, k
        while i < len(sents) and n < block_words:
            right.update(tokens[i])
            n, i = n + sizes[i], i + 1
        sims[k] = _cosine(left, right)
    scores = [0.0] * len(sents)
    for k in range(1, len(sents)):
        left_peak = max(sims[max(1, k - 5) : k + 1])
        right_peak = max(sims[k : k + 6])
        depth = (left_peak - sims[k]) + (right_peak - sims[k])
        pause = min(PAUSE_CAP_S, max(0.0, sents[k].start - sents[k - 1].end))
        scores[k] = depth + QUESTION_BONUS * sents[k].is_question + PAUSE_BONUS_PER_S * pause
    return scores


def _french_spacing(text: str) -> str:
    text = re.sub(r"\s*([?!:;])", NBSP + r"\1", text)
    text = re.sub(r"«\s*", "«" + NBSP, text)
    return re.sub(r"\s*»", NBSP + "»", text)


def chapter_title(
    sentence_texts: Sequence[str], limit: int = TITLE_CHARS, weights: Mapping[str, float] | None = None
) -> str:
    """A French title from a chapter's sentences.

    Among its first five sentences of four words or more: the first question (the host's), else
    the sentence richest in the chapter's distinctive words (`weights`: word -> tf-idf), else the first.
    """
    usable = [t for t in sentence_texts[:5] if len(t.split()) >= 4] or list(sentence_texts[:1])
    first = next((t for t in usable if t.rstrip(" »\"')").endswith("?")), None)
    if first is None and usable and weights:
        first = max(
            usable, key=lambda t: sum(weights.get(w, 0.0) for w in set(_content(t))) / math.sqrt(len(t.split()))
        )
    text = " ".join((first or (usable[0] if usable else "")).split())
    changed = True
    while changed:  # drop leading fillers and connectives: « Euh, alors, et donc… »
        changed = False
        low = text.lower()
        for lead in (*TITLE_LEADS, *(f + " " for f in FILLERS)):
            if low.startswith(lead) or low.startswith(lead.strip() + ","):
                text = text[len(lead.strip()) :].lstrip(" ,")
                changed = True
                break
    text = text[:1].upper() + text[1:]
    if len(text) > limit:
        cut = text[: limit - 1]
        if " " in cut:
            cut = cut[: cut.rfind(" ")]
        text = cut.rstrip(" ,;:–-") + "…"
    return _french_spacing(text)


def find_chapters(
    transcript: Transcript,
    *,
    min_episode_s: float = MIN_EPISODE_S,
    target_chapter_s: float = TARGET_CHAPTER_S,
) -> Chapters:
    """Chapters for the YouTube description, or none (with the reason) when the episode is too short."""
    duration = transcript.duration
    if duration < min_episode_s:
        return Chapters((), f"episode lasts {duration:.0f} s; chapters start from {min_episode_s:.0f} s")
    sents = sentences(transcript.words)
    if len(sents) < MIN_CHAPTERS:
        return Chapters((), f"only {len(sents)} sentence(s) in the transcript; chapters need at least {MIN_CHAPTERS}")
    count = min(MAX_CHAPTERS, max(MIN_CHAPTERS, round(duration / target_chapter_s)))
    scores = boundary_scores(sents)
    ranked = sorted(range(1, len(sents)), key=lambda k: (-round(scores[k], 6), k))
    # Chapters shorter than 40 % of the average length say little; never under YouTube's 10 s.
    for min_len in (max(YOUTUBE_MIN_CHAPTER_S, 0.4 * duration / count), YOUTUBE_MIN_CHAPTER_S):
        starts = [0]
        for k in ranked:
            if len(starts) >= count:
                break
            t = math.floor(sents[k].start)
            if duration - t >= min_len and all(abs(t - s) >= min_len for s in starts):
                starts.append(t)
        if len(starts) >= MIN_CHAPTERS:
            break
    else:
        return Chapters((), f"no {MIN_CHAPTERS} topic changes at least {YOUTUBE_MIN_CHAPTER_S:.0f} s apart")
    starts.sort()
    groups = []
    for n, t in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else math.inf
        groups.append([" ".join(w.text for w in s.words) for s in sents if t <= math.floor(s.start) < end])
    bags = [Counter(tok for text in g for tok in _content(text)) for g in groups]
    spread = Counter(tok for bag in bags for tok in bag)
    items = []
    for n, (t, texts, bag) in enumerate(zip(starts, groups, bags, strict=True)):
        weights = {tok: c * math.log(len(bags) / spread[tok]) for tok, c in bag.items()}
        items.append(Chapter(float(t), chapter_title(texts, weights=weights) or f"Partie {n + 1}"))
    return Chapters(tuple(items), f"{len(items)} chapters from lexical cohesion, questions and pauses")


def timestamp(seconds: float) -> str:
    """YouTube chapter timestamp: m:ss below an hour (so the first is 0:00), h:mm:ss from one hour."""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def format_chapters(chapters: Sequence[Chapter] | Chapters) -> str:
    """One `0:00 Titre` line per chapter, as YouTube reads them in a description."""
    items = chapters.items if isinstance(chapters, Chapters) else chapters
    # Collapse line breaks and runs of spaces, but keep the non-breaking spaces of French typography.
    return "\n".join(f"{timestamp(c.start)} {_ASCII_SPACES.sub(' ', c.title).strip()}" for c in items)
