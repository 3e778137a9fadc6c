"""Face-aware reframing for vertical (9:16) and square (1:1) clips.

Three parts, outside in:

- `detect_faces` (adapter): ffmpeg decodes the clip at a few frames per second, grey, at a
  reduced height (rotation applied, as in the render); OpenCV's Haar cascades shipped in the
  wheel find faces: the frontal one on the whole frame, and where it finds nothing, the profile
  one (both ways) near the face last seen. Frames come from an ffmpeg pipe rather than
  `cv2.VideoCapture` so that seeking, rotation and timestamps match the render exactly.
- `pick_speaker` (pure): links the faces of successive samples into tracks within each shot and
  keeps, per shot, the largest and most persistent ones: the person the clip is about.
- `plan_crop` (pure): per shot, a piecewise-linear path for the crop window's left edge, with
  one knot per `knot_step` seconds at most. The window stays still while the speaker's face
  stays within a central dead zone; when it leaves, the window pans (at most `max_speed` crop
  widths per second) until the face is centred again. The path is clamped inside the frame,
  jumps only at shot changes, and falls back to a centre crop in shots without a face.

`CropPlan.x_expr()` writes the path as an ffmpeg expression of the crop filter's `t`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import cv2
import ffmpeg
import numpy as np

from touktouk.errors import MediaError
from touktouk.scenes import scene_cuts

SWITCH_EARLY = 0.002
"""Seconds before a cut at which the path switches to the next shot, so that a frame stamped a
hair before the cut (timestamps are rounded when the clip is seeked) already gets its shot."""


@dataclass(frozen=True)
class Box:
    """A face, in source pixels (the upright frame, rotation applied)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class FaceSample:
    """The faces found on one sampled frame; `speaker` is the one the crop follows (or None)."""

    time: float  # seconds, absolute in the source
    boxes: tuple[Box, ...]
    frame_w: int
    frame_h: int
    speaker: Box | None = None


@dataclass(frozen=True)
class PathSegment:
    """The crop window's left edge moving linearly from `x_start` at `start` to `x_end` at `end`."""

    start: float
    end: float
    x_start: float
    x_end: float

    def x_at(self, t: float) -> float:
        if self.end <= self.start:
            return self.x_start
        f = min(max((t - self.start) / (self.end - self.start), 0.0), 1.0)
        return self.x_start + f * (self.x_end - self.x_start)


@dataclass(frozen=True)
class CropPlan:
    """Where the crop window is over a clip. Times are seconds, absolute in the source."""

    src_w: int
    src_h: int
    crop_w: int
    crop_h: int
    y: int
    clip_start: float
    clip_end: float
    segments: tuple[PathSegment, ...]
    cuts: tuple[float, ...] = ()

    @property
    def keyframes(self) -> tuple[tuple[float, float], ...]:
        """(time, x) at every knot; a cut shows as two keyframes at the same time."""
        out: list[tuple[float, float]] = []
        for seg in self.segments:
            if not out or out[-1] != (seg.start, seg.x_start):
                out.append((seg.start, seg.x_start))
            out.append((seg.end, seg.x_end))
        return tuple(out)

    def x_at(self, t: float) -> float:
        """The window's left edge at `t` seconds (absolute in the source)."""
        if not self.segments:
            return (self.src_w - self.crop_w) / 2
        for seg in self.segments[:-1]:
            if t < seg.end - SWITCH_EARLY:
                return seg.x_at(t)
        return self.segments[-1].x_at(t)

    def x_expr(self) -> str:
        """The left edge as an ffmpeg expression of `t`, seconds since the clip start (the crop
        filter's `t` when the input is seeked with -ss before -i). It has commas: pass it as a
        keyword argument through ffmpeg-python, or quote it (`x='EXPR'`) in a hand-written graph."""
        if not self.segments:
            return _num((self.src_w - self.crop_w) / 2)
        expr = _linear(self.segments[-1], self.clip_start)
        for seg in reversed(self.segments[:-1]):
            expr = f"if(lt(t,{_num(seg.end - SWITCH_EARLY - self.clip_start)}),{_linear(seg, self.clip_start)},{expr})"
        return expr

    def crop_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ffmpeg-python: `stream.filter("crop", **plan.crop_kwargs())`."""
        return {"w": str(self.crop_w), "h": str(self.crop_h), "x": self.x_expr(), "y": str(self.y)}


def _num(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _linear(seg: PathSegment, origin: float) -> str:
    """`x_start + slope * (t - start)`, clamped to the segment's end points."""
    if abs(seg.x_end - seg.x_start) < 1e-3 or seg.end <= seg.start:
        return _num(seg.x_start)
    slope = (seg.x_end - seg.x_start) / (seg.end - seg.start)
    lo, hi = sorted((seg.x_start, seg.x_end))
    inner = f"{_num(seg.x_start)}+{slope:.4f}*(t-{_num(seg.start - origin)})".replace("+-", "-")
    return f"clip({inner},{_num(lo)},{_num(hi)})"


# ---------------------------------------------------------------- speaker choice (pure)


@dataclass
class _Track:
    items: list[tuple[int, Box]] = field(default_factory=list)  # (sample index, box)

    @property
    def last(self) -> Box:
        return self.items[-1][1]

    @property
    def score(self) -> float:
        # Total area: persistence times size.
        return sum(b.w * b.h for _, b in self.items)


def distinct_faces(boxes: Iterable[Box]) -> list[Box]:
    """The boxes, largest first, without those whose centre lies inside a larger one (the same
    face found twice, by two cascades or at two scales)."""
    kept: list[Box] = []
    for b in sorted(boxes, key=lambda b: -b.w * b.h):
        if not any(k.x <= b.cx <= k.x + k.w and k.y <= b.cy <= k.y + k.h for k in kept):
            kept.append(b)
    return kept


def _shot_index(t: float, cuts: Sequence[float]) -> int:
    return sum(1 for c in cuts if c - SWITCH_EARLY <= t)


def pick_speaker(
    samples: Sequence[FaceSample],
    cuts: Sequence[float] = (),
    *,
    max_gap: float = 1.6,
    max_step: float = 1.2,
    min_hits: int = 2,
) -> list[FaceSample]:
    """The samples with `speaker` set. Within each shot, distinct faces on successive samples
    are linked into tracks (a face joins the track whose last face is at most `max_step` face
    widths away and at most `max_gap` seconds older); the track with the largest total face area among those
    seen at least `min_hits` times (large and persistent) is the speaker, then any other track
    seen `min_hits` times that does not overlap in time with those already kept (the speaker
    lost, then found again elsewhere)."""
    cuts = sorted(cuts)
    speaker: dict[int, Box] = {}
    by_shot: dict[int, list[int]] = {}
    for i, s in enumerate(samples):
        by_shot.setdefault(_shot_index(s.time, cuts), []).append(i)
    for indices in by_shot.values():
        tracks: list[_Track] = []
        open_tracks: list[_Track] = []
        for i in sorted(indices, key=lambda k: samples[k].time):
            t = samples[i].time
            open_tracks = [tr for tr in open_tracks if t - samples[tr.items[-1][0]].time <= max_gap]
            taken: set[int] = set()
            for box in distinct_faces(samples[i].boxes):
                best: _Track | None = None
                best_d = float("inf")
                for k, tr in enumerate(open_tracks):
                    if k in taken:
                        continue
                    d = abs(box.cx - tr.last.cx) + abs(box.cy - tr.last.cy)
                    if d <= max_step * max(box.w, tr.last.w) and d < best_d:
                        best, best_d = tr, d
                if best is None:
                    best = _Track()
                    tracks.append(best)
                    open_tracks.append(best)
                best.items.append((i, box))
                taken.add(open_tracks.index(best))
        kept: list[_Track] = []
        spans: list[tuple[float, float]] = []
        for tr in sorted(tracks, key=lambda tr: (len(tr.items) < min_hits, -tr.score)):
            lo, hi = samples[tr.items[0][0]].time, samples[tr.items[-1][0]].time
            if kept and (len(tr.items) < min_hits or any(lo <= b and a <= hi for a, b in spans)):
                continue
            kept.append(tr)
            spans.append((lo, hi))
        for tr in kept:
            for i, box in tr.items:
                speaker[i] = box
    return [FaceSample(s.time, s.boxes, s.frame_w, s.frame_h, speaker.get(i)) for i, s in enumerate(samples)]


# ---------------------------------------------------------------- crop path (pure)


def crop_size(src_w: int, src_h: int, out_aspect: tuple[int, int]) -> tuple[int, int]:
    """The largest window of the output's aspect ratio, as the render's crop really cuts it:
    rounded like `media.crop_window`, then down to even pixels, which ffmpeg's crop filter does
    itself for 4:2:0 video."""
    aw, ah = out_aspect
    if src_w * ah > aw * src_h:  # source wider than the output: full height, part of the width
        w, h = min(src_w, round(src_h * aw / ah)), src_h
    else:
        w, h = src_w, min(src_h, round(src_w * ah / aw))
    return w - w % 2, h - h % 2


def _median_filter(times: list[float], values: list[float], radius: float) -> list[float]:
    """Each value replaced by the median of those within `radius` seconds of it."""
    return [statistics.median(v for t, v in zip(times, values, strict=True) if abs(t - t0) <= radius) for t0 in times]


def _knots(start: float, end: float, step: float) -> list[float]:
    n = max(1, int((end - start) / step + 1e-9))
    times = [start + k * step for k in range(n)]
    if end - times[-1] < step / 4 and len(times) > 1:
        times.pop()  # no sliver of a segment at the end of the shot
    return [*times, end]


def _shot_path(
    times: list[float],
    centres: list[float],
    knots: list[float],
    *,
    lo: float,
    hi: float,
    dead_zone: float,
    speed: float,
    step: float,
) -> list[float]:
    """Window centre at each knot: still while the face is within `dead_zone` of it, otherwise
    panning at `speed` at most until the face is centred again; clamped to [lo, hi]. The pan
    speed changes by at most `speed` from one knot to the next (it stops before reversing)."""

    def desired(tk: float) -> float | None:
        near = [c for t, c in zip(times, centres, strict=True) if abs(t - tk) <= step / 2]
        return statistics.median(near) if near else None

    # The shot opens on the face nearest its start; later, no face near a knot means stay put.
    first = centres[min(range(len(times)), key=lambda i: abs(times[i] - knots[0]))]
    pos = min(max(first, lo), hi)
    path = [pos]
    moving = False
    last_move = 0.0
    for prev_t, tk in pairwise(knots):
        d = desired(tk)
        if d is None:
            moving = False
            path.append(pos)
            last_move = 0.0
            continue
        error = d - pos
        if abs(error) > dead_zone:
            moving = True
        move = 0.0
        if moving:
            reach = speed * (tk - prev_t)
            move = min(max(pos + max(-reach, min(reach, error)), lo), hi) - pos
            if move * last_move < 0:
                move = 0.0  # stop for one knot before panning back: the speed never flips at once
            elif abs(d - pos - move) <= dead_zone / 4 or pos + move in (lo, hi):
                moving = False
        pos += move
        last_move = move
        path.append(pos)
    return path


def _simplify(points: list[tuple[float, float]], tol: float = 0.05) -> list[tuple[float, float]]:
    """Drop knots that lie on the straight line through their neighbours."""
    out = points[:1]
    for k in range(1, len(points) - 1):
        (t0, x0), (t1, x1), (t2, x2) = out[-1], points[k], points[k + 1]
        if t2 > t0 and abs(x0 + (x2 - x0) * (t1 - t0) / (t2 - t0) - x1) <= tol:
            continue
        out.append(points[k])
    if len(points) > 1:
        out.append(points[-1])
    return out


def plan_crop(
    samples: Sequence[FaceSample],
    cuts: Sequence[float],
    src_w: int,
    src_h: int,
    out_aspect: tuple[int, int] = (9, 16),
    *,
    clip_start: float,
    clip_end: float,
    dead_zone: float = 0.15,
    max_speed: float = 0.6,
    knot_step: float = 1.0,
    outlier_window: float = 0.6,
) -> CropPlan:
    """Per shot, the crop window's path following each sample's `speaker` (see `pick_speaker`).
    `dead_zone` (fraction of the crop width) is how far the face may drift from the window's
    centre before the window moves; `max_speed` caps the pan in crop widths per second, and the
    speed changes by at most that much from one segment to the next (no reversal without a stop),
    which bounds the acceleration of the piecewise-linear path; knots are
    at least `knot_step` seconds apart (the shot's last segment may be shorter); a median over
    `outlier_window` seconds each side of every sample ignores single stray detections. Horizontal only:
    a source narrower than the output gets a fixed, vertically centred crop."""
    crop_w, crop_h = crop_size(src_w, src_h, out_aspect)
    y = (src_h - crop_h) // 2
    lo, hi = crop_w / 2, src_w - crop_w / 2
    centre_x = (src_w - crop_w) / 2
    inner = sorted({c for c in cuts if clip_start + SWITCH_EARLY < c < clip_end - SWITCH_EARLY})
    bounds = [clip_start, *inner, clip_end]
    segments: list[PathSegment] = []
    for a, b in pairwise(bounds):
        shot = sorted(
            (s for s in samples if s.speaker is not None and a - SWITCH_EARLY <= s.time < b - SWITCH_EARLY),
            key=lambda s: s.time,
        )
        if not shot or hi <= lo:
            segments.append(PathSegment(a, b, centre_x, centre_x))
            continue
        times = [s.time for s in shot]
        centres = _median_filter(times, [s.speaker.cx for s in shot if s.speaker is not None], outlier_window)
        knots = _knots(a, b, knot_step)
        path = _shot_path(
            times,
            centres,
            knots,
            lo=lo,
            hi=hi,
            dead_zone=dead_zone * crop_w,
            speed=max_speed * crop_w,
            step=knot_step,
        )
        points = _simplify([(t, round(p - crop_w / 2, 2)) for t, p in zip(knots, path, strict=True)])
        segments.extend(PathSegment(t0, t1, x0, x1) for (t0, x0), (t1, x1) in pairwise(points))
    return CropPlan(src_w, src_h, crop_w, crop_h, y, clip_start, clip_end, tuple(segments), tuple(inner))


def coverage(plan: CropPlan, samples: Iterable[FaceSample], *, tolerance: float = 1.0) -> float:
    """Fraction of the samples with a speaker whose face box lies inside the crop window
    (within `tolerance` pixels); 1.0 when no sample has a speaker."""
    hits = total = 0
    for s in samples:
        if s.speaker is None or not plan.clip_start <= s.time < plan.clip_end:
            continue
        total += 1
        x = plan.x_at(s.time)
        box = s.speaker
        inside_x = box.x >= x - tolerance and box.x + box.w <= x + plan.crop_w + tolerance
        inside_y = box.y >= plan.y - tolerance and box.y + box.h <= plan.y + plan.crop_h + tolerance
        hits += inside_x and inside_y
    return hits / total if total else 1.0


# ---------------------------------------------------------------- detection (adapter)


def _display_size(path: Path) -> tuple[int, int]:
    """The upright frame size (rotation metadata applied, as ffmpeg's autorotate does)."""
    try:
        info: dict[str, Any] = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        last = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise MediaError(
            f"{path}: not a media file ffmpeg can read ({last[-1] if last else 'ffprobe failed'}); "
            "export the footage as MP4, MOV, MKV or WebM and try again."
        ) from None
    video = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), None)
    if video is None or not video.get("width"):
        raise MediaError(f"{path}: has no video stream to reframe; use footage with a picture, or a 16:9 clip only.")
    w, h = int(video["width"]), int(video["height"])
    rotation = int(video.get("tags", {}).get("rotate", 0))
    for side in video.get("side_data_list", []):
        if "rotation" in side:
            rotation = int(float(side["rotation"]))
    return (h, w) if rotation % 180 == 90 else (w, h)


def _frames(path: Path, start: float, end: float, fps: float, w: int, h: int) -> Iterator[np.ndarray]:
    proc = (
        ffmpeg.input(str(path.absolute()), ss=f"{start:.3f}", t=f"{end - start:.3f}")
        .video.filter("fps", fps=fps)
        .filter("scale", w, h)
        .output("pipe:", format="rawvideo", pix_fmt="gray")
        .global_args("-nostdin", "-v", "error", "-an", "-sn", "-dn")
        .run_async(pipe_stdout=True, pipe_stderr=True)
    )
    size = w * h
    try:
        while chunk := proc.stdout.read(size):
            if len(chunk) < size:
                break
            yield np.frombuffer(chunk, np.uint8).reshape(h, w)
    finally:  # also when the caller stops early: ffmpeg then ends on the closed pipe
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        code = proc.wait()
    if code != 0:
        raise MediaError(
            f"{path}: could not decode the video to find faces ({err[-1] if err else 'ffmpeg failed'}); "
            "check that the footage plays, or re-export it as MP4."
        )


class _Detector:
    """OpenCV's frontal Haar cascade on the whole frame; where it finds nothing, the profile
    cascade (both ways) near the last face seen, which costs little since the region is small."""

    def __init__(self, min_face: int, max_face: int, scale_factor: float, min_neighbors: int) -> None:
        root = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        self.frontal = cv2.CascadeClassifier(str(root / "haarcascade_frontalface_alt2.xml"))
        self.profile = cv2.CascadeClassifier(str(root / "haarcascade_profileface.xml"))
        if self.frontal.empty() or self.profile.empty():
            raise RuntimeError(f"OpenCV's Haar cascades are missing from {root}; reinstall opencv-python-headless.")
        self.min_face, self.max_face = min_face, max_face
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors

    def _run(self, cascade: Any, img: np.ndarray, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
        found = cascade.detectMultiScale(
            img, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(lo, lo), maxSize=(hi, hi)
        )
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]

    def __call__(self, grey: np.ndarray, near: tuple[int, int, int, int] | None) -> list[tuple[int, int, int, int]]:
        img = cv2.equalizeHist(grey)
        found = self._run(self.frontal, img, self.min_face, self.max_face)
        if found or near is None:
            return found
        x, y, w, h = near
        x0, y0 = max(0, x - 2 * w), max(0, y - h)
        roi = img[y0 : y + 2 * h, x0 : x + 3 * w]
        lo, hi = max(self.min_face, w // 2), min(self.max_face, 2 * w, *roi.shape)
        if lo > hi:
            return []
        found = self._run(self.profile, roi, lo, hi)
        if not found:
            rw = roi.shape[1]
            found = [(rw - fx - fw, fy, fw, fh) for fx, fy, fw, fh in self._run(self.profile, cv2.flip(roi, 1), lo, hi)]
        return [(fx + x0, fy + y0, fw, fh) for fx, fy, fw, fh in found]


def detect_faces(
    path: Path,
    start: float,
    end: float,
    *,
    fps: float = 2.0,
    detect_height: int = 360,
    min_face: int = 20,
    max_face: float = 0.6,
    scale_factor: float = 1.1,
    min_neighbors: int = 4,
    cuts: Sequence[float] = (),
) -> list[FaceSample]:
    """Faces on frames sampled `fps` times a second between `start` and `end` (seconds, absolute
    in the source), found on grey frames scaled to `detect_height` pixels high (at most twice the
    source's height): faces from `min_face` pixels to `max_face` of the height at that scale.
    Boxes are in source pixels; the speaker is chosen per shot between `cuts` (`pick_speaker`).
    Profile faces are looked for only near a face seen within the last second and a half (a
    person turning away); a shot where the face is never seen from the front falls back to the
    centre crop."""
    src_w, src_h = _display_size(path)
    det_h = min(detect_height, 2 * src_h) // 2 * 2
    det_w = max(2, round(src_w * det_h / src_h / 2) * 2)
    sx, sy = src_w / det_w, src_h / det_h
    detector = _Detector(min_face, int(max_face * det_h), scale_factor, min_neighbors)
    samples = []
    last: tuple[int, int, int, int] | None = None
    last_seen = -1e9
    for i, frame in enumerate(_frames(path, start, end, fps, det_w, det_h)):
        t = round(start + i / fps, 3)
        near = last if t - last_seen <= 1.6 and _shot_index(t, cuts) == _shot_index(last_seen, cuts) else None
        found = detector(frame, near)
        if found:
            last, last_seen = max(found, key=lambda b: b[2] * b[3]), t
        boxes = tuple(Box(x * sx, y * sy, w * sx, h * sy) for x, y, w, h in found)
        samples.append(FaceSample(t, boxes, src_w, src_h))
    return pick_speaker(samples, cuts)


def plan_clip(
    path: Path,
    start: float,
    end: float,
    out_aspect: tuple[int, int] = (9, 16),
    *,
    fps: float = 2.0,
) -> CropPlan:
    """Shot changes, faces and the crop path for one clip of the footage, in one call."""
    cuts = scene_cuts(path, start, end)
    samples = detect_faces(path, start, end, fps=fps, cuts=cuts)
    w, h = _display_size(path)
    return plan_crop(samples, cuts, w, h, out_aspect, clip_start=start, clip_end=end)
