"""Card-split files: a camera that splits one recording into parts (A001/C0001.MP4, C0002.MP4…)
on a card. The parts are checked to follow on (same streams; continuous timecode where the camera
writes one), joined in order without re-encoding (ffmpeg's concat demuxer, stream copy), and the
join is verified: its frames are the sum of the parts', its picture and sound last the sum."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

from touktouk.errors import MediaError
from touktouk.render.ffmpeg import input_path, run_ffmpeg
from touktouk.streams import parse_sar


@dataclass(frozen=True)
class Part:
    """What the join needs to know of one file."""

    path: Path
    video: tuple[str, int, int, str, str]  # codec, width, height, pixel format, frame rate ("25", "30000/1001")
    audio: tuple[str, int, int] | None  # codec, sample rate, channels; None: no sound
    frames: int  # video packets
    video_seconds: float
    audio_seconds: float
    timecode: str  # "HH:MM:SS:FF" (or ';' drop-frame) where the camera writes one, else ""
    parameters: str = ""  # the picture's codec parameters (the hash of its extradata: SPS/PPS for H.264)
    origin: float = 0.0  # the source's time 0: its sound's first timestamp (its picture's without sound)
    sar: Fraction = Fraction(1)  # the shape of its pixels (4:3 on HDV): the multicam program fits it square

    @property
    def rate(self) -> Fraction:
        return Fraction(self.video[4])


def _ffprobe(path: Path) -> dict[str, Any]:
    cmd = ["ffprobe", "-v", "error", "-count_packets", "-show_data_hash", "md5", "-show_streams", "-show_format",
           "-of", "json", input_path(path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()
        raise MediaError(
            f"{path}: not a media file ffmpeg can read ({last[-1] if last else 'ffprobe failed'}); "
            "copy it again from the card."
        )
    data: dict[str, Any] = json.loads(done.stdout or "{}")
    return data


def _seconds(stream: dict[str, Any], fallback: float) -> float:
    try:
        return float(stream.get("duration") or fallback)
    except ValueError:
        return fallback


def read_part(path: Path, what: str) -> Part:
    """Probe one file of a camera (`what` names it in errors: "part 2 of camera 'host-cam'")."""
    if not path.is_file():
        raise MediaError(
            f"{path}: {what} not found; check the path in the episode file's [[shoot.cameras]] "
            "(relative to the episode file) and that the card was copied whole."
        )
    data = _ffprobe(path)
    streams = data.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    if video is None:
        raise MediaError(f"{path}: {what} has no picture; list the camera's video files in [[shoot.cameras]].")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    total = float(data.get("format", {}).get("duration") or 0)
    timecode = str(data.get("format", {}).get("tags", {}).get("timecode", ""))
    for s in streams:
        timecode = timecode or str(s.get("tags", {}).get("timecode", ""))
    rate = str(Fraction(video.get("r_frame_rate") or "0").limit_denominator(1001))
    return Part(
        path=path,
        video=(
            str(video.get("codec_name")),
            int(video.get("width", 0)),
            int(video.get("height", 0)),
            str(video.get("pix_fmt", "")),
            rate,
        ),
        audio=(
            (str(audio.get("codec_name")), int(audio.get("sample_rate") or 0), int(audio.get("channels") or 0))
            if audio is not None
            else None
        ),
        frames=int(video.get("nb_read_packets") or 0),
        video_seconds=_seconds(video, total),
        audio_seconds=_seconds(audio, total) if audio is not None else 0.0,
        timecode=timecode,
        parameters=str(video.get("extradata_hash", "")),
        origin=float((audio or video).get("start_time") or 0),
        sar=parse_sar(video.get("sample_aspect_ratio")),
    )


def timecode_frames(timecode: str, rate: Fraction) -> int | None:
    """A SMPTE timecode as a frame number at the nominal rate (drop-frame counted as written)."""
    try:
        h, m, s, f = (int(x) for x in timecode.replace(";", ":").replace(".", ":").split(":"))
    except ValueError:
        return None
    nominal = round(rate) if rate else 0
    if nominal <= 0:
        return None
    frames = ((h * 60 + m) * 60 + s) * nominal + f
    if ";" in timecode:  # drop-frame: two frame numbers dropped each minute except every tenth
        drop = 2 * (nominal // 30)
        minutes = h * 60 + m
        frames -= drop * (minutes - minutes // 10)
    return frames


def check_follow_on(parts: Sequence[Part], camera: str) -> None:
    """Refuse parts that are not one recording in order: other streams, or a timecode jump."""
    for n, (before, after) in enumerate(pairwise(parts), 2):
        for label, a, b in (("picture", before.video, after.video), ("sound", before.audio, after.audio)):
            if a != b:
                raise MediaError(
                    f"{after.path}: part {n} of camera '{camera}' does not follow on from {before.path.name} "
                    f"(its {label} differs: {b} after {a}); list only the parts of one recording, in order."
                )
        start, end = timecode_frames(after.timecode, after.rate), timecode_frames(before.timecode, before.rate)
        if start is not None and end is not None and abs(start - (end + before.frames)) > 1:
            raise MediaError(
                f"{after.path}: part {n} of camera '{camera}' does not follow on from {before.path.name} "
                f"(it starts at timecode {after.timecode}, {start - end - before.frames:+d} frames from where "
                "that part ends); list the parts in recording order, with none missing."
            )


def _concat_list(parts: Sequence[Part], out: Path) -> Path:
    listing = out.with_suffix(".txt")
    lines = ["ffconcat version 1.0"]
    for p in parts:
        lines.append("file '" + input_path(p.path).replace("'", "'\\''") + "'")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return listing


def verify_join(joined: Part, parts: Sequence[Part], camera: str) -> None:
    """The join holds every frame once (count = sum) and its picture and sound last the sum, within a frame."""
    frame = float(1 / parts[0].rate) if parts[0].rate else 0.04
    frames = sum(p.frames for p in parts)
    video = sum(p.video_seconds for p in parts)
    audio = sum(p.audio_seconds for p in parts)
    problems = []
    if joined.frames != frames:
        problems.append(f"{joined.frames} frames instead of {frames}")
    if abs(joined.video_seconds - video) > frame:
        problems.append(f"picture {joined.video_seconds:.3f} s instead of {video:.3f} s")
    if joined.audio is not None and abs(joined.audio_seconds - audio) > frame:
        problems.append(f"sound {joined.audio_seconds:.3f} s instead of {audio:.3f} s")
    if problems:
        raise MediaError(
            f"{parts[0].path}: joining the {len(parts)} parts of camera '{camera}' gave {', '.join(problems)}; "
            "check the parts are whole copies from the card."
        )


def join_parts(parts: Sequence[Part], out: Path, camera: str) -> Path:
    """One file of the camera's recording: the file itself for one part, else the parts joined in
    order by stream copy into `out` (written beside as `out`.partial, then renamed), verified."""
    if len(parts) == 1:
        return parts[0].path
    if out.is_file():
        return out
    partial = out.with_name(out.name + ".partial" + out.suffix)
    listing = _concat_list(parts, out)
    # Parts with the same codec parameters are joined packet for packet; when a camera changed them
    # between parts, the concat demuxer puts each part's parameter sets in its keyframes (still no
    # re-encode).
    same = len({p.parameters for p in parts}) == 1
    run_ffmpeg(
        ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-auto_convert", "0" if same else "1",
         "-i", input_path(listing), "-map", "0:v:0", "-map", "0:a?", "-c", "copy", input_path(partial)],
        f"joining the parts of camera '{camera}'",
    )  # fmt: skip
    listing.unlink(missing_ok=True)
    verify_join(read_part(partial, f"the join of camera '{camera}'"), parts, camera)
    partial.replace(out)
    return out
