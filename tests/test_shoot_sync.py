"""Sync by sound, the maths alone: real French speech (FLEURS, or espeak-ng without the shared
media) heard by a camera mic with bleed, echo and hiss, on a clock that drifts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from media_fixtures import SHOOT_RATE, camera_scratch, conversation
from touktouk.shoot.correlate import best_lag, fit_line, onset_envelope
from touktouk.shoot.sync import DRIFT_LIMIT_PPM, MIN_CONFIDENCE, SYNC_RATE, place

STEP = SHOOT_RATE // SYNC_RATE


def at_sync_rate(samples: np.ndarray) -> np.ndarray:
    """48 kHz to 8 kHz by averaging each six samples (a crude low-pass, enough for speech)."""
    n = len(samples) // STEP * STEP
    return samples[:n].reshape(-1, STEP).mean(axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def mics(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    host, guest, _ = conversation(Path(tmp_path_factory.mktemp("voices")))
    return host, guest


@pytest.mark.parametrize(
    ("offset", "drift_ppm"),
    [(-4.25, 145.0), (3.7, -145.0), (7.5, 60.0), (-2.0, 0.0), (0.8, 12.0)],
)
def test_a_camera_is_placed_within_10_ms_and_its_drift_within_10_ppm(mics, offset: float, drift_ppm: float) -> None:
    host, guest = mics
    seconds = (len(host) / SHOOT_RATE - max(offset, 0.0) + 1.0) * (1 + drift_ppm * 1e-6)
    scratch = camera_scratch(host, guest, offset, drift_ppm, seconds, seed=3)
    placed = place(at_sync_rate(host + guest), at_sync_rate(scratch))
    if placed.drift_corrected:  # else offset_s is the best constant: the line's value mid-file
        assert abs(placed.offset_s - offset) < 0.010
    assert abs(placed.drift_ppm - drift_ppm) < 10
    assert placed.confidence >= MIN_CONFIDENCE
    assert placed.drift_corrected == (abs(drift_ppm) > DRIFT_LIMIT_PPM)
    # Wherever the camera's sound plays, it lands within 10 ms of where it belongs on the timeline.
    for t in (0.0, seconds / 2, seconds):
        truth = offset + t / (1 + drift_ppm * 1e-6)
        assert abs(placed.timeline_time(t) - truth) < 0.010, t


def test_sound_from_another_recording_is_not_placed(mics) -> None:
    host, guest = mics
    rng = np.random.default_rng(5)
    hiss = (0.05 * rng.standard_normal(len(host))).astype(np.float32)
    assert place(at_sync_rate(host + guest), at_sync_rate(hiss)).confidence < MIN_CONFIDENCE
    # The guest's sentences (heard faintly by the host's mic) are not the host's: the host's mic alone
    # against the guest's voice alone, bleed removed.
    only_host = np.where(np.abs(host) > np.abs(guest), host, 0).astype(np.float32)
    only_guest = np.where(np.abs(guest) > np.abs(host), guest, 0).astype(np.float32)
    assert place(at_sync_rate(only_host), at_sync_rate(only_guest)).confidence < MIN_CONFIDENCE


def test_the_fine_search_finds_a_fraction_of_a_sample() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal(80_000)
    t = np.arange(len(base))
    shifted = np.interp(t - 1234.4, t, base).astype(np.float32)  # base delayed by 1234.4 samples
    peak = best_lag(shifted, base[5000:40000].astype(np.float32))
    assert abs(peak.lag - (1234.4 + 5000)) < 0.25  # a quarter sample: 31 µs at 8 kHz
    assert peak.score > 50


def test_the_envelope_ignores_level() -> None:
    rng = np.random.default_rng(1)
    bursts = (rng.standard_normal(SYNC_RATE * 4) * np.repeat(rng.random(40) > 0.5, SYNC_RATE // 10)).astype(np.float32)
    loud, quiet = onset_envelope(bursts, SYNC_RATE), onset_envelope(0.05 * bursts, SYNC_RATE)
    assert np.corrcoef(loud, quiet)[0, 1] > 0.99


def test_a_chunk_that_locked_on_an_echo_does_not_bend_the_drift_line() -> None:
    positions = np.arange(10) * 6.0
    offsets = -4.25 - 145e-6 * positions
    offsets[3] += 0.011  # an 11 ms reflection
    line = fit_line(positions, offsets)
    assert line.kept == 9
    assert abs(line.slope + 145e-6) < 1e-7
    assert abs(line.intercept + 4.25) < 1e-6
