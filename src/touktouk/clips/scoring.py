"""The highlight score of a candidate window: named components, each `weight * value`.

Pure functions over a word-timed transcript (plus, optionally, a per-second loudness track).
Candidates are windows of whole sentences whose length fits every selected platform
(`length_range`). Each gets a score with named components; a component's contribution is
`weight * value` with `value` in 0..1, and the score is the sum of the contributions, so the
breakdown a producer sees adds up to the score. The components are one table, `COMPONENTS`
(name, weight, label, strength, measure): the score, the reason line and the review page all read it.

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
| answer     | 0..1       | 0.15   | an answer after a question: by real turns, else a heuristic (below)  |
| length     | 0..1       | 0.05   | closeness to the middle of the allowed length range                  |
| fillers    | -0.25..0   | -0.05  | per French filler (« euh », « ben », « voilà », « du coup »…;        |
|            |            | each   | configurable), capped at -0.25                                       |

Question -> answer from real turns, when the words carry speakers (a shoot's mics, or
diarization): a *question* is a sentence ending in « ? »; its *answer* is the speech of other
speakers that follows it, starting within 3 s and running until the asker speaks again. The
component is 1 when the window opens with a question answered for at least 8 s inside the
window, 0.75 when the window opens on another speaker's answer to a question that ends at most
3 s before it, 0.5 when a question later in the window is answered for 8 s inside it, else 0: a
guest's rhetorical question, which the guest goes on answering, no longer counts.

Question -> answer heuristic, without speakers: an *answer* is the speech that follows a
question up to the next question. The
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

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from touktouk.clips.sentences import Sentence, norm_token, sentences
from touktouk.french import CONNECTIVES, FILLERS
from touktouk.types import Word

FILLER_PENALTY, FILLER_CAP = 0.05, 0.25
FULL_PACE = 2.5  # words per second for full marks
FULL_TOPIC_PER_30S = 3  # episode-vocabulary mentions per 30 s for full marks
LONG_SILENCE_S, SILENCE_PENALTY = 1.5, 0.15
ANSWER_MIN_S = 8.0  # speech after a question that counts as an answer
QUESTION_GAP_S = 3.0  # a window starting this soon after a question is its answer
OPENING_WORDS = (4, 25)


@dataclass(frozen=True)
class EnergyProfile:
    """Loudness per frame (dBFS, one value every `hop` seconds), as `clips.energy.rms_per_second` gives."""

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


def _answered_by_turns(sents: Sequence[Sentence], i: int, end: float) -> bool:
    """Question `i` answered by other speakers, from within 3 s, for 8 s inside the window."""
    asker, reply = sents[i].speaker, []
    for s in sents[i + 1 :]:
        if s.speaker == asker:
            break
        reply.append(s)
    if not reply or reply[0].start - sents[i].end > QUESTION_GAP_S:
        return False
    return min(reply[-1].end, end) - reply[0].start >= ANSWER_MIN_S


def _answered_by_text(sents: Sequence[Sentence], i: int, end: float) -> bool:
    """Question `i` followed by 8 s of speech before the next question (no speakers known)."""
    following = sents[i + 1 :]
    stop = next((s.start for s in following if s.is_question), end)
    return bool(following) and stop - sents[i].end >= ANSWER_MIN_S


def _answer(sents: Sequence[Sentence], end: float, previous: Sentence | None) -> float:
    """The question -> answer component: by real turns when the words carry speakers, else by text."""
    by_turns = any(w.speaker for s in sents for w in s.words)
    answered = _answered_by_turns if by_turns else _answered_by_text
    if sents and sents[0].is_question and answered(sents, 0, end):
        return 1.0
    if previous is not None and previous.is_question and sents:
        answers = sents[0].speaker != previous.speaker if by_turns else not sents[0].is_question
        if answers and sents[0].start - previous.end <= QUESTION_GAP_S:
            return 0.75
    if any(s.is_question and answered(sents, i, end) for i, s in enumerate(sents) if i > 0):
        return 0.5
    return 0.0


def _opening(first: Sentence, vocab: frozenset[str], fillers: frozenset[str]) -> float:
    tokens = [t for t in (norm_token(w.text) for w in first.words) if t]
    standalone = not _starts_with(tokens, CONNECTIVES | fillers)
    sized = OPENING_WORDS[0] <= len(first.words) <= OPENING_WORDS[1]
    last = first.words[-1].text
    hook = bool(re.search(r"[?!][»\"')\]]*$", last)) or any(c.isdigit() for t in tokens for c in t)
    hook = hook or _hits(tokens, vocab) > 0
    return (standalone + sized + hook) / 3


@dataclass(frozen=True)
class Window:
    """What the components read of one candidate window, computed once."""

    words: Sequence[Word]
    start: float
    end: float
    vocab: frozenset[str]
    min_s: float
    max_s: float
    previous: Sentence | None
    energy: EnergyProfile | None
    fillers: frozenset[str]
    duration: float
    tokens: list[str]
    sents: list[Sentence]


def _boundaries(w: Window) -> float:
    first_alpha = next((c for word in w.words[:1] for c in word.text if c.isalpha()), "")
    return 0.5 * (not first_alpha or first_alpha.isupper()) + 0.5 * bool(w.words and w.words[-1].ends_sentence)


def _density(w: Window) -> float:
    spoken = sum(word.end - word.start for word in w.words)
    long_pauses = sum(1 for a, b in itertools.pairwise(w.words) if b.start - a.end > LONG_SILENCE_S)
    return max(0.0, min(spoken / w.duration, 1.0) - SILENCE_PENALTY * long_pauses)


def _length(w: Window) -> float:
    middle = (w.min_s + w.max_s) / 2
    return max(0.0, 1.0 - abs(w.duration - middle) / (w.max_s - w.min_s)) if w.max_s > w.min_s else 1.0


@dataclass(frozen=True)
class Component:
    """One named part of the highlight score: `weight * measure(window)`, `measure` in 0..1.

    `label` names it on the review page; `strength` is how a clip's reason line praises it
    ("" when it never does)."""

    name: str
    weight: float
    label: str
    strength: str
    measure: Callable[[Window], float]


# The score, as data: one row per component (see the module docstring). Adding one is one row.
COMPONENTS: tuple[Component, ...] = (
    Component("boundaries", 0.10, "Whole sentences", "", _boundaries),
    Component(
        "opening", 0.15, "Strong first sentence", "strong first sentence",
        lambda w: _opening(w.sents[0], w.vocab, w.fillers) if w.sents else 0.0,
    ),
    Component(
        "topic", 0.20, "Episode vocabulary", "on the episode's cause and organisation",
        lambda w: min(_hits(w.tokens, w.vocab) * 30.0 / w.duration / FULL_TOPIC_PER_30S, 1.0),
    ),
    Component(
        "pace", 0.10, "Speech rate", "lively speaking pace", lambda w: min(len(w.words) / w.duration / FULL_PACE, 1.0)
    ),
    Component(
        "energy", 0.10, "Audio energy", "loud, lively delivery",
        lambda w: w.energy.level(w.start, w.end) if w.energy is not None else 0.5,
    ),
    Component("density", 0.15, "No long silences", "continuous speech", _density),
    Component(
        "answer", 0.15, "Question → answer", "a question then the guest's answer",
        lambda w: _answer(w.sents, w.end, w.previous),
    ),
    Component("length", 0.05, "Length fit", "", _length),
)  # fmt: skip
WEIGHTS: Mapping[str, float] = {c.name: c.weight for c in COMPONENTS}
FILLERS_LABEL = "Fillers (euh, ben, voilà…)"  # the penalty, after the components
LABELS: Mapping[str, str] = {**{c.name: c.label for c in COMPONENTS}, "fillers": FILLERS_LABEL}


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
    filler_set = frozenset(norm_token(f) for f in fillers)
    tokens = [norm_token(w.text) for w in words]
    window = Window(
        words, start, end, vocab, min_s, max_s, previous, energy, filler_set,
        max(end - start, 1e-6), tokens, sentences(words),
    )  # fmt: skip
    scored = {c.name: round(c.weight * c.measure(window), 4) for c in COMPONENTS}
    scored["fillers"] = -round(min(FILLER_CAP, FILLER_PENALTY * _count_phrases(tokens, filler_set)), 4) or 0.0
    return scored


def reason(parts: Mapping[str, float]) -> str:
    """One readable line: the two strongest components, then what counts against the clip.

    e.g. "Whole sentences: a question then the guest's answer; strong first sentence. Against: 2 filler(s)."
    """
    ranked = sorted(
        (k for k in WEIGHTS if parts.get(k, 0.0) >= 0.6 * WEIGHTS[k]),
        key=lambda k: (-parts[k] / WEIGHTS[k], -WEIGHTS[k], k),
    )
    strengths = {c.name: c.strength for c in COMPONENTS}
    strong = [strengths[k] for k in ranked if strengths[k]][:2]
    text = "Whole sentences" + (": " + "; ".join(strong) if strong else "") + "."
    against = []
    if parts.get("fillers"):
        against.append(f"{round(-parts['fillers'] / FILLER_PENALTY)} filler(s)")
    if parts.get("density", WEIGHTS["density"]) < 0.5 * WEIGHTS["density"]:
        against.append("long silences")
    if parts.get("boundaries", WEIGHTS["boundaries"]) < WEIGHTS["boundaries"]:
        against.append("may start or stop mid-sentence")
    return text + (f" Against: {', '.join(against)}." if against else "")
