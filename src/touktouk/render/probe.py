"""Probing footage (ffprobe through ffmpeg-python) and extracting its sound as 16 kHz mono."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from touktouk.errors import MediaError
from touktouk.render.ffmpeg import ffmpeg_message, input_path
from touktouk.streams import stream_rotation

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
    video_codec: str = ""  # ffprobe's codec_name of the picture ("h264", "hevc", "vp9"...)
    pix_fmt: str = ""
    video_bitrate: int = 0  # bits per second; 0 when the container does not say
    square_pixels: bool = True


def parse_rate(value: str | None) -> float:
    try:
        r = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(r) if r.denominator else 0.0


def _starts_like_mp4(path: Path) -> bool:
    """Whether the file opens with an MP4/MOV box (a real but cut-short recording), not random bytes."""
    with path.open("rb") as f:
        return f.read(8)[4:8] in (b"ftyp", b"mdat", b"wide", b"free", b"skip", b"moov")


def probe(path: Path) -> MediaInfo:
    """Describe footage; raise MediaError naming the file for anything unusable."""
    if not path.exists():
        raise MediaError(f"{path}: file not found; check the path to the footage.")
    if not path.is_file():
        raise MediaError(f"{path}: not a file; give the path to one footage file.")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes); copy the footage again from the camera or the export.")
    try:
        data = ffmpeg.probe(input_path(path))
    except ffmpeg.Error as exc:
        if b"moov atom not found" in (exc.stderr or b"") and _starts_like_mp4(path):
            raise MediaError(
                f"{path}: the file is truncated (its MP4 index, the 'moov' atom, is missing: the recording or "
                "the copy was cut short); copy the file again from the camera or re-export it."
            ) from None
        raise MediaError(
            f"{path}: not a media file ffmpeg can read ({ffmpeg_message(exc)}); "
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
    sar = ""
    if video is not None:
        width, height = int(video.get("width", 0)), int(video.get("height", 0))
        sar = str(video.get("sample_aspect_ratio") or "")
        rotation = stream_rotation(video)
        if rotation in (90, 270):
            width, height = height, width
        r_rate, avg_rate = parse_rate(video.get("r_frame_rate")), parse_rate(video.get("avg_frame_rate"))
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
        video_codec=str(video.get("codec_name", "")) if video else "",
        pix_fmt=str(video.get("pix_fmt", "")) if video else "",
        # The stream's own bit rate (MP4, MOV), else the whole file's (Matroska): an upper bound.
        video_bitrate=int(video.get("bit_rate") or fmt.get("bit_rate") or 0) if video else 0,
        square_pixels=sar in ("", "1:1", "0:1", "N/A"),
    )


def extract_audio(src: Path, dst: Path) -> Path:
    """16 kHz mono PCM for Whisper; every channel layout (5.1 included) is downmixed."""
    try:
        (
            ffmpeg.input(input_path(src))
            .output(str(dst), vn=None, ac=1, ar=16000, acodec="pcm_s16le", map="0:a:0")
            .overwrite_output()
            .global_args("-nostdin")
            .run(quiet=True)
        )
    except ffmpeg.Error as exc:
        raise MediaError(f"{src}: could not extract the sound track ({ffmpeg_message(exc)}).") from None
    return dst


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
