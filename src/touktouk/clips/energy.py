from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from touktouk.errors import MediaError

SILENCE_DB = -100.0  # floor for digital silence


def rms_db(samples: npt.NDArray[np.floating], rate: int, hop: float = 1.0) -> list[float]:
    """RMS level in dBFS of each `hop`-second frame of mono samples in -1..1 (last partial frame kept)."""
    size = max(1, round(rate * hop))
    out = []
    for first in range(0, len(samples), size):
        frame = samples[first : first + size].astype(np.float64)
        rms = float(np.sqrt(np.mean(frame * frame)))
        out.append(max(SILENCE_DB, 20.0 * float(np.log10(rms))) if rms > 0 else SILENCE_DB)
    return out


def rms_per_second(wav: Path, hop: float = 1.0) -> list[float]:
    """Loudness per `hop` seconds of a 16-bit PCM wav (mono, or channels averaged)."""
    try:
        with wave.open(str(wav), "rb") as f:
            if f.getsampwidth() != 2:
                raise MediaError(f"{wav}: expected 16-bit PCM audio; extract it with media.extract_audio.")
            rate, channels = f.getframerate(), f.getnchannels()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as exc:
        raise MediaError(f"{wav}: not a readable PCM wav file ({exc}); extract it again.") from None
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    return rms_db(samples, rate, hop)
