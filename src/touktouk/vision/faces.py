"""Faces on sampled frames, and the speaker among them.

- `detect_faces` (adapter): ffmpeg decodes the clip at a few frames per second, grey, at a
  reduced height (rotation applied, as in the render); OpenCV's Haar cascades shipped in the
  wheel find faces (`FaceDetector`, also used for covers): the frontal one on the whole frame,
  and where it finds nothing, the profile one (both ways) near the face last seen. Frames come
  from an ffmpeg pipe rather than `cv2.VideoCapture` so that seeking, rotation and timestamps
  match the render exactly.
- `pick_speaker` (pure): links the faces of successive samples into tracks within each shot and
  keeps, per shot, the largest and most persistent ones: the person the clip is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import ffmpeg
import numpy as np

from touktouk.errors import MediaError
from touktouk.streams import display_width, parse_sar, stream_rotation
from touktouk.types import Framing, Word
from touktouk.vision.shots import shot_index


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
        by_shot.setdefault(shot_index(s.time, cuts), []).append(i)
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


def display_size(path: Path) -> tuple[int, int]:
    """The upright frame size in square pixels (rotation applied, as ffmpeg's autorotate does, and
    the sample aspect ratio): the frames faces are found on, and the pixels crops are planned in."""
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
    sar = parse_sar(video.get("sample_aspect_ratio"))
    if stream_rotation(video) % 180 == 90:
        w, h, sar = h, w, 1 / sar
    # In square pixels, as the render crops: anamorphic footage (1440x1080 at 4:3) is 1920 wide.
    return display_width(w, sar), h


def grey_frames(path: Path, start: float, end: float, fps: float, w: int, h: int) -> Iterator[np.ndarray]:
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


class FaceDetector:
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


def speaker_near(words: Sequence[Word], t: float, within: float = 1.0) -> str:
    """Who speaks at `t`: the speaker of the word said then, else of the nearest word within `within` s."""
    best, gap = "", within
    for w in words:
        d = 0.0 if w.start <= t <= w.end else min(abs(t - w.start), abs(t - w.end))
        if d <= gap and w.speaker:
            best, gap = w.speaker, d
    return best


def follow_speaker(
    samples: Sequence[FaceSample], framing: Sequence[Framing], speaker_at: Callable[[float], str]
) -> list[FaceSample]:
    """On a shot that shows several people, the crop follows the one speaking: where the picture
    shows as many distinct faces as its camera's `shows` names, and the words say who speaks, the
    sample's `speaker` is the face at that person's place from the left. Elsewhere (a close-up, a
    face missed, nobody speaking) the sample is as `pick_speaker` left it."""
    out = []
    for s in samples:
        shot = next((f for f in framing if f.start <= s.time < f.end), None)
        who = speaker_at(s.time) if shot is not None and len(shot.shows) > 1 else ""
        faces = sorted(distinct_faces(s.boxes), key=lambda b: b.cx)
        if shot is not None and who in shot.shows and len(faces) == len(shot.shows):
            s = FaceSample(s.time, s.boxes, s.frame_w, s.frame_h, faces[shot.shows.index(who)])
        out.append(s)
    return out


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
    src_w, src_h = display_size(path)
    det_h = min(detect_height, 2 * src_h) // 2 * 2
    det_w = max(2, round(src_w * det_h / src_h / 2) * 2)
    sx, sy = src_w / det_w, src_h / det_h
    detector = FaceDetector(min_face, int(max_face * det_h), scale_factor, min_neighbors)
    samples = []
    last: tuple[int, int, int, int] | None = None
    last_seen = -1e9
    for i, frame in enumerate(grey_frames(path, start, end, fps, det_w, det_h)):
        t = round(start + i / fps, 3)
        near = last if t - last_seen <= 1.6 and shot_index(t, cuts) == shot_index(last_seen, cuts) else None
        found = detector(frame, near)
        if found:
            last, last_seen = max(found, key=lambda b: b[2] * b[3]), t
        boxes = tuple(Box(x * sx, y * sy, w * sx, h * sy) for x, y, w, h in found)
        samples.append(FaceSample(t, boxes, src_w, src_h))
    return pick_speaker(samples, cuts)
