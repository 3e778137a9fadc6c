"""Choosing clips: producer picks (by timecode or by quote) and automatic, sentence-bounded highlights.

Pure functions over a word-timed transcript (plus, optionally, a per-second loudness track).
Candidates are windows of whole sentences whose length fits every selected platform
(`length_range`). Each gets a score with named components; a component's contribution is
`weight * value` with `value` in 0..1, and the score is the sum of the contributions, so the
breakdown a producer sees adds up to the score:

| name       | value      | weight | why                                                                  |
|------------|------------|--------|----------------------------------------------------------------------|
| boundaries | 0, .5, 1   | 0.10   | starts at a sentence start (capitalised first word) and ends at a    |
|            |            |        | sentence end (. ! ? …): a clip cut mid-thought looks like a mistake  |
| opening    | 0..1 (1/3) | 0.15   | a strong first sentence: does not lean on what came before (no « et  |
|            |            |        | », « mais », « donc », « alors »…), is 4-25 words long, and has a    |
|            |            |        | hook (? or !, a number, or episode vocabulary): viewers decide fast  |
| topic      | 0..1       | 0.20   | density of the episode's own vocabulary (guest, organisation, cause, |
|            |            |        | hashtags): full at 3 mentions per 30 s                               |
| pace       | 0..1       | 0.10   | speech rate in words per second, full from 2.5 w/s                   |
| energy     | 0..1       | 0.10   | mean loudness between the episode's 10th and 90th percentiles; 0.5   |
|            |            |        | for every window without a loudness track (no effect on ranking)     |
| density    | 0..1       | 0.15   | no long silences: share of the window actually spoken, minus 0.15    |
|            |            |        | per pause over 1.5 s                                                 |
| answer     | 0..1       | 0.15   | a guest answer after a host question (heuristic below)               |
| length     | 0..1       | 0.05   | closeness to the middle of the allowed length range                  |
| fillers    | -0.25..0   | -0.05  | per French filler (« euh », « ben », « voilà », « du coup »…;        |
|            |            | each   | configurable), capped at -0.25                                       |

Question -> answer heuristic (there is no speaker diarisation): a *question* is a sentence
ending in « ? »; an *answer* is the speech that follows it up to the next question. The
answer component is 1 when the window opens with a question followed by at least 8 s of
answer inside the window, 0.75 when the window is an answer whose question ends at most 3 s
before it (the clip starts on the guest's words), 0.5 when a question later in the window is
followed by at least 8 s of answer, else 0. In an interview show the host asks and the guest
answers at length, so a question followed by 8 s or more of non-question speech is very likely
a host question and a guest answer; a guest's rhetorical question is counted the same way.

Quote picks: the producer writes the words; they are found in the transcript by a fuzzy,
character-level match (see `find_quote`) and the clip is snapped to the enclosing sentences
with a little padding.

Everything is deterministic: the same transcript and settings give the same clips (ties go
to the earlier window).
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from touktouk.errors import ToukToukError
from touktouk.platforms import Platform
from touktouk.types import ClipPlan, Transcript, Word

FILLERS = frozenset({"euh", "heu", "hum", "ben", "bah", "hein", "voilà", "bref", "du coup"})
WEIGHTS: Mapping[str, float] = {
    "boundaries": 0.10,
    "opening": 0.15,
    "topic": 0.20,
    "pace": 0.10,
    "energy": 0.10,
    "density": 0.15,
    "answer": 0.15,
    "length": 0.05,
}
FILLER_PENALTY, FILLER_CAP = 0.05, 0.25
FULL_PACE = 2.5  # words per second for full marks
FULL_TOPIC_PER_30S = 3  # episode-vocabulary mentions per 30 s for full marks
LONG_SILENCE_S, SILENCE_PENALTY = 1.5, 0.15
ANSWER_MIN_S = 8.0  # speech after a question that counts as an answer
QUESTION_GAP_S = 3.0  # a window starting this soon after a question is its answer
OPENING_WORDS = (4, 25)
# Words that make a first sentence lean on what came before it.
CONNECTIVES = frozenset(
    {"et", "mais", "donc", "alors", "puis", "ou", "car", "sinon", "ensuite", "enfin", "bon", "oui", "non", "aussi"}
    | {"comme", "parce que", "en fait", "par contre", "en plus", "du coup", "c'est pour ça", "voilà"}
)
QUOTE_THRESHOLD = 0.80  # character-level similarity a quote needs (see find_quote)
QUOTE_PADDING_S = 0.3


class QuoteNotFoundError(ToukToukError):
    """A producer pick quotes words that are not in the transcript."""


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


@dataclass(frozen=True)
class PickRequest:
    """A producer pick: `start` and `end` (seconds), or a `quote` to find in the transcript."""

    start: float | None = None
    end: float | None = None
    title: str = ""
    quote: str = ""


@dataclass(frozen=True)
class EnergyProfile:
    """Loudness per frame (dBFS, one value every `hop` seconds), as `energy.rms_per_second` gives."""

    values: tuple[float, ...]
    hop: float = 1.0
    low: float = field(init=False)
    high: float = field(init=False)

    def __post_init__(self) -> None:
        ranked = sorted(self.values)
        low = ranked[int(0.1 * (len(ranked) - 1))] if ranked else 0.0
        high = ranked[int(0.9 * (len(ranked) - 1))] if ranked else 0.0
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def level(self, start: float, end: float) -> float:
        """Mean loudness of [start, end) scaled to 0..1 between the episode's 10th and 90th percentiles."""
        first = max(0, int(start / self.hop))
        last = min(len(self.values), max(first + 1, int(-(-end // self.hop))))
        frames = self.values[first:last]
        if not frames or self.high <= self.low:
            return 0.5
        mean = sum(frames) / len(frames)
        return min(1.0, max(0.0, (mean - self.low) / (self.high - self.low)))


def energy_profile(rms_db: Sequence[float], hop: float = 1.0) -> EnergyProfile:
    """The loudness track the energy component reads; `rms_db` holds one dBFS value per `hop` seconds."""
    return EnergyProfile(tuple(float(v) for v in rms_db), hop)


def _norm(token: str) -> str:
    token = unicodedata.normalize("NFC", token.lower()).replace("’", "'")
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


def length_range(min_seconds: float, max_seconds: float, platforms: Iterable[Platform]) -> tuple[float, float]:
    """The clip length range that fits the series settings and every selected platform.

    Falls back to the settings' range when the platforms leave no room (renders then warn).
    """
    low, high = min_seconds, max_seconds
    for p in platforms:
        low, high = max(low, p.min_duration), min(high, p.max_duration)
    return (low, high) if low < high else (min_seconds, max_seconds)


def _count_phrases(tokens: Sequence[str], phrases: frozenset[str]) -> int:
    """Occurrences of one- or several-word phrases in normalised tokens."""
    singles = {p for p in phrases if " " not in p}
    multi = [p.split() for p in phrases if " " in p]
    count = sum(t in singles for t in tokens)
    for parts in multi:
        n = len(parts)
        count += sum(list(tokens[i : i + n]) == parts for i in range(len(tokens) - n + 1))
    return count


def _starts_with(tokens: Sequence[str], phrases: frozenset[str]) -> bool:
    return any(list(tokens[: len(p.split())]) == p.split() for p in phrases)


def _hits(tokens: Sequence[str], vocab: frozenset[str]) -> int:
    return sum(1 for t in tokens for part in re.findall(r"\w+", t) if part in vocab)


def _answer(sents: Sequence[Sentence], end: float, previous: Sentence | None) -> float:
    def answered(i: int) -> bool:
        following = sents[i + 1 :]
        stop = next((s.start for s in following if s.is_question), end)
        return bool(following) and stop - sents[i].end >= ANSWER_MIN_S

    if sents and sents[0].is_question and answered(0):
        return 1.0
    if (
        previous is not None
        and previous.is_question
        and sents
        and not sents[0].is_question
        and sents[0].start - previous.end <= QUESTION_GAP_S
    ):
        return 0.75
    if any(s.is_question and answered(i) for i, s in enumerate(sents) if i > 0):
        return 0.5
    return 0.0


def _opening(first: Sentence, vocab: frozenset[str], fillers: frozenset[str]) -> float:
    tokens = [t for t in (_norm(w.text) for w in first.words) if t]
    standalone = not _starts_with(tokens, CONNECTIVES | fillers)
    sized = OPENING_WORDS[0] <= len(first.words) <= OPENING_WORDS[1]
    last = first.words[-1].text
    hook = bool(re.search(r"[?!][»\"')\]]*$", last)) or any(c.isdigit() for t in tokens for c in t)
    hook = hook or _hits(tokens, vocab) > 0
    return (standalone + sized + hook) / 3


def score_window(
    words: Sequence[Word],
    start: float,
    end: float,
    vocab: frozenset[str],
    min_s: float,
    max_s: float,
    *,
    previous: Sentence | None = None,
    energy: EnergyProfile | None = None,
    fillers: Iterable[str] = FILLERS,
) -> dict[str, float]:
    """Weighted components of one window (see the module docstring); their sum is its score.

    `previous` is the sentence just before the window (for the question -> answer component).
    """
    filler_set = frozenset(_norm(f) for f in fillers)
    duration = max(end - start, 1e-6)
    tokens = [_norm(w.text) for w in words]
    sents = sentences(words)
    spoken = sum(w.end - w.start for w in words)
    long_pauses = sum(1 for a, b in itertools.pairwise(words) if b.start - a.end > LONG_SILENCE_S)
    first_alpha = next((c for w in words[:1] for c in w.text if c.isalpha()), "")
    middle = (min_s + max_s) / 2
    values = {
        "boundaries": 0.5 * (not first_alpha or first_alpha.isupper()) + 0.5 * bool(words and words[-1].ends_sentence),
        "opening": _opening(sents[0], vocab, filler_set) if sents else 0.0,
        "topic": min(_hits(tokens, vocab) * 30.0 / duration / FULL_TOPIC_PER_30S, 1.0),
        "pace": min(len(words) / duration / FULL_PACE, 1.0),
        "energy": energy.level(start, end) if energy is not None else 0.5,
        "density": max(0.0, min(spoken / duration, 1.0) - SILENCE_PENALTY * long_pauses),
        "answer": _answer(sents, end, previous),
        "length": max(0.0, 1.0 - abs(duration - middle) / (max_s - min_s)) if max_s > min_s else 1.0,
    }
    scored = {k: round(WEIGHTS[k] * v, 4) for k, v in values.items()}
    scored["fillers"] = -round(min(FILLER_CAP, FILLER_PENALTY * _count_phrases(tokens, filler_set)), 4) or 0.0
    return scored


_STRENGTHS = {
    "boundaries": "whole sentences",
    "opening": "strong first sentence",
    "topic": "on the episode's cause and organisation",
    "pace": "lively speaking pace",
    "energy": "loud, lively delivery",
    "density": "continuous speech",
    "answer": "a question then the guest's answer",
    "length": "a length every platform takes",
}


def reason(parts: Mapping[str, float]) -> str:
    """One readable line: the two strongest components, then what counts against the clip.

    e.g. "Whole sentences: a question then the guest's answer; strong first sentence. Against: 2 filler(s)."
    """
    ranked = sorted(
        (k for k in WEIGHTS if parts.get(k, 0.0) >= 0.6 * WEIGHTS[k]),
        key=lambda k: (-parts[k] / WEIGHTS[k], -WEIGHTS[k], k),
    )
    strong = [_STRENGTHS[k] for k in ranked if k not in ("boundaries", "length")][:2]
    text = "Whole sentences" + (": " + "; ".join(strong) if strong else "") + "."
    against = []
    if parts.get("fillers"):
        against.append(f"{round(-parts['fillers'] / FILLER_PENALTY)} filler(s)")
    if parts.get("density", WEIGHTS["density"]) < 0.5 * WEIGHTS["density"]:
        against.append("long silences")
    if parts.get("boundaries", WEIGHTS["boundaries"]) < WEIGHTS["boundaries"]:
        against.append("may start or stop mid-sentence")
    return text + (f" Against: {', '.join(against)}." if against else "")


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


# --- quote picks ---------------------------------------------------------------------------


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
    return [replace(c, id=f"c{n:02d}") for n, c in enumerate(chosen, 1)]
