"""The correlation maths of sync by sound, pure numpy: no process, no file.

Two representations of one sound: an onset envelope at 100 Hz (the coarse search, over the whole
files: robust to a camera mic that hears the room rather than the lapel) and the samples
themselves (the fine search, in a window around the coarse answer, to a fraction of a sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Signal = npt.NDArray[np.float32]
ENVELOPE_RATE = 100  # Hz: 10 ms frames


@dataclass(frozen=True)
class Peak:
    """The best lag of a cross-correlation: `lag` in samples (fractional once refined), how far
    the peak stands above the rest of the curve (`score`, a standard score: the peak minus the
    mean, in standard deviations) and the normalised correlation at the peak."""

    lag: float
    score: float
    value: float


def onset_envelope(samples: Signal, rate: int, out_rate: int = ENVELOPE_RATE) -> Signal:
    """Where the sound gets louder, `out_rate` values a second: the positive steps of the log
    energy of each frame, centred. Level and timbre (a far camera mic, a lapel) hardly change it."""
    hop = rate // out_rate
    frames = len(samples) // hop
    if frames < 2:
        return np.zeros(max(frames, 0), dtype=np.float32)
    energy = np.square(samples[: frames * hop].astype(np.float64)).reshape(frames, hop).mean(axis=1)
    floor = max(float(np.percentile(energy, 10)), 1e-10)
    log = np.log(energy + floor)
    onsets = np.maximum(np.diff(log, prepend=log[0]), 0.0)
    return (onsets - onsets.mean()).astype(np.float32)


def _fft_size(n: int) -> int:
    return 1 << max(1, (n - 1).bit_length())


def cross_correlate(reference: Signal, source: Signal) -> npt.NDArray[np.float64]:
    """c[k] = sum_n reference[n + k] * source[n], for every lag k from -(len(source) - 1) to
    len(reference) - 1, returned in that order (index 0 is the most negative lag)."""
    n = len(reference) + len(source) - 1
    size = _fft_size(n)
    spectrum = np.fft.rfft(reference, size) * np.conj(np.fft.rfft(source, size))
    full = np.fft.irfft(spectrum, size)
    # Negative lags wrap to the end of the circular result.
    return np.concatenate([full[size - (len(source) - 1) :], full[: len(reference)]])


def _refine(curve: npt.NDArray[np.float64], i: int) -> float:
    """The peak of the parabola through curve[i-1], curve[i], curve[i+1], as an offset from i."""
    if i <= 0 or i >= len(curve) - 1:
        return 0.0
    a, b, c = curve[i - 1], curve[i], curve[i + 1]
    denom = a - 2 * b + c
    return 0.0 if denom >= 0 else float(0.5 * (a - c) / denom)


def best_lag(reference: Signal, source: Signal, *, min_lag: int | None = None, max_lag: int | None = None) -> Peak:
    """Where `source` sits in `reference` (reference[n + lag] ≈ source[n]), searched between
    `min_lag` and `max_lag` (samples, inclusive; default every lag with some overlap)."""
    if len(reference) == 0 or len(source) == 0:
        return Peak(0.0, 0.0, 0.0)
    curve = cross_correlate(reference, source)
    first = -(len(source) - 1)
    lo = first if min_lag is None else max(first, min_lag)
    hi = len(reference) - 1 if max_lag is None else min(len(reference) - 1, max_lag)
    if hi < lo:
        return Peak(0.0, 0.0, 0.0)
    window = curve[lo - first : hi - first + 1]
    i = int(np.argmax(window))
    spread = float(window.std())
    score = float((window[i] - window.mean()) / spread) if spread > 0 else 0.0
    norm = float(np.sqrt(np.dot(reference, reference) * np.dot(source, source)))
    value = float(window[i] / norm) if norm > 0 else 0.0
    return Peak(lo + i + _refine(window, i), score, value)


@dataclass(frozen=True)
class Line:
    """offset = intercept + slope * position, fitted through chunk offsets (seconds)."""

    intercept: float
    slope: float
    residual: float  # the largest distance of a kept point from the line, seconds
    kept: int


def fit_line(positions: npt.ArrayLike, offsets: npt.ArrayLike, *, tolerance: float = 0.002) -> Line:
    """A least-squares line through (position, offset) points, leaving out the points further than
    `tolerance` seconds (or three median deviations) from a first robust fit: a chunk that locked
    on an echo or on another sentence must not bend the line."""
    x = np.asarray(positions, dtype=np.float64)
    y = np.asarray(offsets, dtype=np.float64)
    if len(x) == 0:
        return Line(0.0, 0.0, 0.0, 0)
    if len(x) == 1 or np.ptp(x) == 0:
        return Line(float(np.median(y)), 0.0, float(np.max(np.abs(y - np.median(y)))), len(x))
    keep = np.ones(len(x), dtype=bool)
    for _ in range(3):
        slope, intercept = np.polyfit(x[keep], y[keep], 1) if keep.sum() >= 2 else (0.0, float(np.median(y)))
        res = np.abs(y - (intercept + slope * x))
        limit = max(tolerance, 3 * float(np.median(res[keep])))
        new = res <= limit
        if new.sum() < 2 or np.array_equal(new, keep):
            break
        keep = new
    slope, intercept = np.polyfit(x[keep], y[keep], 1)
    res = np.abs(y[keep] - (intercept + slope * x[keep]))
    return Line(float(intercept), float(slope), float(res.max()), int(keep.sum()))
