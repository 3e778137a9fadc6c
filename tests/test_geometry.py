"""Picture geometry and timing of the renders: anamorphic footage (non-square pixels) is widened to
square pixels before any crop or pad, an NTSC rate (30000/1001) is kept exact, and a variable
frame rate is told from the frame timestamps.

Real ffmpeg on small synthetic pictures: a 1440x1080 SAR 4:3 file (HDV, XDCAM) with a square
drawn on it as it is displayed, a 29.97 fps picture whose frames carry their number as a binary
code, phone-like variable-rate files. Budget: about 30 s on 2 busy cores.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from media_fixtures import ffmpeg
from touktouk.render.clip import render_clip
from touktouk.render.encode import EncodeSettings, OutputSpec
from touktouk.render.graph import clip_command, clip_fps, frame_filter, square_pixels_filter
from touktouk.render.master import master_copies_video, render_master
from touktouk.render.probe import (
    MediaInfo,
    display_width,
    parse_sar,
    probe,
    source_frame_rate,
    standard_rate,
    stream_summary,
    timestamps_vary,
)
from touktouk.render.stills import make_cover

FAST = EncodeSettings(preset="ultrafast", loudness=None)  # no loudness pass: only the picture is tested
NTSC = "30000/1001"


def video_stream(path: Path) -> dict[str, object]:
    return next(s for s in stream_summary(path)["streams"] if s["codec_type"] == "video")


def grey_frames(path: Path) -> np.ndarray:
    """Every decoded frame of the file as grey levels, shape (frames, height, width)."""
    v = video_stream(path)
    w, h = int(v["width"]), int(v["height"])  # type: ignore[call-overload]
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo",
         "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w)


def white_box(frame: np.ndarray) -> tuple[int, int]:
    """(width, height) in pixels of the bounding box of the white pixels (the drawn square)."""
    ys, xs = np.nonzero(frame > 200)
    assert len(xs), "no white box in the frame"
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def legacy_info(**changes: object) -> MediaInfo:
    """A MediaInfo built positionally as older callers do (no sar, no frame_rate)."""
    from dataclasses import replace

    base = MediaInfo("ep.mp4", "mov,mp4", 60.0, True, 1920, 1080, 25.0, False, 2, "aac", 0)
    return replace(base, **changes)


# --- pure parts -------------------------------------------------------------------------------


def test_sample_aspect_ratio_gives_the_displayed_width_in_square_pixels() -> None:
    assert parse_sar("4:3") == Fraction(4, 3)
    assert parse_sar("1:1") == parse_sar("0:1") == parse_sar("N/A") == parse_sar(None) == 1
    assert display_width(1440, Fraction(4, 3)) == 1920  # HDV / XDCAM 1080
    assert display_width(720, Fraction(16, 15)) == 768  # PAL DV 4:3
    assert display_width(720, Fraction(8, 9)) == 640  # NTSC DV 4:3
    assert display_width(321, Fraction(1)) == 321, "square pixels: the width as is, odd or not"
    assert display_width(1079, Fraction(4, 3)) % 2 == 0, "scaled widths are even (4:2:0)"
    info = legacy_info()
    assert (info.sar, info.display_width, info.sample_aspect) == ("1:1", 1920, 1), "older constructors keep working"


def test_anamorphic_footage_is_widened_before_the_crop_which_is_planned_in_display_pixels(tmp_path: Path) -> None:
    hdv = legacy_info(width=1440, sar="4:3", square_pixels=False)
    assert square_pixels_filter(hdv) == "scale=1920:1080,setsar=1"
    assert square_pixels_filter(legacy_info()) == "setsar=1"
    args = clip_command(hdv, 0.0, 2.0, [OutputSpec(tmp_path / "v.mp4", 1080, 1920)], encode=FAST)
    graph = args[args.index("-filter_complex") + 1]
    # The 9:16 window of a 1920-wide display is 608 wide, centred at 656 (not 608 of 1440 stored pixels).
    want = "[0:v]fps=25,scale=1920:1080,setsar=1[b0];[b0]" + frame_filter(1920, 1080, 1080, 1920)
    assert graph.startswith(want), graph
    assert "crop=w=608:h=1080:x=656:y=0" in graph
    assert not master_copies_video(hdv, EncodeSettings()), "a 1440x1080 picture is never the master's"


@pytest.mark.parametrize(
    ("r", "avg", "variable", "rate"),
    [
        (NTSC, NTSC, False, NTSC),
        ("24000/1001", "24000/1001", False, "24000/1001"),
        ("60000/1001", "60000/1001", False, "60000/1001"),
        ("30000/1001", "2997/100", False, NTSC),  # an average rounded by the muxer snaps back
        ("25/1", "25/1", False, "25"),
        ("25/2", "25/2", False, "25/2"),
        ("30/1", "120000/4003", True, "30"),  # a jittering phone clock: its base rate
        ("30/1", "20/1", True, "20"),  # frames dropped: the average, as before
        ("90000/1", "29883/1000", True, "30"),  # r_frame_rate the time base: the average, rounded
        ("0/0", "0/0", False, ""),
    ],
)
def test_the_source_frame_rate_is_kept_exact(r: str, avg: str, variable: bool, rate: str) -> None:
    assert source_frame_rate(r, avg, variable) == rate


def test_ntsc_rates_stay_ntsc_and_are_capped_in_the_source_clock() -> None:
    assert standard_rate(29.97) == standard_rate(29.970029) == Fraction(30000, 1001)
    assert standard_rate(23.976) == Fraction(24000, 1001) and standard_rate(30.0) == 30
    assert standard_rate(27.3) is None
    cap30, cap60 = [FAST], [EncodeSettings(max_fps=60)]
    assert clip_fps(legacy_info(frame_rate=NTSC), cap30) == Fraction(30000, 1001), "not rounded to 30"
    assert clip_fps(legacy_info(frame_rate="24000/1001"), cap30) == Fraction(24000, 1001), "not rounded to 24"
    assert clip_fps(legacy_info(frame_rate="60000/1001"), cap30) == Fraction(30000, 1001), "every other frame"
    assert clip_fps(legacy_info(frame_rate="60000/1001"), cap60) == Fraction(60000, 1001)
    assert clip_fps(legacy_info(frame_rate="50"), cap30) == 30
    assert clip_fps(legacy_info(frame_rate="25"), cap30) == 25
    assert clip_fps(legacy_info(fps=29.97002997), cap30) == Fraction(30000, 1001), "from fps when not probed"
    assert clip_fps(legacy_info(has_video=False, width=0, height=0), cap60) == 30


def test_frame_timestamps_tell_a_variable_rate_beyond_the_time_base_rounding() -> None:
    tps = Fraction(90000)
    assert timestamps_vary([3003 * n for n in range(300)], tps) is False
    # Matroska's millisecond time base rounds 29.97 fps to 33 or 34 ms: constant all the same.
    assert timestamps_vary([round(n * 1001 / 30) for n in range(300)], Fraction(1000)) is False
    assert timestamps_vary([3000 * n + (n % 3) * 90 for n in range(300)], tps) is True, "a jittering clock"
    dropped = [3000 * n for n in range(300) if n % 90 != 89]  # a frame dropped every 3 s
    assert timestamps_vary(dropped, tps) is True
    spliced = [3000 * n for n in range(150)] + [3000 * n + 1500 for n in range(150, 300)]
    assert timestamps_vary(spliced, tps) is False, "one odd interval is a splice, not a variable rate"
    windows = [3000 * n for n in range(300)] + [90000 * 300 + 3000 * n for n in range(300)]
    assert timestamps_vary(windows, tps) is False, "the jump between the sampled windows is no frame"
    overlapping = [3000 * n for n in range(300)] + [3000 * n for n in range(250, 400)]
    assert timestamps_vary(overlapping, tps) is False, "windows that overlap: frames read twice count once"
    assert timestamps_vary([0, 3000, 6000], tps) is None
    assert timestamps_vary(list(reversed(dropped)), tps) is True, "decode order (B-frames) is sorted first"


# --- anamorphic footage -----------------------------------------------------------------------

# Displayed 1920x1080 (16:9), stored 1440x1080 with 4:3 pixels: a 240x240 square on display is
# stored 180 wide, centred (display x 840-1080, stored 630-810), white on grey.
SQUARE = 240


@pytest.fixture(scope="module")
def anamorphic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hdv") / "hdv.mp4"
    stored_w = SQUARE * 3 // 4
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=gray:s=1440x1080:r=25,drawbox=x={720 - stored_w // 2}:y={540 - SQUARE // 2}"
        f":w={stored_w}:h={SQUARE}:c=white:t=fill,setsar=4/3",
        "-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", "1.2", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", "-c:a", "aac", str(out),
    )  # fmt: skip
    assert video_stream(out)["sample_aspect_ratio"] == "4:3"
    return out


def test_anamorphic_footage_is_probed_with_its_pixel_shape(anamorphic: Path, tmp_path: Path) -> None:
    info = probe(anamorphic)
    assert (info.width, info.height, info.sar, info.display_width) == (1440, 1080, "4:3", 1920)
    assert not info.square_pixels
    turned = tmp_path / "turned.mp4"
    ffmpeg("-i", str(anamorphic), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(turned))
    upright = probe(turned)  # displayed 1080x1440 with 3:4 pixels, as ffmpeg's autorotate gives it
    assert (upright.width, upright.height, upright.sar, upright.display_width) == (1080, 1440, "3:4", 810)


@pytest.mark.slow
@pytest.mark.parametrize(("width", "height"), [(540, 960), (540, 540), (960, 540)])
def test_a_square_stays_square_in_every_clip_from_anamorphic_footage(
    anamorphic: Path, tmp_path: Path, width: int, height: int
) -> None:
    out = tmp_path / "clip.mp4"
    render_clip(probe(anamorphic), 0.2, 1.0, [OutputSpec(out, width, height)], encode=FAST)
    v = video_stream(out)
    assert (v["width"], v["height"], v.get("sample_aspect_ratio", "1:1")) == (width, height, "1:1")
    w, h = white_box(grey_frames(out)[5])
    assert abs(w / h - 1) < 0.02, f"the square is {w}x{h} in the {width}x{height} clip"
    assert abs(h - SQUARE * height / 1080) <= 3, "the picture's full height is kept"


@pytest.mark.slow
def test_a_square_stays_square_in_a_clip_of_turned_anamorphic_footage(anamorphic: Path, tmp_path: Path) -> None:
    turned, out = tmp_path / "turned.mp4", tmp_path / "clip.mp4"
    ffmpeg("-i", str(anamorphic), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(turned))
    render_clip(probe(turned), 0.2, 1.0, [OutputSpec(out, 540, 960)], encode=FAST)
    w, h = white_box(grey_frames(out)[5])
    assert abs(w / h - 1) < 0.02, f"the square is {w}x{h}"


@pytest.mark.slow
def test_the_master_of_anamorphic_footage_fills_16_9_with_the_square_square(anamorphic: Path, tmp_path: Path) -> None:
    out = tmp_path / "master.mp4"
    render_master(probe(anamorphic), out, encode=FAST)
    frame = grey_frames(out)[5]
    assert frame.shape == (1080, 1920)
    w, h = white_box(frame)
    assert abs(w / h - 1) < 0.02 and abs(h - SQUARE) <= 3, f"the square is {w}x{h} in the master"
    # 16:9 on display fills the 16:9 master: grey to the edges, no pillarbox.
    assert 100 < frame[540, 5:200].mean() < 160, "black bars: the picture was fitted as 4:3"


@pytest.mark.slow
def test_the_cover_of_anamorphic_footage_keeps_the_square_square(anamorphic: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "cover.jpg"
    make_cover(probe(anamorphic), out, title="", around=0.6, width=540, height=960, candidates=1, spread=0.0)
    with Image.open(out) as img:
        grey = np.asarray(img.convert("L"))
    w, _ = white_box(grey[: 960 * 2 // 5])  # above the title's shade
    # Cropped to 9:16 from a 1080-high picture scaled to 960: the square is 213 pixels (cut at the shade).
    assert abs(w - SQUARE * 960 / 1080) <= 4, f"the square is {w} wide in the cover"


# --- frame rates ------------------------------------------------------------------------------

BITS, BIT_W = 11, 32  # each frame shows its number in binary: 11 black/white blocks, 32 px wide


@pytest.fixture(scope="module")
def counted_ntsc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 s at 30000/1001 fps, 352x64, each frame's number drawn as a binary code."""
    out = tmp_path_factory.mktemp("ntsc") / "ntsc.mp4"
    code = f"255*mod(floor(N/pow(2\\,floor(X/{BIT_W})))\\,2)"
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=black:s={BITS * BIT_W}x64:r={NTSC},geq=lum='{code}':cb=128:cr=128",
        "-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", "36", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


def frame_numbers(path: Path) -> np.ndarray:
    frames = grey_frames(path)
    bits = frames[:, 32, BIT_W // 2 :: BIT_W][:, :BITS] > 128
    return (bits * (1 << np.arange(BITS))).sum(axis=1)


@pytest.mark.slow
def test_a_29_97_clip_stays_30000_1001_with_no_frame_repeated_or_lost(counted_ntsc: Path, tmp_path: Path) -> None:
    info = probe(counted_ntsc)
    assert info.frame_rate == NTSC and not info.variable_frame_rate
    assert (frame_numbers(counted_ntsc)[:3] == [0, 1, 2]).all(), "the fixture's frame code reads back"
    out = tmp_path / "clip.mp4"
    # 34 s: rounded to 30 fps, one frame in 1000 would be shown twice (every 33.4 s).
    render_clip(info, 1.0, 35.0, [OutputSpec(out, BITS * BIT_W, 64)], encode=FAST)
    numbers = frame_numbers(out)
    steps = np.diff(numbers)
    repeated, skipped = np.nonzero(steps == 0)[0], np.nonzero(steps > 1)[0]
    assert (steps == 1).all(), f"frames repeated after output frames {repeated}, skipped after {skipped}"
    assert abs(len(numbers) - 34 * 30000 / 1001) <= 1, len(numbers)
    v = video_stream(out)
    assert (v["r_frame_rate"], v["avg_frame_rate"]) == (NTSC, NTSC)


def old_rule_says_variable(path: Path) -> bool:
    """The former test: r_frame_rate and avg_frame_rate more than 1 % apart."""
    v = video_stream(path)
    r, avg = Fraction(str(v["r_frame_rate"])), Fraction(str(v["avg_frame_rate"]))
    return bool(r and avg and abs(r - avg) / r > Fraction(1, 100))


VFR_PICTURES = {
    # A phone's camera clock: frames 33.3 ms apart give or take up to 4 ms (90 kHz time base).
    "jitter": (
        "testsrc2=s=320x240:r=30,settb=1/90000,setpts='round((N/30+0.002*(mod(N*7\\,5)-2))/TB)'",
        ("-fps_mode", "passthrough", "-enc_time_base", "-1", "-video_track_timescale", "90000"),
    ),
    # A phone under load: one frame in 90 dropped (the average rate moves by 0.8 % only).
    "dropped": ("testsrc2=s=320x240:r=30,select='not(eq(mod(n\\,90)\\,89))'", ("-fps_mode", "vfr")),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(VFR_PICTURES))
def test_a_phone_like_variable_frame_rate_is_detected_from_the_timestamps(tmp_path: Path, kind: str) -> None:
    picture, extra = VFR_PICTURES[kind]
    out = tmp_path / f"{kind}.mp4"
    ffmpeg("-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", "sine=r=48000", "-t", "8", *extra,
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out))  # fmt: skip
    assert not old_rule_says_variable(out), "the fixture must be one the r/avg rule missed"
    info = probe(out)
    assert info.variable_frame_rate
    assert info.frame_rate == "30"
    assert not master_copies_video(info, EncodeSettings(max_fps=60))


@pytest.mark.slow
@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_a_constant_29_97_file_is_not_taken_for_variable(counted_ntsc: Path, tmp_path: Path, container: str) -> None:
    out = tmp_path / f"ntsc.{container}"  # Matroska: millisecond timestamps, 33 or 34 ms apart
    ffmpeg("-i", str(counted_ntsc), "-t", "10", "-c", "copy", str(out))
    info = probe(out)
    assert not info.variable_frame_rate and info.frame_rate == NTSC
