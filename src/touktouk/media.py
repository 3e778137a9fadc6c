"""The only room that runs ffmpeg and ffprobe (through ffmpeg-python)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from touktouk.errors import MediaError

VIDEO_FPS_CAP = 30


@dataclass(frozen=True)
class MediaInfo:
    path: str
    format_name: str
    duration: float
    has_video: bool
    width: int
    height: int
    fps: float
    variable_frame_rate: bool
    audio_channels: int
    audio_codec: str
    rotation: int


@dataclass(frozen=True)
class OutputSpec:
    """One encoded file from a render: where, and at which size."""

    path: Path
    width: int
    height: int


@dataclass(frozen=True)
class EncodeSettings:
    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: str = "192k"
    max_fps: int = VIDEO_FPS_CAP


def _ffmpeg_message(exc: ffmpeg.Error) -> str:
    err = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return err[-1] if err else "ffmpeg failed"


def _rate(value: str | None) -> float:
    try:
        r = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(r) if r.denominator else 0.0


def _ff(path: Path | str) -> str:
    """The path as ffmpeg must see it: absolute, so a name such as 'interview:1.mp4' is never
    taken for a protocol ('interview:')."""
    return str(Path(path).absolute())


def _starts_like_mp4(path: Path) -> bool:
    """Whether the file opens with an MP4/MOV box (a real but cut-short recording), not random bytes."""
    with path.open("rb") as f:
        return f.read(8)[4:8] in (b"ftyp", b"mdat", b"wide", b"free", b"skip", b"moov")


def _rotation(stream: dict[str, Any]) -> int:
    tags = stream.get("tags", {})
    if "rotate" in tags:
        return int(tags["rotate"]) % 360
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(-float(side["rotation"])) % 360
    return 0


def probe(path: Path) -> MediaInfo:
    """Describe footage; raise MediaError naming the file for anything unusable."""
    if not path.exists():
        raise MediaError(f"{path}: file not found; check the path to the footage.")
    if not path.is_file():
        raise MediaError(f"{path}: not a file; give the path to one footage file.")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes); copy the footage again from the camera or the export.")
    try:
        data = ffmpeg.probe(_ff(path))
    except ffmpeg.Error as exc:
        if b"moov atom not found" in (exc.stderr or b"") and _starts_like_mp4(path):
            raise MediaError(
                f"{path}: the file is truncated (its MP4 index, the 'moov' atom, is missing: the recording or "
                "the copy was cut short); copy the file again from the camera or re-export it."
            ) from None
        raise MediaError(
            f"{path}: not a media file ffmpeg can read ({_ffmpeg_message(exc)}); "
            "export the footage as MP4, MOV, MKV or WebM and try again."
        ) from None
    streams = data.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if audio is None:
        raise MediaError(
            f"{path}: has no audio stream, so there is nothing to transcribe; "
            "use footage recorded with sound, or mux the sound track in first."
        )
    fmt = data.get("format", {})
    duration = float(fmt.get("duration") or audio.get("duration") or 0)
    if duration <= 0:
        raise MediaError(f"{path}: has no measurable duration; re-export the footage and try again.")
    width = height = 0
    fps = 0.0
    vfr = False
    rotation = 0
    if video is not None:
        width, height = int(video.get("width", 0)), int(video.get("height", 0))
        rotation = _rotation(video)
        if rotation in (90, 270):
            width, height = height, width
        r_rate, avg_rate = _rate(video.get("r_frame_rate")), _rate(video.get("avg_frame_rate"))
        fps = avg_rate or r_rate
        vfr = bool(r_rate and avg_rate and abs(r_rate - avg_rate) / r_rate > 0.01)
    return MediaInfo(
        path=str(path),
        format_name=str(fmt.get("format_name", "")),
        duration=duration,
        has_video=video is not None and width > 0,
        width=width,
        height=height,
        fps=fps,
        variable_frame_rate=vfr,
        audio_channels=int(audio.get("channels", 0)),
        audio_codec=str(audio.get("codec_name", "")),
        rotation=rotation,
    )


def extract_audio(src: Path, dst: Path) -> Path:
    """16 kHz mono PCM for Whisper; every channel layout (5.1 included) is downmixed."""
    try:
        (
            ffmpeg.input(_ff(src))
            .output(str(dst), vn=None, ac=1, ar=16000, acodec="pcm_s16le", map="0:a:0")
            .overwrite_output()
            .global_args("-nostdin")
            .run(quiet=True)
        )
    except ffmpeg.Error as exc:
        raise MediaError(f"{src}: could not extract the sound track ({_ffmpeg_message(exc)}).") from None
    return dst


def render_clip(
    info: MediaInfo,
    start: float,
    end: float,
    outputs: Sequence[OutputSpec],
    *,
    subtitles: Path | None,
    fonts_dir: str = "",
    encode: EncodeSettings = EncodeSettings(),
    background: str = "0x1B1B2F",
) -> None:
    """Cut [start, end) once, frame it to the first output's size, burn the subtitles, and
    write every output from that one decode (split, then scale per output)."""
    if not outputs:
        return
    duration = end - start
    first = outputs[0]
    src = ffmpeg.input(_ff(info.path), ss=f"{start:.3f}", t=f"{duration:.3f}")
    fps = min(round(info.fps) or encode.max_fps, encode.max_fps)
    if info.has_video:
        # Cover the frame (scale up, centre crop). fps= also turns variable frame rate into constant.
        video = (
            src.video.filter("scale", first.width, first.height, force_original_aspect_ratio="increase")
            .filter("crop", first.width, first.height)
            .filter("setsar", 1)
            .filter("fps", fps=fps)
        )
    else:
        video = ffmpeg.input(
            f"color=c={background}:s={first.width}x{first.height}:r={fps}:d={duration:.3f}", f="lavfi"
        ).video
    if subtitles is not None:
        kwargs = {"filename": str(subtitles)}
        if fonts_dir:
            kwargs["fontsdir"] = fonts_dir
        video = video.filter("subtitles", **kwargs)
    if len(outputs) == 1:
        branches = [video]
    else:
        # Index the split node explicitly: iterating an ffmpeg-python node never ends.
        split = video.filter_multi_output("split", len(outputs))
        branches = [split.stream(i) for i in range(len(outputs))]
    streams = []
    for out, branch in zip(outputs, branches, strict=True):
        if (out.width, out.height) != (first.width, first.height):
            branch = branch.filter("scale", out.width, out.height, flags="lanczos")
        streams.append(
            ffmpeg.output(
                branch,
                src.audio,
                str(out.path),
                vcodec="libx264",
                preset=encode.preset,
                crf=encode.crf,
                pix_fmt="yuv420p",
                **{"profile:v": "high", "maxrate": "8M", "bufsize": "16M"},
                acodec="aac",
                audio_bitrate=encode.audio_bitrate,
                ac=2,
                ar=48000,
                movflags="+faststart",
                t=f"{duration:.3f}",
            )
        )
    try:
        ffmpeg.merge_outputs(*streams).overwrite_output().global_args("-nostdin").run(quiet=True)
    except ffmpeg.Error as exc:
        raise MediaError(
            f"{info.path}: rendering the clip {start:.1f}-{end:.1f} s failed ({_ffmpeg_message(exc)})."
        ) from None


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


def stream_summary(path: Path) -> dict[str, Any]:
    """ffprobe's streams and format as a dict (for tests and the doctor command)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result
