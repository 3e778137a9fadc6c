"""The only room that runs ffmpeg and ffprobe: probing, sound extraction, the render engine (one
ffmpeg process per clip), the episode master and covers."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import ffmpeg

from touktouk.config import BrandSettings
from touktouk.errors import ConfigError, MediaError
from touktouk.platforms import YOUTUBE_MASTER, EncodePreset

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


@dataclass(frozen=True)
class EncodeSettings:
    """How one output is encoded: x264 High yuv420p, AAC 48 kHz stereo, +faststart, plus the
    platform caps (frame rate, video bitrate) and the loudness target of its sound."""

    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: str = "192k"
    max_fps: int = VIDEO_FPS_CAP
    maxrate: str = "8M"
    bufsize: str = "16M"
    loudness: float | None = -14.0  # integrated LUFS; None leaves the sound level as recorded
    true_peak: float = -1.5  # dBTP
    loudness_range: float = 11.0  # LU, loudnorm's LRA target
    aac_coder: str = "twoloop"  # ffmpeg's AAC search: twoloop (its default), or fast


# ffmpeg's default AAC search (twoloop) slows sharply at high bit rates: on 2 cores, a minute of
# stereo took 2.2 s at 192 kb/s but 9.5 s at 384 kb/s (the YouTube master's rate: 95 s for a
# 10-minute episode); the fast search took 4.7 s there. At 320 kb/s and above either is far past
# transparency, so the fast search is used.
FAST_AAC_FROM_KBPS = 320


def encode_settings(preset: EncodePreset, *, x264_preset: str = "veryfast", crf: int = 20) -> EncodeSettings:
    """EncodeSettings from a platform's preset data (platforms.py) and the series' x264 choices."""
    return EncodeSettings(
        preset=x264_preset,
        crf=crf,
        aac_coder="fast" if preset.audio_bitrate_kbps >= FAST_AAC_FROM_KBPS else "twoloop",
        audio_bitrate=f"{preset.audio_bitrate_kbps}k",
        max_fps=preset.fps_cap,
        maxrate=f"{preset.video_maxrate_kbps}k",
        bufsize=f"{preset.video_bufsize_kbps}k",
        loudness=preset.loudness_lufs,
        true_peak=preset.true_peak_db,
    )


@dataclass(frozen=True)
class OutputSpec:
    """One encoded file from a render: where, at which size, with its own captions, reframing
    (`crop_x`: an ffmpeg expression of `t`, the crop window's left edge in source pixels; None
    centres it) and encoding (None: the render's default)."""

    path: Path
    width: int
    height: int
    subtitles: Path | None = None
    crop_x: str | None = None
    encode: EncodeSettings | None = None


@dataclass(frozen=True)
class Loudness:
    """loudnorm's first-pass measurement of a stretch of sound (the values its second pass needs)."""

    input_i: float  # integrated loudness, LUFS
    input_tp: float  # true peak, dBTP
    input_lra: float  # loudness range, LU
    input_thresh: float  # gating threshold, LUFS
    target_offset: float

    @property
    def silent(self) -> bool:
        """Digital silence (or close to it): there is nothing to normalise."""
        return not math.isfinite(self.input_i) or self.input_i < -70.0


Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


@dataclass(frozen=True)
class Branding:
    """Logo overlay and intro/outro bumpers, checked to exist (see `branding_from`)."""

    logo: Path | None = None
    logo_position: Corner = "top-left"
    logo_width: float = 0.12  # fraction of the output width
    logo_margin: float = 0.03  # fraction of the output width, from both edges of the corner
    intro: Path | None = None
    outro: Path | None = None


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
    sar = ""
    if video is not None:
        width, height = int(video.get("width", 0)), int(video.get("height", 0))
        sar = str(video.get("sample_aspect_ratio") or "")
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
            ffmpeg.input(_ff(src))
            .output(str(dst), vn=None, ac=1, ar=16000, acodec="pcm_s16le", map="0:a:0")
            .overwrite_output()
            .global_args("-nostdin")
            .run(quiet=True)
        )
    except ffmpeg.Error as exc:
        raise MediaError(f"{src}: could not extract the sound track ({_ffmpeg_message(exc)}).") from None
    return dst


# --- the render engine: one ffmpeg process per clip ---------------------------------------------

_STEREO = "aformat=channel_layouts=stereo"  # downmix (5.1 included) before measuring or applying loudness
_AAC_IN = "aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"
Fit = Literal["crop", "pad"]


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise MediaError(f"{what} failed ({lines[-1] if lines else 'ffmpeg failed'}).")
    return done


def measure_loudness(path: Path | str, start: float = 0.0, end: float | None = None) -> Loudness:
    """loudnorm's first pass over [start, end) of the sound, downmixed to stereo as the render will."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-ss", f"{start:.3f}"]
    if end is not None:
        cmd += ["-t", f"{end - start:.3f}"]
    cmd += ["-i", _ff(path), "-map", "0:a:0", "-af", f"{_STEREO},loudnorm=print_format=json", "-f", "null", "-"]
    err = _run(cmd, f"{path}: measuring the loudness").stderr
    try:
        data = json.loads(err[err.rindex("{") : err.rindex("}") + 1])
        return Loudness(
            input_i=float(data["input_i"]),
            input_tp=float(data["input_tp"]),
            input_lra=float(data["input_lra"]),
            input_thresh=float(data["input_thresh"]),
            target_offset=float(data["target_offset"]),
        )
    except (ValueError, KeyError):
        raise MediaError(f"{path}: ffmpeg's loudness measurement printed no readable result.") from None


def _aac_args(e: EncodeSettings) -> list[str]:
    """The sound's output arguments of every render: AAC at the preset's rate, 48 kHz stereo."""
    return ["-c:a", "aac", "-aac_coder", e.aac_coder, "-b:a", e.audio_bitrate, "-ar", "48000", "-ac", "2"]


def _normalises(measured: Loudness | None, e: EncodeSettings) -> bool:
    """Whether an output's sound gets loudnorm's second pass: it asks for a target and there is
    a measurement of something louder than digital silence."""
    return e.loudness is not None and measured is not None and not measured.silent


def loudnorm_filter(measured: Loudness, encode: EncodeSettings) -> str:
    """loudnorm's second pass (linear: one gain for the whole clip when the true peak allows it)."""
    m = measured
    return (
        f"loudnorm=I={encode.loudness:.1f}:TP={encode.true_peak:.1f}:LRA={encode.loudness_range:.1f}"
        f":measured_I={m.input_i:.2f}:measured_TP={m.input_tp:.2f}:measured_LRA={m.input_lra:.2f}"
        f":measured_thresh={m.input_thresh:.2f}:offset={m.target_offset:.2f}:linear=true:print_format=none"
    )


def crop_window(src_w: int, src_h: int, out_w: int, out_h: int) -> tuple[int, int]:
    """(width, height) in source pixels of the largest window of the output's aspect; its left edge
    ranges over [0, src_w - width] (what a reframing `crop_x` expression must produce)."""
    if src_w * out_h > out_w * src_h:
        return min(src_w, round(src_h * out_w / out_h)), src_h
    return src_w, min(src_h, round(src_w * out_h / out_w))


def frame_filter(src_w: int, src_h: int, out_w: int, out_h: int, crop_x: str | None = None, fit: Fit = "crop") -> str:
    """Source frame -> out_w x out_h. "crop": the largest window of the output's aspect, its left
    edge at `crop_x` (an expression of t, clamped to the frame) or centred; "pad": fit inside, bars."""
    if fit == "pad":
        return (
            f"scale={out_w}:{out_h}:force_original_aspect_ratio=decrease,"
            f"pad={out_w}:{out_h}:(ow-iw)/2:(oh-ih)/2,setsar=1"
        )
    cw, ch = crop_window(src_w, src_h, out_w, out_h)
    if cw < src_w:  # the source is wider than the output: cut the sides
        x = f"'max(0,min({src_w - cw},{crop_x}))'" if crop_x else str((src_w - cw) // 2)
        y = "0"
    else:  # taller (or equal): cut top and bottom, centred
        x, y = "0", str((src_h - ch) // 2)
    return f"crop=w={cw}:h={ch}:x={x}:y={y},scale={out_w}:{out_h},setsar=1"


def _aspect(w: int, h: int) -> tuple[int, int]:
    g = math.gcd(w, h)
    return w // g, h // g


@dataclass(frozen=True)
class Branch:
    """Outputs that share one framed picture: same aspect, reframing and captions; the first
    (largest) output is framed, the others are scaled down from it."""

    aspect: tuple[int, int]
    crop_x: str | None
    subtitles: Path | None
    outputs: tuple[int, ...]  # indices into the outputs, largest first


def plan_branches(outputs: Sequence[OutputSpec], default_subtitles: Path | None = None) -> list[Branch]:
    """Group outputs by (aspect, crop_x, captions), in first-seen order."""
    groups: dict[tuple[tuple[int, int], str | None, Path | None], list[int]] = {}
    for i, o in enumerate(outputs):
        key = (_aspect(o.width, o.height), o.crop_x, o.subtitles or default_subtitles)
        groups.setdefault(key, []).append(i)
    return [
        Branch(a, c, s, tuple(sorted(idx, key=lambda i: -outputs[i].width * outputs[i].height)))
        for (a, c, s), idx in groups.items()
    ]


@dataclass(frozen=True)
class _Bumper:
    path: Path
    duration: float
    has_audio: bool


def _bumper(path: Path) -> _Bumper:
    try:
        data = stream_summary(path)
    except subprocess.CalledProcessError:
        raise MediaError(f"{path}: the bumper is not a video ffmpeg can read; re-export it as MP4.") from None
    streams = data.get("streams", [])
    if not any(s.get("codec_type") == "video" for s in streams):
        raise MediaError(f"{path}: the bumper has no picture; give a video file (MP4) as intro or outro.")
    duration = float(data.get("format", {}).get("duration") or 0)
    return _Bumper(path, duration, any(s.get("codec_type") == "audio" for s in streams))


def _overlay_xy(corner: Corner, margin: int) -> str:
    x = f"{margin}" if corner.endswith("left") else f"main_w-overlay_w-{margin}"
    y = f"{margin}" if corner.startswith("top") else f"main_h-overlay_h-{margin}"
    return f"x={x}:y={y}"


def clip_fps(info: MediaInfo, encodes: Sequence[EncodeSettings]) -> int:
    """The render's frame rate: the source's, capped by every output's preset (a still background
    for audio-only footage needs no more than 30 fps)."""
    cap = min(e.max_fps for e in encodes)
    if not info.has_video:
        return min(cap, VIDEO_FPS_CAP)
    return min(round(info.fps) or cap, cap)


def clip_command(
    info: MediaInfo,
    start: float,
    end: float,
    outputs: Sequence[OutputSpec],
    *,
    subtitles: Path | None = None,
    fonts_dir: str = "",
    encode: EncodeSettings = EncodeSettings(),
    background: str = "0x1B1B2F",
    measured: Loudness | None = None,
    branding: Branding | None = None,
    fit: Fit = "crop",
) -> list[str]:
    """The ffmpeg argument list of a render (pure but for probing the bumpers): one input decode,
    split per branch (crop -> scale -> captions -> logo), split again per size, loudness applied
    once per distinct target, bumpers concatenated per output."""
    from touktouk.render.ffmpeg import subtitles_filter

    brand = branding or Branding()
    duration = end - start
    encodes = [o.encode or encode for o in outputs]
    fps = clip_fps(info, encodes)
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-y", "-ss", f"{start:.3f}", "-t", f"{duration:.3f}"]
    args += ["-i", _ff(info.path)]
    n_inputs = 1
    graph: list[str] = []

    def add_input(*more: str) -> int:
        nonlocal n_inputs
        args.extend(more)
        n_inputs += 1
        return n_inputs - 1

    branches = plan_branches(outputs, subtitles)
    if info.has_video:
        base = f"[0:v]fps={fps},setsar=1"
        if len(branches) == 1:
            graph.append(f"{base}[b0]")
        else:
            graph.append(f"{base},split={len(branches)}" + "".join(f"[b{i}]" for i in range(len(branches))))
    video: dict[int, str] = {}  # output index -> its final video label
    for bi, br in enumerate(branches):
        big = outputs[br.outputs[0]]
        if info.has_video:
            chain = f"[b{bi}]" + frame_filter(info.width, info.height, big.width, big.height, br.crop_x, fit)
        else:
            chain = f"color=c={background}:s={big.width}x{big.height}:r={fps}:d={duration:.3f}"
        if br.subtitles is not None:
            chain += "," + subtitles_filter(br.subtitles, fonts_dir or None)
        if brand.logo is not None:
            li = add_input("-i", _ff(brand.logo))
            lw = max(2, round(big.width * brand.logo_width / 2) * 2)
            graph.append(f"[{li}:v]scale={lw}:-1[logo{bi}]")
            graph.append(f"{chain}[pre{bi}]")
            margin = round(big.width * brand.logo_margin)
            chain = f"[pre{bi}][logo{bi}]overlay={_overlay_xy(brand.logo_position, margin)}:format=auto"
        if len(br.outputs) == 1:
            graph.append(f"{chain}[v{br.outputs[0]}]")
            video[br.outputs[0]] = f"v{br.outputs[0]}"
            continue
        graph.append(f"{chain},split={len(br.outputs)}" + "".join(f"[s{i}]" for i in br.outputs))
        for n, i in enumerate(br.outputs):
            if n == 0:
                video[i] = f"s{i}"
            else:
                graph.append(f"[s{i}]scale={outputs[i].width}:{outputs[i].height}:flags=lanczos,setsar=1[v{i}]")
                video[i] = f"v{i}"

    # Sound: downmix, then one loudnorm per distinct target, then one copy per output.
    def target(e: EncodeSettings) -> tuple[float, float, float] | None:
        if not _normalises(measured, e):
            return None
        assert e.loudness is not None
        return (e.loudness, e.true_peak, e.loudness_range)

    targets: dict[tuple[float, float, float] | None, list[int]] = {}
    for i, e in enumerate(encodes):
        targets.setdefault(target(e), []).append(i)
    keys = list(targets)
    if len(keys) == 1:
        graph.append(f"[0:a]{_STEREO}[p0]")
    else:
        graph.append(f"[0:a]{_STEREO},asplit={len(keys)}" + "".join(f"[p{k}]" for k in range(len(keys))))
    audio: dict[int, str] = {}
    for k, key in enumerate(keys):
        users = targets[key]
        chain = f"[p{k}]"
        if key is not None:
            assert measured is not None
            chain += loudnorm_filter(measured, encodes[users[0]]) + ","
        chain += _AAC_IN
        if len(users) == 1:
            graph.append(f"{chain}[a{users[0]}]")
        else:
            graph.append(f"{chain},asplit={len(users)}" + "".join(f"[a{i}]" for i in users))
        audio.update({i: f"a{i}" for i in users})

    bumpers = [_bumper(p) for p in (brand.intro, brand.outro) if p is not None]
    has_intro = brand.intro is not None
    for i, out in enumerate(outputs):
        if not bumpers:
            continue
        parts = []
        for n, b in enumerate(bumpers):
            bi = add_input("-i", _ff(b.path))
            tag = f"{i}_{n}"
            graph.append(
                f"[{bi}:v]scale={out.width}:{out.height}:force_original_aspect_ratio=increase,"
                f"crop={out.width}:{out.height},setsar=1,fps={fps},format=yuv420p[bv{tag}]"
            )
            if b.has_audio:
                graph.append(f"[{bi}:a]{_STEREO},{_AAC_IN}[ba{tag}]")
            else:
                si = add_input("-f", "lavfi", "-t", f"{b.duration:.3f}", "-i", "anullsrc=r=48000:cl=stereo")
                graph.append(f"[{si}:a]{_AAC_IN}[ba{tag}]")
            parts.append(f"[bv{tag}][ba{tag}]")
        graph.append(f"[{video[i]}]format=yuv420p[mv{i}]")
        main = f"[mv{i}][{audio[i]}]"
        seq = [parts[0], main, *parts[1:]] if has_intro else [main, *parts]
        graph.append("".join(seq) + f"concat=n={len(seq)}:v=1:a=1[cv{i}][ca{i}]")
        video[i], audio[i] = f"cv{i}", f"ca{i}"

    args += ["-filter_complex", ";".join(graph)]
    for i, (out, e) in enumerate(zip(outputs, encodes, strict=True)):
        args += ["-map", f"[{video[i]}]", "-map", f"[{audio[i]}]"]
        args += ["-c:v", "libx264", "-preset", e.preset, "-crf", str(e.crf), "-profile:v", "high"]
        args += ["-pix_fmt", "yuv420p", "-maxrate", e.maxrate, "-bufsize", e.bufsize]
        args += [*_aac_args(e), "-movflags", "+faststart"]
        if not bumpers:
            args += ["-t", f"{duration:.3f}"]
        args.append(str(out.path))
    return args


def render_clip(
    info: MediaInfo,
    start: float,
    end: float,
    outputs: Sequence[OutputSpec],
    *,
    subtitles: Path | None = None,
    fonts_dir: str = "",
    encode: EncodeSettings = EncodeSettings(),
    background: str = "0x1B1B2F",
    measured: Loudness | None = None,
    branding: Branding | None = None,
    fit: Fit = "crop",
    what: str = "",
) -> Loudness | None:
    """Render [start, end) into every output from one ffmpeg process (one decode). Each output may
    carry its own captions (else `subtitles`), reframing and encoding (else `encode`). The sound is
    measured once (or `measured` is used) and normalised to each output's loudness target.
    `fit` crops (clips) or pads (the master) a picture of another aspect; `what` names the render
    in errors. Returns the loudness measurement used (None when no output asks for normalisation)."""
    if not outputs:
        return None
    encodes = [o.encode or encode for o in outputs]
    if measured is None and any(e.loudness is not None for e in encodes):
        measured = measure_loudness(info.path, start, end)
    cmd = clip_command(
        info,
        start,
        end,
        outputs,
        subtitles=subtitles,
        fonts_dir=fonts_dir,
        encode=encode,
        background=background,
        measured=measured,
        branding=branding,
        fit=fit,
    )
    _run(cmd, f"{info.path}: {what or f'rendering the clip {start:.1f}-{end:.1f} s'}")
    return measured


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
        _run(master_copy_command(info, out, encode, loudness), f"{info.path}: writing the episode master")
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
    sound = _STEREO
    if _normalises(measured, encode):
        assert measured is not None
        sound += "," + loudnorm_filter(measured, encode)
    sound += "," + _AAC_IN
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-y", "-i", _ff(info.path)]
    args += ["-map", "0:V:0", "-map", "0:a:0", "-c:v", "copy", "-af", sound, *_aac_args(encode)]
    return [*args, "-movflags", "+faststart", "-t", f"{info.duration:.3f}", str(out)]


def branding_from(brand: BrandSettings, base: Path | None = None) -> Branding:
    """Branding from the config's brand settings; relative paths are taken from `base` (the config
    file's folder). A missing file is the user's to fix: ConfigError naming it."""

    def path(value: str, what: str) -> Path | None:
        if not value:
            return None
        p = Path(value).expanduser()
        if base is not None and not p.is_absolute():
            p = base / p
        if not p.is_file():
            raise ConfigError(f"{p}: the brand {what} file is not there; fix brand.{what} in the series config.")
        return p

    return Branding(
        logo=path(brand.logo, "logo"),
        logo_position=brand.logo_position,
        logo_width=brand.logo_width,
        logo_margin=brand.logo_margin,
        intro=path(brand.intro, "intro"),
        outro=path(brand.outro, "outro"),
    )


# --- covers --------------------------------------------------------------------------------------


def _frame_rgb(path: str, at: float, width: int, height: int) -> Any:
    import numpy as np

    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", _ff(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=False,
    ).stdout  # fmt: skip
    if len(raw) < width * height * 3:
        return None
    return np.frombuffer(raw[: width * height * 3], dtype=np.uint8).reshape(height, width, 3)


def cover_frame_score(rgb: Any) -> tuple[float, float, float | None]:
    """(score, sharpness, face centre x as a fraction of the width or None) of one frame: the
    variance of the Laplacian (focus, no motion blur) on a 480-pixel-wide copy, doubled when a
    face is found (OpenCV's Haar cascade)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = 480 / w
    small = cv2.resize(rgb, (480, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    sharp = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")  # type: ignore[attr-defined]
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
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
            rgb = _frame_rgb(info.path, t, info.width, info.height)
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


def thumbnail(video: Path, at: float, out: Path, *, width: int = 240) -> Path:
    """A small JPEG of `video` at `at` seconds, `width` pixels wide (the review page's strip)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{max(0.0, at):.3f}", "-i", _ff(video)]
    cmd += ["-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "5", str(out)]
    _run(cmd, f"{video}: taking a thumbnail at {at:.1f} s")
    return out
