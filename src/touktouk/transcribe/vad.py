"""The audio read window by window: 16 kHz PCM, Silero VAD speech regions, bounded decoding windows.

Long audio is never read whole (2 h = 460 MB as float32, and both models' features of a whole
file take gigabytes), and windows are cut only between speech regions.
"""

from __future__ import annotations

import logging
import tempfile
import time
import wave
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from touktouk.progress import format_duration
from touktouk.runlog import run_logger

log = logging.getLogger(__name__)

# Silero VAD settings for both backends: faster-whisper's defaults, except that speech must last
# 250 ms (Silero's own default; faster-whisper uses 0). A 30 ms blip at the start of a music clip
# otherwise sends a padded window to the model, where openai-whisper beam 5 looped on
# "de l'invite" for 224 tokens (66 s) before giving up.
VAD_PARAMETERS: dict[str, Any] = {"min_speech_duration_ms": 250}

SAMPLE_RATE = 16000
VAD_CHUNK_SECONDS = 600.0  # audio given to Silero at once: 10 min = 38 MB of float32
MAX_SPEECH_SECONDS = 60.0  # Silero splits longer speech at its last pause of 100 ms or more

Region = tuple[float, float]


class PcmAudio:
    """A 16 kHz mono 16-bit WAV file read by time range (what `render.probe.extract_audio` writes)."""

    def __init__(self, path: Path) -> None:
        with wave.open(str(path), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
                raise wave.Error("not 16 kHz mono 16-bit PCM")
            self.frames = w.getnframes()
        self.path = path

    @property
    def duration(self) -> float:
        return self.frames / SAMPLE_RATE

    def read(self, start: float, end: float) -> np.ndarray:
        """Samples of [start, end) seconds as float32 in [-1, 1), like faster-whisper's decode_audio."""
        first = max(0, round(start * SAMPLE_RATE))
        last = min(self.frames, round(end * SAMPLE_RATE))
        with wave.open(str(self.path), "rb") as w:
            w.setpos(min(first, self.frames))
            raw = w.readframes(max(0, last - first))
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


@contextmanager
def open_pcm(audio: Path) -> Iterator[PcmAudio]:
    """`audio` as 16 kHz mono PCM: read in place when it already is, else converted by ffmpeg into
    a temporary WAV (streamed to disk, so memory does not grow with the length)."""
    try:
        pcm = PcmAudio(audio)
    except (wave.Error, EOFError):
        pass
    else:
        yield pcm
        return
    from touktouk.render.probe import extract_audio

    with tempfile.TemporaryDirectory(prefix="touktouk-pcm-") as tmp:
        yield PcmAudio(extract_audio(audio, Path(tmp) / "audio-16k.wav"))


def _vad_options(max_speech_seconds: float) -> Any:
    from faster_whisper.vad import VadOptions

    return VadOptions(**VAD_PARAMETERS, max_speech_duration_s=max_speech_seconds)


def pcm_speech_regions(pcm: PcmAudio, *, chunk_seconds: float = VAD_CHUNK_SECONDS) -> list[Region]:
    """Speech regions (seconds) found by Silero VAD (inside faster-whisper), `chunk_seconds` of
    audio at a time. Speech runs longer than a minute are split at a short pause (Silero's
    `max_speech_duration_s`; the parts touch, so the decoded audio is unchanged) to leave window
    cuts; a region cut by a chunk boundary is joined again."""
    from faster_whisper.vad import get_speech_timestamps

    options = _vad_options(MAX_SPEECH_SECONDS)
    join_gap = options.min_silence_duration_ms / 1000
    regions: list[Region] = []
    t = 0.0
    while t < pcm.duration:
        samples = pcm.read(t, t + chunk_seconds)
        for r in get_speech_timestamps(samples, options):
            a, b = t + r["start"] / SAMPLE_RATE, t + r["end"] / SAMPLE_RATE
            if regions and regions[-1][1] >= t - 1e-3 and a - t < join_gap:
                regions[-1] = (regions[-1][0], b)
            else:
                regions.append((a, b))
        t += chunk_seconds
    return regions


@dataclass(frozen=True)
class Window:
    """A stretch of audio decoded in one model call, and the speech regions inside it (seconds)."""

    start: float
    end: float
    speech: tuple[Region, ...]

    @property
    def speech_seconds(self) -> float:
        return sum(b - a for a, b in self.speech)


def plan_windows(regions: Sequence[Region], *, max_seconds: float, min_pause: float = 1.0) -> list[Window]:
    """Speech regions grouped into windows of at most `max_seconds` of audio, cut only between
    regions, at a pause of `min_pause` seconds or more when the second half of the window has one.
    A region longer than `max_seconds` (no VAD) is cut into pieces of `max_seconds`."""
    pieces: list[Region] = []
    for a, b in sorted(regions):
        while b - a > max_seconds:
            pieces.append((a, a + max_seconds))
            a += max_seconds
        if b > a:
            pieces.append((a, b))
    windows: list[Window] = []
    i, n = 0, len(pieces)
    while i < n:
        j = i + 1
        while j < n and pieces[j][1] - pieces[i][0] <= max_seconds:
            j += 1
        if j < n:  # a cut is needed: prefer the last real pause in the second half
            for k in range(j - 1, i, -1):
                if pieces[k - 1][1] - pieces[i][0] < max_seconds / 2:
                    break
                if pieces[k][0] - pieces[k - 1][1] >= min_pause:
                    j = k
                    break
        windows.append(Window(pieces[i][0], pieces[j - 1][1], tuple(pieces[i:j])))
        i = j
    return windows


def speech_before(t: float, regions: Sequence[Region]) -> float:
    """Seconds of speech in `regions` before the instant `t`."""
    return sum(max(0.0, min(b, t) - a) for a, b in regions)


def merge_regions(regions: Sequence[tuple[float, float]], *, gap: float = 2.0) -> list[tuple[float, float]]:
    """Speech regions closer than `gap` seconds joined, so openai-whisper decodes a few long clips
    rather than one 30 s window per short region."""
    merged: list[tuple[float, float]] = []
    for a, b in sorted(regions):
        if merged and a - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def clip_timestamps(regions: Sequence[tuple[float, float]], samples: int) -> list[float]:
    """openai-whisper's `clip_timestamps` for the speech regions of `samples` 16 kHz samples:
    merged, and clamped to the 10 ms frames that hold audio. A clip ending past the last frame
    (Silero's last region ends one sample after the file) makes openai-whisper 20250625 loop
    forever on an empty window (openai/whisper pull request 2005, not merged)."""
    last = samples // 160  # openai-whisper's content frames
    out: list[float] = []
    for a, b in merge_regions(regions):
        start, end = min(round(a * 100), last), min(round(b * 100), last)
        if end > start:
            out += [start / 100, end / 100]
    return out


def plan_audio(pcm: PcmAudio, *, vad: bool, max_seconds: float) -> tuple[list[Region] | None, list[Window]]:
    """The speech regions of `pcm` (None without VAD: all of it is decoded) and the windows that
    hold them."""
    if not vad:
        return None, plan_windows([(0.0, pcm.duration)], max_seconds=max_seconds)
    t0 = time.monotonic()
    speech = pcm_speech_regions(pcm)
    windows = plan_windows(speech, max_seconds=max_seconds)
    run_logger(log).info(
        "Voice activity: %s of speech in %s of audio, %d window(s) to decode (found in %.0f s)",
        format_duration(sum(w.speech_seconds for w in windows)),
        format_duration(pcm.duration),
        len(windows),
        time.monotonic() - t0,
    )
    return speech, windows
