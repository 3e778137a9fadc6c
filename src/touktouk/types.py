"""Value types shared by every stage: words, segments, transcripts, clip plans, time helpers.

Pure data, no I/O. Times are seconds (float) relative to the start of the episode master
unless a docstring says otherwise.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

SENTENCE_END = re.compile(r"[.!?…]+[»\"')\]]*$")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str = ""  # who said it: a mic's speaker name, or S1, S2… from diarization; "" unknown

    def to_dict(self) -> dict[str, Any]:
        """The word as JSON; `speaker` only when known (transcripts without speakers read as before)."""
        out = asdict(self)
        if not self.speaker:
            del out["speaker"]
        return out

    @property
    def ends_sentence(self) -> bool:
        return bool(SENTENCE_END.search(self.text))


@dataclass(frozen=True)
class Turn:
    """One person speaking from `start` to `end` (seconds): a mic's speaker name, or S1, S2…"""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Framing:
    """Who the picture shows from `start` to `end` (seconds in the footage), left to right: a
    multicam shot's camera `shows` (["host", "guest"] for a wide with the host on the left)."""

    start: float
    end: float
    shows: tuple[str, ...]


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    language: str
    duration: float
    segments: tuple[Segment, ...]
    model: str = ""
    backend: str = ""

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "duration": self.duration,
            "model": self.model,
            "backend": self.backend,
            "segments": [
                {
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "words": [w.to_dict() for w in s.words],
                }
                for s in self.segments
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            language=data["language"],
            duration=float(data["duration"]),
            model=data.get("model", ""),
            backend=data.get("backend", ""),
            segments=tuple(
                Segment(
                    start=float(s["start"]),
                    end=float(s["end"]),
                    text=s["text"],
                    words=tuple(Word(**w) for w in s["words"]),
                )
                for s in data["segments"]
            ),
        )

    def words_between(self, start: float, end: float) -> list[Word]:
        """Words whose midpoint lies inside [start, end)."""
        return [w for w in self.words if start <= (w.start + w.end) / 2 < end]


@dataclass(frozen=True)
class ClipPlan:
    """One clip to cut from the master: where, why, and how it scored."""

    id: str
    start: float
    end: float
    text: str
    title: str = ""
    source: str = "auto"  # "auto" or "pick"
    score: float = 0.0
    reason: str = ""
    score_parts: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def components(self) -> dict[str, float]:
        """The score breakdown (component name -> weighted contribution); the same dict as `score_parts`."""
        return self.score_parts


_TIMECODE = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:[.,]\d+)?)$")


def parse_timecode(value: str | float | int) -> float:
    """Parse `SS`, `MM:SS`, `HH:MM:SS` (decimals allowed, comma or dot) into seconds."""
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"negative time {value}")
        return float(value)
    m = _TIMECODE.match(value.strip())
    if not m:
        raise ValueError(f"'{value}' is not a timecode; write HH:MM:SS, MM:SS or seconds")
    a, b, c = m.groups()
    parts = [p for p in (a, b) if p is not None]
    secs = float(c.replace(",", "."))
    if parts and secs >= 60:
        raise ValueError(f"'{value}': seconds must be below 60")
    total = 0.0
    for p in parts:
        total = total * 60 + int(p)
    if len(parts) == 2 and int(parts[1]) >= 60:
        raise ValueError(f"'{value}': minutes must be below 60")
    return total * 60 + secs if parts else secs


def format_timecode(seconds: float, *, sep: str = ".", hours: bool = True) -> str:
    """Format seconds as HH:MM:SS.mmm (sep "," gives SRT style)."""
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    if hours or h:
        return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
    return f"{m:02d}:{s:02d}{sep}{ms:03d}"
