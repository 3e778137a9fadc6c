"""Stills: the cover (the sharpest frame near the hook, with a face, and the title) and thumbnails."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import ffmpeg

from touktouk.render.ffmpeg import input_path, run_ffmpeg
from touktouk.render.probe import MediaInfo
from touktouk.vision.faces import FaceDetector


def _frame_rgb(path: str, at: float, width: int, height: int) -> Any:
    """The frame at `at` as width x height RGB (the upright picture in square pixels: anamorphic
    footage is widened to `MediaInfo.display_width`), None past the end."""
    import numpy as np

    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", input_path(path), "-frames:v", "1",
         "-vf", f"scale={width}:{height},setsar=1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=False,
    ).stdout  # fmt: skip
    if len(raw) < width * height * 3:
        return None
    return np.frombuffer(raw[: width * height * 3], dtype=np.uint8).reshape(height, width, 3)


def cover_frame_score(rgb: Any) -> tuple[float, float, float | None]:
    """(score, sharpness, face centre x as a fraction of the width or None) of one frame: the
    variance of the Laplacian (focus, no motion blur) on a 480-pixel-wide copy, doubled when a
    face is found (the detector the crops use, `vision.faces.FaceDetector`)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = 480 / w
    small = cv2.resize(rgb, (480, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    sharp = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    faces = FaceDetector(min_face=24, max_face=max(24, min(gray.shape)), scale_factor=1.1, min_neighbors=5)(gray, None)
    if len(faces) == 0:
        return sharp, sharp, None
    x, _, fw, _ = max(faces, key=lambda f: f[2] * f[3])
    return 2 * sharp + 1.0, sharp, (x + fw / 2) / small.shape[1]


def wrap_title(title: str, measure: Any, max_width: float, max_lines: int = 4) -> list[str]:
    """Greedy word wrap of the title to `max_width` (measure(text) -> width), at most `max_lines`
    lines; the last line ends with an ellipsis when the title is cut."""
    lines: list[str] = []
    for word in title.split(" "):  # only plain spaces: a no-break space keeps "mot :" together
        if not word:
            continue
        if lines and measure(f"{lines[-1]} {word}") <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1].split(" ")
        while len(last) > 1 and measure(" ".join(last) + "…") > max_width:
            last.pop()
        lines[-1] = " ".join(last).rstrip(".,;:!?") + "…"
    return lines


def make_cover(
    info: MediaInfo,
    out: Path,
    *,
    title: str,
    around: float,
    width: int = 1080,
    height: int = 1920,
    font: str = "DejaVu Sans",
    fonts_dir: str = "",
    text_colour: str = "#FFFFFF",
    accent_colour: str = "#FFD400",
    background: str = "#1B1B2F",
    candidates: int = 5,
    spread: float = 2.0,
) -> float | None:
    """A JPEG cover (width x height) for a clip: the best of `candidates` frames within `spread`
    seconds of `around` (a face first, then the sharpest), cropped to the cover's aspect around the
    face, with the title in the brand font and colours above the bottom fifth (platform UI).
    Returns the time of the chosen frame (None for audio-only footage: a plain background)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from touktouk.captions.fonts import find_font
    from touktouk.french import french_typography

    chosen: float | None = None
    image = Image.new("RGB", (width, height), background)
    if info.has_video:
        lo, hi = max(0.0, around - spread), min(info.duration - 0.1, around + spread)
        times = [lo + (hi - lo) * k / max(1, candidates - 1) for k in range(candidates)] if hi > lo else [lo]
        best: tuple[float, Any, float | None] | None = None
        for t in times:
            rgb = _frame_rgb(info.path, t, info.display_width, info.height)
            if rgb is None:
                continue
            score, _, face_x = cover_frame_score(rgb)
            if best is None or score > best[0]:
                best, chosen = (score, rgb, face_x), t
        if best is not None:
            _, rgb, face_x = best
            h, w = rgb.shape[:2]
            if w * height > width * h:
                cw = round(h * width / height)
                centre = (face_x if face_x is not None else 0.5) * w
                x0 = int(min(max(0, centre - cw / 2), w - cw))
                rgb = rgb[:, x0 : x0 + cw]
            else:
                ch = round(w * height / width)
                y0 = (h - ch) // 2
                rgb = rgb[y0 : y0 + ch]
            image = Image.fromarray(np.ascontiguousarray(rgb)).resize((width, height), Image.Resampling.LANCZOS)
    # A dark gradient under the title keeps it readable on any picture.
    shade = np.zeros((height, 1), dtype=np.float32)
    top = int(height * 0.40)
    shade[top:, 0] = np.linspace(0, 0.75, height - top)
    alpha = Image.fromarray((np.repeat(shade, width, axis=1) * 255).astype(np.uint8), "L")
    image = Image.composite(Image.new("RGB", (width, height), "black"), image, alpha)
    draw = ImageDraw.Draw(image)
    size = round(width * 0.075)
    face = ImageFont.truetype(str(find_font(font, fonts_dir, bold=True)), size)
    margin = round(width * 0.08)
    text = french_typography(" ".join(title.split()))
    lines = wrap_title(text, lambda s: draw.textlength(s, font=face), width - 2 * margin)
    line_h = round(size * 1.2)
    bottom = round(height * 0.78)  # above the bottom fifth the platform UI covers
    y = bottom - line_h * len(lines)
    draw.rectangle((margin, y - round(size * 0.5), margin + round(width * 0.15), y - round(size * 0.3)), accent_colour)
    for line in lines:
        draw.text((margin, y), line, font=face, fill=text_colour)
        y += line_h
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, "JPEG", quality=88, optimize=True)
    return chosen


def grab_frame(path: Path, at: float, *, out: Path | None = None) -> tuple[int, int, bytes]:
    """One frame at `at` seconds as raw RGB24 (width, height, bytes); also a PNG when `out` is given."""
    info = ffmpeg.probe(str(path))
    v = next(s for s in info["streams"] if s["codec_type"] == "video")
    w, h = int(v["width"]), int(v["height"])
    raw, _ = (
        ffmpeg.input(str(path), ss=f"{at:.3f}")
        .output("pipe:", vframes=1, format="rawvideo", pix_fmt="rgb24")
        .global_args("-nostdin")
        .run(capture_stdout=True, quiet=True)
    )
    if out is not None:
        ffmpeg.input(str(path), ss=f"{at:.3f}").output(str(out), vframes=1).overwrite_output().global_args(
            "-nostdin"
        ).run(quiet=True)
    return w, h, raw


def thumbnail(video: Path, at: float, out: Path, *, width: int = 240) -> Path:
    """A small JPEG of `video` at `at` seconds, `width` pixels wide (the review page's strip)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{max(0.0, at):.3f}", "-i", input_path(video)]
    cmd += ["-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "5", str(out)]
    run_ffmpeg(cmd, f"{video}: taking a thumbnail at {at:.1f} s")
    return out
