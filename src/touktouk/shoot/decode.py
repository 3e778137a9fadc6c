"""Thin ffmpeg adapters: a source's sound as mono PCM samples for the sync maths."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from touktouk.config import Shoot
from touktouk.errors import MediaError
from touktouk.render.ffmpeg import input_path
from touktouk.shoot.correlate import Signal
from touktouk.shoot.sync import SYNC_RATE


def decode_mono(path: Path, rate: int = SYNC_RATE, *, what: str = "") -> Signal:
    """The first sound track of `path`, mixed to mono at `rate` Hz, float32 from its first sample
    (the stream's own start, so sample 0 is the first sample the source recorded)."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", input_path(path), "-map", "0:a:0", "-vn",
           "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(
            f"{path}: its sound could not be decoded for sync ({last[-1] if last else 'ffmpeg failed'})"
            f"{'; ' + what if what else ''}; check the file plays, or copy it again from the card."
        )
    return np.frombuffer(done.stdout, dtype=np.float32).copy()


def mix(tracks: Sequence[Signal]) -> Signal:
    """Tracks on one clock summed, the shorter ones padded with silence (the mics' mix)."""
    if not tracks:
        return np.zeros(0, dtype=np.float32)
    out = np.zeros(max(len(t) for t in tracks), dtype=np.float32)
    for t in tracks:
        out[: len(t)] += t
    return out


def decode_mics(shoot: Shoot, base: Path, rate: int) -> dict[str, Signal]:
    """Each mic of the shoot (paths relative to `base`) as mono samples at `rate` Hz, by speaker."""
    return {m.speaker: decode_mono(base / m.file, rate, what=f"the mic of speaker '{m.speaker}'") for m in shoot.mics}
