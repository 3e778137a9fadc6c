"""Probing footage (ffprobe through ffmpeg-python) and extracting its sound as 16 kHz mono."""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import ffmpeg

from touktouk.errors import MediaError
from touktouk.render.ffmpeg import ffmpeg_message, input_path
from touktouk.streams import display_width, parse_sar, stream_rotation

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
    # The sample (pixel) aspect ratio of the upright picture, "num:den" (rotation applied: a picture
    # turned a quarter has its SAR inverted, as ffmpeg's autorotate does); "1:1" for square pixels.
    sar: str = "1:1"
    # The source's frame rate as an exact rational ("30000/1001", "25"): what the render keeps
    # (`render.graph.clip_fps`); "" when unknown, then `fps` is used.
    frame_rate: str = ""

    @property
    def sample_aspect(self) -> Fraction:
        return parse_sar(self.sar)

    @property
    def display_width(self) -> int:
        """The width of the upright picture in square pixels (`height` high): the width the render
        scales anamorphic footage to before anything else, and the one crops are planned in."""
        return display_width(self.width, self.sample_aspect)

    @property
    def rate(self) -> Fraction:
        """The source's frame rate, exact (0 when unknown)."""
        if self.frame_rate:
            try:
                return Fraction(self.frame_rate)
            except (ValueError, ZeroDivisionError):
                pass
        return standard_rate(self.fps) or Fraction(self.fps).limit_denominator(1001)


def standard_rate(rate: float, tolerance: float = 5e-4) -> Fraction | None:
    """The broadcast rate `rate` is (within `tolerance`, relative): a whole number of frames per
    second, or its NTSC variant n*1000/1001 (23.976, 29.97, 59.94); None for any other rate."""
    if rate <= 0:
        return None
    for candidate in (Fraction(round(rate)), Fraction(round(rate * 1.001) * 1000, 1001)):
        if candidate and abs(rate - candidate) <= tolerance * candidate:
            return candidate
    return None


def parse_rate(value: str | None) -> float:
    try:
        r = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(r) if r.denominator else 0.0


def _fraction(value: str | None) -> Fraction:
    try:
        r = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return Fraction(0)
    return r if r > 0 else Fraction(0)


def source_frame_rate(r_frame_rate: str | None, avg_frame_rate: str | None, variable: bool) -> str:
    """The exact rate of a video stream as a rational string ("30000/1001", "25"; "" unknown):
    ffprobe's r_frame_rate (exact, the base rate) when the average agrees with it within 1 %, else
    the average; snapped to the broadcast rate it is (an average of 2997/100 is 29.97), else as is
    (constant) or rounded to whole frames per second (variable)."""
    r, avg = _fraction(r_frame_rate), _fraction(avg_frame_rate)
    base = r if r and (not avg or abs(r - avg) <= r / 100) else avg or r
    if not base:
        return ""
    snapped = standard_rate(float(base))
    if snapped is not None:
        return str(snapped)
    return str(max(1, round(base))) if variable else str(base.limit_denominator(1001))


# Frame timestamps are sampled over this many seconds at the start, and again in the middle of
# footage longer than three such windows.
VFR_SAMPLE_SECONDS = 20.0
# An interval longer than this is the jump between the two windows, not a frame's duration.
_WINDOW_GAP_SECONDS = 5.0


def timestamps_vary(pts: Sequence[int], ticks_per_second: Fraction) -> bool | None:
    """Whether frame timestamps (`pts`, in ticks, any order) are those of a variable frame rate:
    two or more intervals between consecutive frames that differ from the median interval by more
    than the time base's rounding (1.5 ticks) and 0.5 % (dropped or repeated frames, jittering
    phone clocks, rate changes); one odd interval is a splice. None when too few frames to tell.
    Timestamps read twice (sampled windows that overlap) count once."""
    ordered = sorted(set(pts))
    gap = ticks_per_second * Fraction(_WINDOW_GAP_SECONDS)
    deltas = [b - a for a, b in pairwise(ordered) if b - a < gap]
    if len(deltas) < 10:
        return None
    median = statistics.median(deltas)
    tolerance = max(1.5, 0.005 * median)
    return sum(1 for d in deltas if abs(d - median) > tolerance) >= 2


def sample_timestamps(path: Path, stream_index: int, duration: float) -> list[int]:
    """Presentation timestamps (in the stream's time base) of the video packets in the sampled
    windows: demuxed only, nothing decoded (one short ffprobe run, however long the footage); []
    when ffprobe cannot read them (the rates then decide, see `probe`)."""
    window = f"%+{VFR_SAMPLE_SECONDS:g}"
    intervals = window if duration <= 3 * VFR_SAMPLE_SECONDS else f"{window},{duration / 2:.3f}{window}"
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", str(stream_index), "-read_intervals", intervals,
         "-show_entries", "packet=pts", "-of", "csv=p=0", input_path(path)],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    pts = []
    for line in out.splitlines():
        try:
            pts.append(int(line.strip().strip(",")))
        except ValueError:
            continue  # N/A: a packet without a timestamp
    return pts


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
    sar = Fraction(1)
    frame_rate = ""
    if video is not None:
        width, height = int(video.get("width", 0)), int(video.get("height", 0))
        sar = parse_sar(video.get("sample_aspect_ratio"))
        rotation = stream_rotation(video)
        if rotation in (90, 270):
            width, height, sar = height, width, 1 / sar
        r_rate, avg_rate = parse_rate(video.get("r_frame_rate")), parse_rate(video.get("avg_frame_rate"))
        fps = avg_rate or r_rate
        # The frame timestamps tell (a phone's jittering clock or dropped frames barely move the
        # average rate); ffprobe's two rates disagreeing also means variable.
        time_base = _fraction(video.get("time_base"))
        varies = time_base and timestamps_vary(
            sample_timestamps(path, int(video.get("index", 0)), duration), 1 / time_base
        )
        vfr = bool(varies) or bool(r_rate and avg_rate and abs(r_rate - avg_rate) / r_rate > 0.01)
        frame_rate = source_frame_rate(video.get("r_frame_rate"), video.get("avg_frame_rate"), vfr)
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
        square_pixels=sar == 1,
        sar=f"{sar.numerator}:{sar.denominator}",
        frame_rate=frame_rate,
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
