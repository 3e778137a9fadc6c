"""Loudness: the measuring pass and the two-pass loudnorm filter to a platform's target."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from touktouk.errors import MediaError
from touktouk.render.encode import STEREO, EncodeSettings
from touktouk.render.ffmpeg import input_path, run_ffmpeg


@dataclass(frozen=True)
class Loudness:
    """loudnorm's first-pass measurement of a stretch of sound (the values its second pass needs)."""

    input_i: float  # integrated loudness, LUFS
    input_tp: float  # true peak, dBTP
    input_lra: float  # loudness range, LU
    input_thresh: float  # gating threshold, LUFS
    target_offset: float

    @property
    def silent(self) -> bool:
        """Digital silence (or close to it): there is nothing to normalise."""
        return not math.isfinite(self.input_i) or self.input_i < -70.0


def measure_loudness(path: Path | str, start: float = 0.0, end: float | None = None) -> Loudness:
    """loudnorm's first pass over [start, end) of the sound, downmixed to stereo as the render will."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-ss", f"{start:.3f}"]
    if end is not None:
        cmd += ["-t", f"{end - start:.3f}"]
    cmd += ["-i", input_path(path), "-map", "0:a:0", "-af", f"{STEREO},loudnorm=print_format=json", "-f", "null", "-"]
    err = run_ffmpeg(cmd, f"{path}: measuring the loudness").stderr
    try:
        data = json.loads(err[err.rindex("{") : err.rindex("}") + 1])
        return Loudness(
            input_i=float(data["input_i"]),
            input_tp=float(data["input_tp"]),
            input_lra=float(data["input_lra"]),
            input_thresh=float(data["input_thresh"]),
            target_offset=float(data["target_offset"]),
        )
    except (ValueError, KeyError):
        raise MediaError(f"{path}: ffmpeg's loudness measurement printed no readable result.") from None


def normalises(measured: Loudness | None, e: EncodeSettings) -> bool:
    """Whether an output's sound gets loudnorm's second pass: it asks for a target and there is
    a measurement of something louder than digital silence."""
    return e.loudness is not None and measured is not None and not measured.silent


def loudnorm_filter(measured: Loudness, encode: EncodeSettings) -> str:
    """loudnorm's second pass (linear: one gain for the whole clip when the true peak allows it)."""
    m = measured
    return (
        f"loudnorm=I={encode.loudness:.1f}:TP={encode.true_peak:.1f}:LRA={encode.loudness_range:.1f}"
        f":measured_I={m.input_i:.2f}:measured_TP={m.input_tp:.2f}:measured_LRA={m.input_lra:.2f}"
        f":measured_thresh={m.input_thresh:.2f}:offset={m.target_offset:.2f}:linear=true:print_format=none"
    )
