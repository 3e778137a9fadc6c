"""Placing one source on the timeline by its sound: pure numpy, from decoded samples.

The model: a source's clock runs `drift_ppm` millionths fast against the timeline's, so the sample
it records at its own time t plays on the timeline at offset_s + t / (1 + drift). Three passes:

1. coarse: the onset envelopes of the whole source and the whole reference (100 Hz) give a first
   offset and the confidence (how far the peak stands above the rest of the curve);
2. fine: chunks spread along the source, each cross-correlated sample by sample with the reference
   around the coarse answer, to a fraction of a sample;
3. drift: a line fitted through the chunks' offsets against their position in the source; its
   slope is the drift, corrected when it exceeds `DRIFT_LIMIT_PPM`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from touktouk.shoot.correlate import ENVELOPE_RATE, Signal, best_lag, fit_line, onset_envelope

SYNC_RATE = 8000  # Hz: the samples sync works on (speech up to 4 kHz; 0.125 ms a sample)
DRIFT_LIMIT_PPM = 20.0  # drift at or below this stays uncorrected: at most 36 ms at either end of a 1-hour file
MIN_CONFIDENCE = 8.0  # the coarse peak's standard score below which a source is refused
CHUNKS = 16  # fine chunks along the source (16 x 6 s: drift within 3 ppm on a 1-minute file, benchmarks/shoot.py)
CHUNK_SECONDS = 6.0  # short enough that 300 ppm smears a chunk's peak by under 2 ms
MIN_CHUNK_SCORE = 6.0  # a chunk whose fine peak stands lower is left out of the line (silence, noise)
MAX_DRIFT_PPM = 500.0  # the widest drift the fine search allows for around the coarse answer


@dataclass(frozen=True)
class Placement:
    """Where a source sits on the timeline (see the module's model)."""

    offset_s: float  # the timeline time at which the source's first sample plays (negative: it started earlier)
    drift_ppm: float  # measured; positive when the source's clock runs fast (its file runs long)
    confidence: float  # the coarse peak's standard score (0 when set by hand)
    drift_corrected: bool = False
    chunks: int = 0  # fine chunks that agreed on the line
    residual_ms: float = 0.0  # the largest distance of an agreeing chunk from the line

    @property
    def rate_factor(self) -> float:
        """Timeline seconds per source second."""
        return 1.0 / (1.0 + self.drift_ppm * 1e-6) if self.drift_corrected else 1.0

    def timeline_time(self, source_time: float) -> float:
        return self.offset_s + source_time * self.rate_factor


def _chunk_starts(length: int, chunk: int, overlap: tuple[int, int]) -> list[int]:
    """Chunk starts (source samples), evenly over the part of the source that overlaps the reference."""
    lo, hi = overlap
    if hi - lo < chunk:
        return [lo] if hi - lo > chunk // 4 else []
    return [int(s) for s in np.linspace(lo, hi - chunk, CHUNKS).round()]


def _energy_ok(samples: Signal) -> bool:
    return len(samples) > 0 and float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) > 1e-4


def _whiten(samples: Signal) -> Signal:
    """A first-order pre-emphasis: the low vowels' energy no longer dominates, so the peak is sharp."""
    out = np.empty_like(samples)
    out[0] = samples[0] if len(samples) else 0
    out[1:] = samples[1:] - 0.97 * samples[:-1]
    return out


def coarse_offset(reference: Signal, source: Signal, rate: int = SYNC_RATE) -> tuple[float, float]:
    """(offset in seconds, confidence) from the onset envelopes, every lag with at least
    min(10 s, a third of the shorter sound) of overlap considered."""
    ref_env, src_env = onset_envelope(reference, rate), onset_envelope(source, rate)
    need = int(min(10 * ENVELOPE_RATE, min(len(ref_env), len(src_env)) / 3))
    peak = best_lag(ref_env, src_env, min_lag=need - len(src_env), max_lag=len(ref_env) - need)
    return peak.lag / ENVELOPE_RATE, peak.score


def place(reference: Signal, source: Signal, rate: int = SYNC_RATE) -> Placement:
    """Place `source` (its samples from its first) on the timeline of `reference`."""
    first, confidence = coarse_offset(reference, source, rate)
    whiter_ref, whiter_src = _whiten(reference), _whiten(source)
    chunk = int(CHUNK_SECONDS * rate)
    lag0 = round(first * rate)
    overlap = (max(0, -lag0), min(len(source), len(reference) - lag0))
    margin = int((0.05 + MAX_DRIFT_PPM * 1e-6 * len(source) / rate) * rate)
    positions: list[float] = []
    offsets: list[float] = []
    for start in _chunk_starts(len(source), chunk, overlap):
        piece = whiter_src[start : start + chunk]
        if not _energy_ok(source[start : start + chunk]):
            continue
        w0 = max(0, start + lag0 - margin)
        window = whiter_ref[w0 : start + lag0 + len(piece) + margin]
        if len(window) < len(piece):
            continue
        peak = best_lag(window, piece, min_lag=0, max_lag=len(window) - len(piece))
        if peak.score < MIN_CHUNK_SCORE:
            continue
        positions.append((start + len(piece) / 2) / rate)
        offsets.append((w0 + peak.lag - start) / rate)
    if not offsets:
        return Placement(first, 0.0, confidence)
    line = fit_line(positions, offsets)
    slope = line.slope if line.kept >= 2 else 0.0
    drift = (1.0 / (1.0 + slope) - 1.0) * 1e6
    corrected = abs(drift) > DRIFT_LIMIT_PPM
    if corrected:
        offset = line.intercept
    else:  # the one offset that is best over the whole overlap: the line's value at its middle
        middle = (overlap[0] + overlap[1]) / 2 / rate
        offset = line.intercept + slope * middle
    return Placement(offset, drift, confidence, corrected, line.kept, line.residual * 1000)
