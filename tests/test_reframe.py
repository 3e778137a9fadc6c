"""Face-aware reframing: shot changes, the crop path's properties, its ffmpeg expression through
real ffmpeg, and the crop following the lecturer of physicsworks.webm."""

from __future__ import annotations

import subprocess
from pathlib import Path

import ffmpeg
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media_fixtures import have_shared, talking_head
from touktouk.vision.faces import Box, FaceSample, detect_faces, pick_speaker
from touktouk.vision.reframe import CropPlan, coverage, crop_size, plan_crop
from touktouk.vision.shots import merge_close, scene_cuts

SRC_W, SRC_H = 1920, 1080


def ffmpeg_run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True)


def face(t: float, cx: float, *, w: float = 120, cy: float = 400) -> FaceSample:
    box = Box(cx - w / 2, cy - w / 2, w, w)
    return FaceSample(t, (box,), SRC_W, SRC_H, box)


def xs(plan: CropPlan, step: float = 0.05) -> list[tuple[float, float]]:
    n = int((plan.clip_end - plan.clip_start) / step)
    return [(plan.clip_start + k * step, plan.x_at(plan.clip_start + k * step)) for k in range(n)]


# ---------------------------------------------------------------- pure: sizes, speaker


def test_crop_size_keeps_the_full_height_of_a_landscape_source() -> None:
    assert crop_size(1920, 1080, (9, 16)) == (608, 1080)
    assert crop_size(1920, 1080, (1, 1)) == (1080, 1080)
    assert crop_size(320, 240, (9, 16)) == (134, 240)  # 135, cut to 134 by crop on 4:2:0
    # A portrait source is narrower than 1:1: full width, centred vertically.
    assert crop_size(1080, 1920, (1, 1)) == (1080, 1080)


def test_speaker_is_the_persistent_face_not_a_larger_stray_detection() -> None:
    person = [Box(800 + 10 * k, 300, 100, 100) for k in range(6)]
    stray = Box(100, 100, 300, 300)  # larger, but seen once
    samples = [FaceSample(0.5 * k, (b,), SRC_W, SRC_H) for k, b in enumerate(person)]
    samples[2] = FaceSample(1.0, (stray, person[2], Box(820, 310, 60, 60)), SRC_W, SRC_H)
    picked = pick_speaker(samples)
    assert [s.speaker for s in picked] == person


def test_speaker_is_chosen_per_shot() -> None:
    left, right = Box(100, 300, 100, 100), Box(1500, 300, 100, 100)
    samples = [FaceSample(0.5 * k, (left if k < 4 else right,), SRC_W, SRC_H) for k in range(8)]
    picked = pick_speaker(samples, cuts=[2.0])
    assert [s.speaker for s in picked] == [left] * 4 + [right] * 4


# ---------------------------------------------------------------- pure: the crop path


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[FaceSample], list[float], float]:
    """A 20 s clip with up to 3 cuts and a face wandering (or missing) at 2 samples a second."""
    end = 20.0
    cuts = sorted(draw(st.lists(st.floats(1.0, 19.0), max_size=3, unique=True)))
    samples = []
    cx = draw(st.floats(60, SRC_W - 60))
    for k in range(int(end * 2)):
        cx = min(max(cx + draw(st.floats(-300, 300)), 60), SRC_W - 60)
        if draw(st.booleans()) or k % 5:
            samples.append(face(k / 2, cx, w=draw(st.floats(40, 200))))
    return samples, cuts, end


SPEED = 0.6  # crop widths per second, plan_crop's default


@settings(max_examples=80, deadline=None)
@given(scenes(), st.sampled_from([(9, 16), (1, 1)]))
def test_crop_path_stays_in_frame_pans_smoothly_and_jumps_only_at_cuts(
    scene: tuple[list[FaceSample], list[float], float], aspect: tuple[int, int]
) -> None:
    samples, cuts, end = scene
    plan = plan_crop(samples, cuts, SRC_W, SRC_H, aspect, clip_start=0.0, clip_end=end)
    limit = SRC_W - plan.crop_w
    for seg in plan.segments:
        assert 0 <= seg.x_start <= limit and 0 <= seg.x_end <= limit
        assert abs(seg.x_end - seg.x_start) <= SPEED * plan.crop_w * (seg.end - seg.start) + 0.05
    cap = SPEED * plan.crop_w
    for a, b in zip(plan.segments, plan.segments[1:], strict=False):
        assert a.end == b.start
        if a.end in plan.cuts:
            continue
        assert abs(a.x_end - b.x_start) <= 0.01, f"jump at {a.end} s, not a cut"
        speeds = [(s.x_end - s.x_start) / (s.end - s.start) for s in (a, b)]
        assert speeds[0] * speeds[1] >= -1e-6, f"pan reverses at once at {a.end} s"
        assert abs(speeds[1] - speeds[0]) <= cap + 0.1
    # Knots at most one a second (plus the two ends of each shot).
    assert len(plan.keyframes) <= end + 2 * (len(plan.cuts) + 1)
    for _, x in xs(plan):
        assert 0 <= x <= limit
    # The expression the render evaluates has as many branches as segments, no more.
    assert plan.x_expr().count("if(") == len(plan.segments) - 1


@settings(max_examples=60, deadline=None)
@given(st.floats(300, 1600), st.lists(st.floats(-1, 1), min_size=4, max_size=40), st.booleans())
def test_window_stays_still_while_the_face_stays_in_the_dead_zone(
    base: float, wobble: list[float], square: bool
) -> None:
    crop_w, _ = crop_size(SRC_W, SRC_H, (1, 1) if square else (9, 16))
    band = 0.15 * crop_w / 2  # face centres spread over less than the dead zone
    samples = [face(0.5 * k, base + band * d) for k, d in enumerate(wobble)]
    plan = plan_crop(samples, [], SRC_W, SRC_H, (1, 1) if square else (9, 16), clip_start=0.0, clip_end=len(wobble) / 2)
    assert len({round(x, 6) for _, x in xs(plan)}) == 1


def test_centre_crop_in_a_shot_without_faces_and_a_jump_at_the_cut() -> None:
    samples = [face(k / 2, 1700) for k in range(8)]  # faces in the first shot only, far right
    plan = plan_crop(samples, [4.0], SRC_W, SRC_H, (9, 16), clip_start=0.0, clip_end=8.0)
    assert plan.x_at(1.0) == SRC_W - plan.crop_w  # pushed against the right edge, face inside
    assert plan.x_at(6.0) == (SRC_W - plan.crop_w) / 2
    assert plan.x_at(4.0 - 0.01) == SRC_W - plan.crop_w and plan.x_at(4.0) == (SRC_W - plan.crop_w) / 2
    assert plan_crop([], [], SRC_W, SRC_H, (1, 1), clip_start=0, clip_end=5).x_expr() == "420"


def test_window_follows_a_walking_face_and_keeps_it_in_frame() -> None:
    # 150 px/s across the frame: under the pan speed cap (0.6 x 608 px/s).
    samples = [face(k / 4, 300 + 150 * k / 4) for k in range(40)]
    plan = plan_crop(samples, [], SRC_W, SRC_H, (9, 16), clip_start=0.0, clip_end=10.0)
    assert coverage(plan, samples) == 1.0
    assert plan.x_at(9.5) > plan.x_at(0.5) + 900
    centre = plan_crop([], [], SRC_W, SRC_H, (9, 16), clip_start=0.0, clip_end=10.0)
    assert coverage(centre, samples) < 0.5


def test_close_cuts_are_merged() -> None:
    assert merge_close([5.0, 1.0, 1.2, 3.0], 0.5) == [1.0, 3.0, 5.0]


# ---------------------------------------------------------------- real ffmpeg


@pytest.mark.slow
def test_scene_cuts_finds_the_cut_within_a_frame_and_none_in_static_shots(tmp_path: Path) -> None:
    fps = 25
    video = tmp_path / "two-shots.mp4"
    ffmpeg_run(
        "-f", "lavfi", "-i", f"smptebars=s=320x240:r={fps}:d=2",
        "-f", "lavfi", "-i", f"testsrc=s=320x240:r={fps}:d=2",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video),
    )  # fmt: skip
    cuts = scene_cuts(video, 0.0, 4.0)
    assert len(cuts) == 1 and abs(cuts[0] - 2.0) <= 1 / fps
    # Seeked: the cut is still reported in source time.
    later = scene_cuts(video, 1.0, 4.0)
    assert len(later) == 1 and abs(later[0] - 2.0) <= 1 / fps
    assert scene_cuts(video, 0.0, 1.9) == []
    assert scene_cuts(video, 2.2, 4.0) == []


@pytest.mark.slow
def test_x_expr_evaluated_by_ffmpeg_matches_x_at(tmp_path: Path) -> None:
    """A white square moves right then stops; ffmpeg crops with the plan's expression; the
    square's place in each cropped frame gives the window's real left edge."""
    w, h, fps = 640, 360, 10
    video = tmp_path / "moving-box.mp4"
    box_x = "if(lt(t,4),60+100*t,460)"  # px, source time t
    ffmpeg_run(
        "-f", "lavfi", "-i", f"color=c=black:s={w}x{h}:r={fps}:d=8",
        "-f", "lavfi", "-i", f"color=c=white:s=40x40:r={fps}:d=8",
        "-filter_complex", f"[0:v][1:v]overlay=x='{box_x}':y=150",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", str(video),
    )  # fmt: skip

    def box_at(t: float) -> float:
        return 60 + 100 * t if t < 4 else 460

    samples = [
        FaceSample(k / 4, (b := Box(box_at(k / 4), 150, 40, 40),), w, h, b) for k in range(32)
    ]  # fmt: skip
    start, end = 1.0, 7.0
    plan = plan_crop(samples, [5.0], w, h, (9, 16), clip_start=start, clip_end=end)
    assert len(plan.segments) > 2  # it pans
    cw, ch = plan.crop_w, plan.crop_h
    raw, _ = (
        ffmpeg.input(str(video), ss=f"{start:.3f}", t=f"{end - start:.3f}")
        .video.filter("crop", **plan.crop_kwargs())
        .output("pipe:", format="rawvideo", pix_fmt="gray")
        .global_args("-nostdin")
        .run(capture_stdout=True, quiet=True)
    )
    frames = np.frombuffer(raw, np.uint8).reshape(-1, ch, cw)
    assert len(frames) >= (end - start) * fps - 1
    checked = 0
    for k, frame in enumerate(frames):
        t = start + k / fps
        cols = np.flatnonzero(frame[150:190].max(axis=0) > 128)
        if len(cols) == 0 or cols[0] == 0 or cols[-1] == cw - 1:
            continue  # the square touches the window's edge: its left side is not measurable
        real_x = box_at(t) - cols[0]
        # crop rounds x down to an even pixel (4:2:0 chroma): within 2 px.
        assert abs(real_x - plan.x_at(t)) <= 2, f"t={t:.2f}: ffmpeg crops at {real_x}, plan says {plan.x_at(t):.1f}"
        checked += 1
    assert checked >= 0.8 * len(frames)

    # The same expression typed by hand in a filtergraph, quoted.
    graph = f"crop=w={cw}:h={ch}:x='{plan.x_expr()}':y={plan.y}"
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{start}", "-t", "1", "-i", str(video), "-vf", graph,
         "-f", "rawvideo", "-pix_fmt", "gray", "pipe:"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert len(out) == fps * cw * ch


@pytest.mark.slow
def test_rotated_phone_footage_is_sampled_upright(tmp_path: Path) -> None:
    flat = tmp_path / "flat.mp4"
    ffmpeg_run("-f", "lavfi", "-i", "testsrc2=s=320x240:r=10:d=1", "-c:v", "libx264", "-preset", "ultrafast", str(flat))
    rotated = tmp_path / "rotated.mp4"
    ffmpeg_run("-i", str(flat), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    samples = detect_faces(rotated, 0.0, 1.0, fps=4)
    assert len(samples) == 4
    assert {(s.frame_w, s.frame_h) for s in samples} == {(240, 320)}
    assert all(s.speaker is None for s in samples)


# ---------------------------------------------------------------- the lecturer


WALK = (30.0, 90.0)  # he walks across the stage; the camera pans and zooms; 4 cuts, 67-74 s


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float], list[FaceSample]]:
    if not have_shared("physicsworks.webm"):
        pytest.skip("physicsworks.webm (the shared lecture recording) is not available")
    path = talking_head(tmp_path_factory.mktemp("lecture")).path
    cuts = scene_cuts(path, *WALK)
    return path, cuts, detect_faces(path, *WALK, fps=2, cuts=cuts)


@pytest.mark.slow
def test_lecturer_face_stays_inside_the_vertical_crop(
    lecture: tuple[Path, list[float], list[FaceSample]], record_property: pytest.RecordProperty
) -> None:
    _, cuts, samples = lecture
    assert len(cuts) >= 3  # the cutaways to the pendulum and back
    with_face = [s for s in samples if s.speaker is not None]
    assert len(samples) == 120 and len(with_face) >= 25
    plan = plan_crop(samples, cuts, 320, 240, (9, 16), clip_start=WALK[0], clip_end=WALK[1])
    centre = plan_crop([], cuts, 320, 240, (9, 16), clip_start=WALK[0], clip_end=WALK[1])
    square = plan_crop(samples, cuts, 320, 240, (1, 1), clip_start=WALK[0], clip_end=WALK[1])
    figures = {
        "9:16": coverage(plan, samples),
        "9:16 centre": coverage(centre, samples),
        "1:1": coverage(square, samples),
    }
    record_property("coverage", figures)
    print(f"coverage over {len(with_face)} frames with a face: {figures}")
    assert figures["9:16"] >= 0.9
    assert figures["9:16 centre"] < figures["9:16"]  # the stretch needs reframing: a centre crop loses him
    # The window moves, and knots stay sparse enough for a short ffmpeg expression.
    assert len({round(plan.x_at(s.time)) for s in with_face}) > 3
    assert len(plan.keyframes) <= (WALK[1] - WALK[0]) + 2 * (len(cuts) + 1)


def test_on_a_wide_the_crop_follows_the_face_of_the_one_speaking():
    from touktouk.types import Framing, Word
    from touktouk.vision.faces import Box, FaceSample, follow_speaker, speaker_near

    left, right = Box(300, 300, 200, 200), Box(1400, 320, 180, 180)  # the host left, the guest right
    samples = [FaceSample(t / 2, (right, left), 1920, 1080, left) for t in range(12)]  # pick_speaker: the larger
    words = [Word(0.0, 2.4, "Bonjour", speaker="host"), Word(2.6, 6.0, "Merci", speaker="guest")]
    framing = [Framing(0.0, 6.0, ("host", "guest"))]
    followed = follow_speaker(samples, framing, lambda t: speaker_near(words, t))
    assert [s.speaker for s in followed if s.time < 2.4] == [left] * 5
    assert [s.speaker for s in followed if s.time >= 2.6] == [right] * 6
    # on a close-up (one person shown), or with a face missing, the samples stay as they were
    assert follow_speaker(samples, [Framing(0.0, 6.0, ("guest",))], lambda t: "guest") == samples
    one_face = [FaceSample(1.0, (left,), 1920, 1080, left)]
    assert follow_speaker(one_face, framing, lambda t: "guest") == one_face
