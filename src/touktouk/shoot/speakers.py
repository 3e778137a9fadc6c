"""Who speaks when, from one microphone per person: pure maths on the mics' levels.

Every voice is heard on every mic (bleed), so a loud mic alone says nothing, and the mics' gains
differ. Levels are read per `FRAME_S` frame (RMS over two frames, in dB). Between two mics, the
level difference is then two-valued whatever the voices' loudness: the gain difference plus the
bleed while one person speaks, minus it while the other does. Each mic's gain against the first
is the midpoint of those two values (the 15th and 85th percentiles of the difference over frames
where someone speaks); with one value only (one person spoke, or the bleed is too low to see it),
the gains are taken as equal. On the levels so corrected, the speaker of a frame is the person
whose mic leads every other by `lead_db` while it is `floor_db` above its own noise floor (its 5th
percentile: the room between words). Hysteresis turns those frames into turns: a person takes the
turn after leading for `min_on_s`, and keeps it through pauses and unclear frames shorter than
`hold_s`. Words then take the speaker of the turn they overlap most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from touktouk.types import Segment, Transcript, Turn, Word

FRAME_S = 0.02
LEVEL_RATE = 8000  # Hz: the mics are read at this rate (levels per 20 ms need no more)
LEAD_DB = 6.0  # the speaker's mic is this much above every other, relative to each mic's own speech
FLOOR_DB = 12.0  # and its mic this much above its own noise floor
MIN_ON_S = 0.12
HOLD_S = 0.5
SPEECH_RANGE_DB = 30.0  # a voice is within this of the mic's speech level (its 95th percentile)
NEAREST_S = 1.0  # a word in no turn takes the nearest turn's speaker within this distance


def frame_levels(signal: np.ndarray, rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """RMS level in dB per frame of `frame_s`, each over that frame and the next (a 2-frame window)."""
    hop = max(1, round(rate * frame_s))
    n = len(signal) // hop
    if n == 0:
        return np.zeros(0)
    power = np.square(signal[: n * hop].astype(np.float64)).reshape(n, hop).mean(axis=1)
    window = (power + np.append(power[1:], power[-1])) / 2
    return 10 * np.log10(window + 1e-12)


def gain_offsets(
    stack: np.ndarray, floor: np.ndarray, floor_db: float = FLOOR_DB, lead_db: float = LEAD_DB
) -> np.ndarray:
    """Per mic, the dB to add so that its level compares with the first mic's (see the module
    docstring); 0 where the difference shows one value only."""
    offsets = np.zeros(len(stack))
    for i in range(1, len(stack)):
        someone = (stack[0] - floor[0] >= floor_db) | (stack[i] - floor[i] >= floor_db)
        if someone.sum() < 10:
            continue
        d = stack[0][someone] - stack[i][someone]
        low, high = np.percentile(d, 15), np.percentile(d, 85)
        if high - low >= 2 * lead_db:
            offsets[i] = (low + high) / 2
    return offsets


def leading_speaker(
    levels: Mapping[str, np.ndarray], *, lead_db: float = LEAD_DB, floor_db: float = FLOOR_DB
) -> list[str | None]:
    """Per frame, the speaker whose mic leads (or None: silence, or no mic leads by the margin)."""
    names = list(levels)
    if not names:
        return []
    n = min(len(v) for v in levels.values())
    stack = np.stack([np.asarray(levels[k][:n], dtype=np.float64) for k in names])
    floor = np.percentile(stack, 5, axis=1)
    active = stack - floor[:, None] >= floor_db
    corrected = stack + gain_offsets(stack, floor, floor_db, lead_db)[:, None]
    order = np.argsort(corrected, axis=0)
    best = order[-1]
    margin = (
        np.take_along_axis(corrected, order[-1:], 0)[0] - np.take_along_axis(corrected, order[-2:-1], 0)[0]
        if len(names) > 1
        else np.full(n, np.inf)
    )
    out: list[str | None] = []
    for i in range(n):
        b = int(best[i])
        out.append(names[b] if active[b, i] and margin[i] >= lead_db else None)
    return out


def turns_from_frames(
    frames: Sequence[str | None], frame_s: float = FRAME_S, *, min_on_s: float = MIN_ON_S, hold_s: float = HOLD_S
) -> list[Turn]:
    """Hysteresis: a speaker takes the turn after leading `min_on_s` in a row and keeps it through
    gaps (silence, unclear or brief other frames) shorter than `hold_s`; a turn ends at its
    speaker's last leading frame."""
    need, hold = max(1, round(min_on_s / frame_s)), max(1, round(hold_s / frame_s))
    turns: list[Turn] = []
    current: str | None = None
    start = last = 0
    run_who: str | None = None
    run_start = run_len = 0
    for i, who in enumerate(frames):
        if who is not None and who == run_who:
            run_len += 1
        else:
            run_who, run_start, run_len = who, i, 1 if who is not None else 0
        if who is not None and who == current:
            last = i
            continue
        if current is not None and i - last > hold:
            turns.append(Turn(start * frame_s, (last + 1) * frame_s, current))
            current = None
        if who is not None and run_len >= need:
            if current is not None:
                turns.append(Turn(start * frame_s, (last + 1) * frame_s, current))
            current, start, last = who, run_start, i
    if current is not None:
        turns.append(Turn(start * frame_s, (last + 1) * frame_s, current))
    return turns


def mic_turns(mics: Mapping[str, np.ndarray], rate: int) -> list[Turn]:
    """The turns of a conversation recorded on one mic per person (samples on one clock)."""
    return turns_from_frames(leading_speaker({k: frame_levels(v, rate) for k, v in mics.items()}))


def voiced_spans(
    mics: Mapping[str, np.ndarray],
    rate: int,
    *,
    floor_db: float = FLOOR_DB,
    range_db: float = SPEECH_RANGE_DB,
    frame_s: float = FRAME_S,
) -> list[tuple[float, float]]:
    """Where any mic hears a voice, as (start, end) seconds: its level `floor_db` above its own
    noise floor and within `range_db` of its speech (its 95th percentile), so a room's noise
    between phrases is no voice. The complement is where nobody speaks: the pauses a cut may land in."""
    levels = [frame_levels(v, rate, frame_s) for v in mics.values()]
    if not levels:
        return []
    n = min(len(v) for v in levels)
    stack = np.stack([v[:n] for v in levels])
    floor, loud = np.percentile(stack, 5, axis=1)[:, None], np.percentile(stack, 95, axis=1)[:, None]
    active = ((stack - floor >= floor_db) & (stack >= loud - range_db)).any(axis=0)
    spans: list[tuple[float, float]] = []
    start: int | None = None
    for i, on in enumerate(active):
        if on and start is None:
            start = i
        elif not on and start is not None:
            spans.append((start * frame_s, i * frame_s))
            start = None
    if start is not None:
        spans.append((start * frame_s, n * frame_s))
    return spans


def speaker_at(start: float, end: float, turns: Sequence[Turn]) -> str:
    """The speaker of the turn that overlaps [start, end] most, else of the nearest turn within
    `NEAREST_S`, else ""."""
    best, overlap = "", 0.0
    for t in turns:
        o = min(end, t.end) - max(start, t.start)
        if o > overlap:
            best, overlap = t.speaker, o
    if best:
        return best
    mid = (start + end) / 2
    near = min(turns, key=lambda t: abs(mid - min(max(mid, t.start), t.end)), default=None)
    if near is not None and abs(mid - min(max(mid, near.start), near.end)) <= NEAREST_S:
        return near.speaker
    return ""


def label_words(transcript: Transcript, turns: Sequence[Turn]) -> Transcript:
    """Every word with the speaker of its turn (words keep their timings and text)."""
    if not turns:
        return transcript

    def seg(s: Segment) -> Segment:
        return replace(s, words=tuple(_label(w, turns) for w in s.words))

    return replace(transcript, segments=tuple(seg(s) for s in transcript.segments))


def _label(w: Word, turns: Sequence[Turn]) -> Word:
    return replace(w, speaker=speaker_at(w.start, w.end, turns))


def words_per_speaker(transcript: Transcript) -> dict[str, int]:
    """How many words each speaker said (words with no speaker left out)."""
    counts: dict[str, int] = {}
    for w in transcript.words:
        if w.speaker:
            counts[w.speaker] = counts.get(w.speaker, 0) + 1
    return counts


def display_name(speaker: str, names: Mapping[str, str], guest: str = "") -> str:
    """The name the episode file gives a speaker ([speakers]), the guest's for "guest", else the id."""
    return names.get(speaker) or (guest if speaker == "guest" else "") or speaker


def speaker_summary(transcript: Transcript, names: Mapping[str, str], guest: str = "") -> dict[str, dict[str, Any]]:
    """The manifest's `transcript.speakers`: per speaker id, its display name and word count."""
    return {k: {"name": display_name(k, names, guest), "words": n} for k, n in words_per_speaker(transcript).items()}
