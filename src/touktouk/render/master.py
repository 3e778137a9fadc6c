"""The YouTube master of the whole episode: the footage's picture copied when it already fits."""

from __future__ import annotations

from pathlib import Path

from touktouk.platforms import YOUTUBE_MASTER
from touktouk.progress import Progress
from touktouk.render.clip import render_clip
from touktouk.render.encode import AAC_IN, STEREO, Branding, EncodeSettings, OutputSpec, aac_args, encode_settings
from touktouk.render.ffmpeg import input_path, run_ffmpeg
from touktouk.render.loudness import Loudness, loudnorm_filter, measure_loudness, normalises
from touktouk.render.probe import MediaInfo

MASTER_WIDTH, MASTER_HEIGHT = 1920, 1080


def render_master(
    info: MediaInfo,
    out: Path,
    *,
    loudness: Loudness | None = None,
    encode: EncodeSettings | None = None,
    fonts_dir: str = "",
    subtitles: Path | None = None,
    branding: Branding | None = None,
    background: str = "0x1B1B2F",
    on_progress: Progress | None = None,
) -> Loudness | None:
    """The whole episode as a 16:9 1920x1080 master (fitted inside, bars where the aspect differs;
    audio-only footage over a plain background), loudness-normalised in two passes (`loudness`: the
    first pass's measurement of the whole sound, measured here when None). Footage whose picture
    already fits the preset keeps it as is (`master_copies_video`)."""
    if encode is None:
        encode = encode_settings(YOUTUBE_MASTER)
    if loudness is None and encode.loudness is not None:
        loudness = measure_loudness(info.path)
    if master_copies_video(info, encode, subtitles=subtitles, branding=branding):
        run_ffmpeg(
            master_copy_command(info, out, encode, loudness),
            f"{info.path}: writing the episode master",
            duration=info.duration,
            on_progress=on_progress,
        )
        return loudness
    return render_clip(
        info,
        0.0,
        info.duration,
        [OutputSpec(out, MASTER_WIDTH, MASTER_HEIGHT)],
        subtitles=subtitles,
        fonts_dir=fonts_dir,
        encode=encode,
        background=background,
        measured=loudness,
        branding=branding,
        fit="pad",
        what="rendering the episode master",
        on_progress=on_progress,
    )


def master_copies_video(
    info: MediaInfo, encode: EncodeSettings, *, subtitles: Path | None = None, branding: Branding | None = None
) -> bool:
    """Whether the footage's picture already is a YouTube master's, so the master copies it as is
    (no decode, no x264: minutes saved on a long episode, and no generation loss) and only the
    sound is normalised: H.264 yuv420p, square pixels, exactly the master's 1920x1080 (the size
    its key and the manifest state; other sizes are scaled), constant frame rate within the
    preset's cap, no rotation flag, a known bit rate within the preset's cap, and nothing to burn in."""
    if subtitles is not None or (branding is not None and (branding.logo or branding.intro or branding.outro)):
        return False
    if not info.has_video or info.video_codec != "h264" or info.pix_fmt != "yuv420p" or not info.square_pixels:
        return False
    if info.rotation or info.variable_frame_rate or not 0 < info.fps <= encode.max_fps + 0.01:
        return False
    if (info.width, info.height) != (MASTER_WIDTH, MASTER_HEIGHT):
        return False
    return 0 < info.video_bitrate <= _bits_per_second(encode.maxrate)


def _bits_per_second(rate: str) -> int:
    """An ffmpeg rate ("8000k", "12M", "500000") in bits per second."""
    scale = {"k": 1_000, "K": 1_000, "M": 1_000_000}.get(rate[-1:], 1)
    return int(float(rate.rstrip("kKM")) * scale)


def master_copy_command(info: MediaInfo, out: Path, encode: EncodeSettings, measured: Loudness | None) -> list[str]:
    """The master's command when its picture is copied (see `master_copies_video`): the first
    video stream as is, the sound downmixed, loudness-normalised and encoded as in `clip_command`."""
    sound = STEREO
    if normalises(measured, encode):
        assert measured is not None
        sound += "," + loudnorm_filter(measured, encode)
    sound += "," + AAC_IN
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-y", "-i", input_path(info.path)]
    args += ["-map", "0:V:0", "-map", "0:a:0", "-c:v", "copy", "-af", sound, *aac_args(encode)]
    return [*args, "-movflags", "+faststart", "-t", f"{info.duration:.3f}", str(out)]
