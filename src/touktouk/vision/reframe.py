"""Face-aware reframing for vertical (9:16) and square (1:1) clips (pure).

`plan_crop`: per shot, a piecewise-linear path for the crop window's left edge, with one knot
per `knot_step` seconds at most, from the speaker `vision.faces` found. The window stays still
while the speaker's face stays within a central dead zone; when it leaves, the window pans (at
most `max_speed` crop widths per second) until the face is centred again. The path is clamped
inside the frame, jumps only at shot changes, and falls back to a centre crop in shots without
a face. `CropPlan.x_expr()` writes the path as an ffmpeg expression of the crop filter's `t`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from touktouk.vision.faces import FaceSample
from touktouk.vision.shots import SWITCH_EARLY


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


def crop_size(src_w: int, src_h: int, out_aspect: tuple[int, int]) -> tuple[int, int]:
    """The largest window of the output's aspect ratio, as the render's crop really cuts it:
    rounded like `render.graph.crop_window`, then down to even pixels, which ffmpeg's crop filter does
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
