"""Loudness measurement: ebur128's summary, the linear-mode rule and loudnorm's second pass with it
(real ffmpeg) on speech, 5.1 talking-head sound, loud and quiet synthetic sound."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from touktouk.render.encode import AAC_IN, STEREO, EncodeSettings
from touktouk.render.loudness import (
    EBUR128,
    Loudness,
    linear_applies,
    loudnorm_filter,
    loudnorm_pass,
    measure_ebur128,
    measure_loudness,
    measure_loudnorm,
    parse_ebur128,
    platform_targets,
)

MEDIA = Path("/work/shared/media")
SPEECH = MEDIA / "fleurs-fr-001.ogg"
TALK = MEDIA / "physicsworks.webm"  # 6-channel sound

pytestmark = pytest.mark.skipif(not SPEECH.exists() or not TALK.exists(), reason="shared media missing")


def _lavfi(path: Path, source: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:a", "flac", str(path)], check=True
    )
    return path


@pytest.fixture(scope="module")
def materials(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, float, float | None]]:
    d = tmp_path_factory.mktemp("loud")
    # loud: a tone over white noise near full scale, louder every other 2 s (so LRA is not 0)
    loud = (
        "sine=f=220:r=48000:d=20,volume=0.5[a];anoisesrc=r=48000:color=white:amplitude=0.45:d=20[b];"
        "[a][b]amix=normalize=0,volume='1-0.4*gt(mod(t,4),2)':eval=frame"
    )
    quiet = (
        "sine=f=330:r=48000:d=20,volume=0.01[a];anoisesrc=r=48000:color=pink:amplitude=0.004:d=20[b];"
        "[a][b]amix=normalize=0,volume='1-0.4*gt(mod(t,4),2)':eval=frame"
    )
    quiet_speech = f"amovie={SPEECH},volume=-30dB"
    return {
        "speech": (SPEECH, 0.0, None),
        "talking-head 5.1": (TALK, 60.0, 90.0),
        "loud synthetic": (_lavfi(d / "loud.flac", loud), 0.0, None),
        "quiet synthetic": (_lavfi(d / "quiet.flac", quiet), 0.0, None),
        "quiet speech": (_lavfi(d / "quiet_speech.flac", quiet_speech), 0.0, None),
    }


def _second_pass(src: Path, start: float, end: float | None, m: Loudness, e: EncodeSettings, out: Path) -> str:
    """loudnorm's second pass as graph.py builds it (downmix, loudnorm, AAC_IN), to float PCM;
    returns loudnorm's normalization_type."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", "-ss", f"{start:.3f}"]
    if end is not None:
        cmd += ["-t", f"{end - start:.3f}"]
    second = loudnorm_filter(m, e)
    af = f"{STEREO},{second.replace('print_format=none', 'print_format=json')},{AAC_IN}"
    cmd += ["-i", str(src), "-map", "0:a:0", "-af", af, "-c:a", "pcm_f32le", str(out)]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    if second.startswith("volume="):
        return "linear"  # loudnorm's linear gain, as a plain gain (test_the_linear_pass_is_loudnorms_gain)
    return str(json.loads(err[err.rindex("{") : err.rindex("}") + 1])["normalization_type"])


def test_parser_reads_ffmpegs_real_summary() -> None:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(SPEECH), "-af", f"{STEREO},{EBUR128}"]
    err = subprocess.run([*cmd, "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    assert "Summary:" in err and "True peak:" in err
    m = parse_ebur128(err)
    assert m is not None and m.method == "ebur128"
    ref = measure_loudnorm(SPEECH)
    assert abs(m.input_i - ref.input_i) <= 0.3
    assert abs(m.input_tp - ref.input_tp) <= 0.2
    assert abs(m.input_thresh - ref.input_thresh) <= 0.6
    assert m.input_lra > 0


def test_parser_silence_and_garbage(tmp_path: Path) -> None:
    silence = _lavfi(tmp_path / "s.flac", "anullsrc=r=48000:cl=stereo:d=3")
    m = measure_ebur128(silence)
    assert m is not None and m.silent
    assert measure_loudness(silence).silent
    assert parse_ebur128("no summary here") is None
    assert parse_ebur128("Summary:\n Integrated loudness:\n I: nan LUFS\n") is None


def test_linear_rule_matches_loudnorm() -> None:
    t = (-14.0, -1.5, 11.0)
    ok = Loudness(-23.5, -12.2, 4.6, -34.9, 0.0, "ebur128")
    assert linear_applies(ok, t)
    assert not linear_applies(Loudness(-14.8, 2.1, 5.1, -26.4, 0.0), t)  # true peak over after the gain
    assert not linear_applies(Loudness(-23.5, -12.2, 11.5, -34.9, 0.0), t)  # LRA over the target
    assert not linear_applies(Loudness(-23.5, -12.2, 0.0, -34.9, 0.0), t)  # LRA 0: loudnorm goes dynamic
    assert not linear_applies(Loudness(-14.0, -1.45, 4.0, -24.0, 0.0), t, tp_margin=0.1)
    assert linear_applies(Loudness(-14.0, -1.45, 4.0, -24.0, 0.0), (-14.0, -1.4, 11.0))


def _pcm(src: Path, af: str) -> np.ndarray:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-map", "0:a:0", "-af", af, "-f", "f32le", "pipe:1"]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, dtype=np.float32)


def test_the_linear_pass_is_loudnorms_gain(materials: dict[str, tuple[Path, float, float | None]]) -> None:
    """Where loudnorm would run linear, the second pass is a plain `volume` gain: the same samples
    as loudnorm's (to float rounding), without its 192 kHz resampling."""
    src = materials["speech"][0]
    m = measure_loudness(src)
    e = EncodeSettings(loudness=-23.0, true_peak=-1.0)
    assert linear_applies(m, (-23.0, -1.0, e.loudness_range)), m
    ours = loudnorm_filter(m, e)
    assert ours.startswith("volume=")
    a = _pcm(src, f"{STEREO},{loudnorm_pass(m, e)},{AAC_IN}")
    b = _pcm(src, f"{STEREO},{ours},{AAC_IN}")
    assert len(a) == len(b) and np.sqrt(np.mean((a - b) ** 2)) <= 1e-4 * np.sqrt(np.mean(a**2))
    # Where loudnorm would go dynamic (its limiter, its 3 s windows), loudnorm runs as before.
    loud = EncodeSettings(loudness=-5.0, true_peak=-1.0)
    assert not linear_applies(m, (-5.0, -1.0, loud.loudness_range))
    assert loudnorm_filter(m, loud) == loudnorm_pass(m, loud)


def test_every_platform_target_is_checked() -> None:
    assert (-14.0, -1.5, 11.0) in platform_targets()


@pytest.mark.parametrize("target", platform_targets())
@pytest.mark.parametrize("name", ["speech", "talking-head 5.1", "loud synthetic", "quiet synthetic", "quiet speech"])
def test_second_pass_lands_on_target(
    materials: dict[str, tuple[Path, float, float | None]],
    name: str,
    target: tuple[float, float, float],
    tmp_path: Path,
) -> None:
    src, start, end = materials[name]
    m = measure_loudness(src, start, end, targets=[target])
    e = EncodeSettings(loudness=target[0], true_peak=target[1], loudness_range=target[2])
    mode = _second_pass(src, start, end, m, e, tmp_path / "out.wav")
    # ebur128's figures are used only where loudnorm then runs linear; loudnorm's own otherwise
    if m.method == "ebur128":
        assert mode == "linear"
    out = measure_ebur128(tmp_path / "out.wav")
    assert out is not None
    # The fallback (loudnorm's own first pass, then its dynamic mode) is the measurement as it was
    # before; its limiter can leave it under the target by more than 0.5 LU on sound whose peaks
    # are far over the limit (the 5.1 talk: +2.1 dBTP at -14.8 LUFS lands at -14.7): 1 LU there.
    tolerance = 0.5 if m.method == "ebur128" else 1.0
    assert abs(out.input_i - target[0]) <= tolerance, (name, m, out)
    assert out.input_tp <= target[1], (name, m, out)
