"""Loudness: the measuring pass and the two-pass loudnorm filter to a platform's target.

The measuring pass is ffmpeg's `ebur128` filter (`peak=true`): about a fifth of the CPU time of
loudnorm's own first pass, which resamples everything to 192 kHz and runs its dynamic normaliser
only to print its input statistics. ebur128 gives what loudnorm's second pass needs in linear mode
(one gain for the whole stretch): integrated loudness I, its gating threshold, the loudness range
LRA and the true peak. It gives no `target_offset`, which only the dynamic mode uses.

The rule (`linear_applies`, the test in ffmpeg's af_loudnorm.c `init()`): loudnorm's second pass is
linear when measured_TP != 99, measured_thresh != -70, measured_LRA != 0, measured_I != 0,
measured_LRA <= the target LRA and measured_TP + (target I - measured_I) <= the target TP; it
silently switches to its dynamic mode (3 s gain windows, a true-peak limiter, `offset` applied)
otherwise. ebur128's figures are accepted when that test passes for every target they will be used
with (by default every platform preset's: `platform_targets`) with `TP_MARGIN` to spare on the true
peak (its summary is rounded to 0.1 dB and its oversampled peak is not loudnorm's 192 kHz peak:
linear mode has no limiter, so a peak under-read would pass straight into the file). Otherwise, or
when its summary cannot be read, loudnorm's own first pass measures (`measure_loudnorm`), exactly
as before: the dynamic mode then gets the statistics and the `target_offset` it expects.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from touktouk.errors import MediaError
from touktouk.platforms import PLATFORMS
from touktouk.render.encode import STEREO, EncodeSettings
from touktouk.render.ffmpeg import input_path, run_ffmpeg

# framelog=verbose: the per-frame lines go to the verbose log level, out of stderr at ffmpeg's
# default level; the summary is printed at info level. (ffmpeg 5.1 has no framelog=quiet.)
EBUR128 = "ebur128=peak=true:framelog=verbose"
TP_MARGIN = 0.1  # dB kept under the true-peak limit when deciding linear mode from ebur128's figures

Target = tuple[float, float, float]  # (integrated LUFS, true peak dBTP, LRA LU), as loudnorm's I, TP, LRA


@dataclass(frozen=True)
class Loudness:
    """A measurement of a stretch of sound: the values loudnorm's second pass needs."""

    input_i: float  # integrated loudness, LUFS
    input_tp: float  # true peak, dBTP
    input_lra: float  # loudness range, LU
    input_thresh: float  # gating threshold, LUFS
    target_offset: float
    method: str = "loudnorm"  # which pass measured: "loudnorm" (its first pass) or "ebur128"

    @property
    def silent(self) -> bool:
        """Digital silence (or close to it): there is nothing to normalise."""
        return not math.isfinite(self.input_i) or self.input_i < -70.0


def platform_targets() -> tuple[Target, ...]:
    """Every distinct loudness target of the platform presets, with loudnorm's LRA target."""
    lra = EncodeSettings().loudness_range
    found = {(p.encode.loudness_lufs, p.encode.true_peak_db, lra) for p in PLATFORMS.values()}
    d = EncodeSettings()
    assert d.loudness is not None
    found.add((d.loudness, d.true_peak, lra))
    return tuple(sorted(found))


def linear_applies(m: Loudness, target: Target, tp_margin: float = 0.0) -> bool:
    """Whether loudnorm's second pass, given `m`, runs in linear mode (af_loudnorm.c `init()`),
    with `tp_margin` dB more to spare under the true-peak limit."""
    target_i, target_tp, target_lra = target
    if m.input_tp == 99 or m.input_thresh == -70 or m.input_lra == 0 or m.input_i == 0:
        return False
    if not all(math.isfinite(v) for v in (m.input_i, m.input_tp, m.input_lra, m.input_thresh)):
        return False
    return m.input_lra <= target_lra and m.input_tp + (target_i - m.input_i) <= target_tp - tp_margin


_SUMMARY = re.compile(
    r"Summary:\s*"
    r"Integrated loudness:\s*I:\s*(?P<i>\S+)\s*LUFS\s*Threshold:\s*(?P<thresh>\S+)\s*LUFS\s*"
    r"Loudness range:\s*LRA:\s*(?P<lra>\S+)\s*LU\s*.*?"
    r"True peak:\s*Peak:\s*(?P<tp>\S+)\s*dBFS",
    re.S,
)


def parse_ebur128(stderr: str) -> Loudness | None:
    """The last summary ffmpeg's ebur128 filter (peak=true) printed, or None when there is none
    that reads. Silence (I at ebur128's floor, -70) reads as I = -inf, as loudnorm prints it."""
    found = list(_SUMMARY.finditer(stderr))
    if not found:
        return None
    g = found[-1]
    try:
        i, thresh, lra, tp = (float(g[k]) for k in ("i", "thresh", "lra", "tp"))
    except ValueError:
        return None
    if math.isnan(i) or math.isnan(thresh) or math.isnan(lra) or math.isnan(tp):
        return None
    if i <= -70.0:
        i = -math.inf
    return Loudness(input_i=i, input_tp=tp, input_lra=lra, input_thresh=thresh, target_offset=0.0, method="ebur128")


def _measure_cmd(path: Path | str, start: float, end: float | None, af: str) -> list[str]:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-ss", f"{start:.3f}"]
    if end is not None:
        cmd += ["-t", f"{end - start:.3f}"]
    return [*cmd, "-i", input_path(path), "-map", "0:a:0", "-af", f"{STEREO},{af}", "-f", "null", "-"]


def measure_ebur128(path: Path | str, start: float = 0.0, end: float | None = None) -> Loudness | None:
    """ebur128's measurement of [start, end), downmixed to stereo as the render will; None when
    its summary cannot be read."""
    err = run_ffmpeg(_measure_cmd(path, start, end, EBUR128), f"{path}: measuring the loudness").stderr
    return parse_ebur128(err)


def measure_loudnorm(path: Path | str, start: float = 0.0, end: float | None = None) -> Loudness:
    """loudnorm's first pass over [start, end) of the sound, downmixed to stereo as the render will."""
    cmd = _measure_cmd(path, start, end, "loudnorm=print_format=json")
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


def measure_loudness(
    path: Path | str, start: float = 0.0, end: float | None = None, targets: Iterable[Target] | None = None
) -> Loudness:
    """The measurement of [start, end) for loudnorm's second pass towards `targets` (default:
    every platform preset's): ebur128's when it reads and gives linear mode for each target
    (module docstring), else loudnorm's own first pass."""
    try:
        m = measure_ebur128(path, start, end)
    except MediaError:
        m = None  # loudnorm's pass says what is wrong with the input, if anything is
    if m is not None:
        wanted = platform_targets() if targets is None else tuple(targets)
        if m.silent or all(linear_applies(m, t, TP_MARGIN) for t in wanted):
            return m
    return measure_loudnorm(path, start, end)


def normalises(measured: Loudness | None, e: EncodeSettings) -> bool:
    """Whether an output's sound gets loudnorm's second pass: it asks for a target and there is
    a measurement of something louder than digital silence."""
    return e.loudness is not None and measured is not None and not measured.silent


def loudnorm_filter(measured: Loudness, encode: EncodeSettings) -> str:
    """loudnorm's second pass (linear: one gain for the whole clip when the true peak allows it).

    In linear mode loudnorm multiplies every sample by one gain, target I - measured I (its
    `offset` is for the dynamic mode), and costs a 192 kHz resampling to do so: then this is the
    same gain as ffmpeg's `volume` filter, the same samples to within float rounding (relative
    difference 3e-8 on a FLEURS clip) at a fraction of the CPU time. Otherwise it is loudnorm's
    dynamic mode, as before."""
    m = measured
    assert encode.loudness is not None
    if linear_applies(m, (encode.loudness, encode.true_peak, encode.loudness_range)):
        return f"volume={encode.loudness - m.input_i:.3f}dB"
    return loudnorm_pass(m, encode)


def loudnorm_pass(measured: Loudness, encode: EncodeSettings) -> str:
    """loudnorm itself, given the measurement (linear or dynamic, as loudnorm decides)."""
    m = measured
    return (
        f"loudnorm=I={encode.loudness:.1f}:TP={encode.true_peak:.1f}:LRA={encode.loudness_range:.1f}"
        f":measured_I={m.input_i:.2f}:measured_TP={m.input_tp:.2f}:measured_LRA={m.input_lra:.2f}"
        f":measured_thresh={m.input_thresh:.2f}:offset={m.target_offset:.2f}:linear=true:print_format=none"
    )
