"""The clip filter graph: one decode, a branch per frame shape (crop, scale, captions, logo), bumpers."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from touktouk.errors import MediaError
from touktouk.render.encode import AAC_IN, STEREO, Branding, Corner, EncodeSettings, OutputSpec, aac_args
from touktouk.render.ffmpeg import input_path
from touktouk.render.loudness import Loudness, loudnorm_filter, normalises
from touktouk.render.probe import VIDEO_FPS_CAP, MediaInfo, stream_summary

Fit = Literal["crop", "pad"]


def crop_window(src_w: int, src_h: int, out_w: int, out_h: int) -> tuple[int, int]:
    """(width, height) in source pixels (square ones: `MediaInfo.display_width` wide) of the largest
    window of the output's aspect; its left edge ranges over [0, src_w - width] (what a reframing
    `crop_x` expression must produce)."""
    if src_w * out_h > out_w * src_h:
        return min(src_w, round(src_h * out_w / out_h)), src_h
    return src_w, min(src_h, round(src_w * out_h / out_w))


def frame_filter(src_w: int, src_h: int, out_w: int, out_h: int, crop_x: str | None = None, fit: Fit = "crop") -> str:
    """Source frame (src_w x src_h square pixels, see `square_pixels_filter`) -> out_w x out_h.
    "crop": the largest window of the output's aspect, its left edge at `crop_x` (an expression of
    t, clamped to the frame) or centred; "pad": fit inside, bars."""
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


def aspect(w: int, h: int) -> tuple[int, int]:
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
        key = (aspect(o.width, o.height), o.crop_x, o.subtitles or default_subtitles)
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


def square_pixels_filter(info: MediaInfo) -> str:
    """The filter turning the decoded picture into square pixels (anamorphic footage, 1440x1080 at
    4:3, widened to 1920x1080), ending with `setsar=1`; applied before any crop or scale, which
    work in pixels and would otherwise squeeze the picture."""
    if info.sample_aspect == 1:
        return "setsar=1"
    return f"scale={info.display_width}:{info.height},setsar=1"


def clip_fps(info: MediaInfo, encodes: Sequence[EncodeSettings]) -> Fraction:
    """The render's frame rate, exact: the source's (30000/1001 stays so: rounded to 30, a frame
    would be repeated every 33 s), capped by every output's preset (in the source's clock: 59.94
    under a 30 fps cap gives 29.97, every other frame); a still background for audio-only footage
    needs no more than 30 fps."""
    cap = min(e.max_fps for e in encodes)
    if not info.has_video:
        return Fraction(min(cap, VIDEO_FPS_CAP))
    rate = info.rate
    if not rate:
        return Fraction(cap)
    if rate <= cap:
        return rate
    return Fraction(cap * 1000, 1001) if rate.denominator == 1001 else Fraction(cap)


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
    args += ["-i", input_path(info.path)]
    n_inputs = 1
    graph: list[str] = []

    def add_input(*more: str) -> int:
        nonlocal n_inputs
        args.extend(more)
        n_inputs += 1
        return n_inputs - 1

    branches = plan_branches(outputs, subtitles)
    if info.has_video:
        base = f"[0:v]fps={fps},{square_pixels_filter(info)}"
        if len(branches) == 1:
            graph.append(f"{base}[b0]")
        else:
            graph.append(f"{base},split={len(branches)}" + "".join(f"[b{i}]" for i in range(len(branches))))
    video: dict[int, str] = {}  # output index -> its final video label
    for bi, br in enumerate(branches):
        big = outputs[br.outputs[0]]
        if info.has_video:
            chain = f"[b{bi}]" + frame_filter(info.display_width, info.height, big.width, big.height, br.crop_x, fit)
        else:
            chain = f"color=c={background}:s={big.width}x{big.height}:r={fps}:d={duration:.3f}"
        if br.subtitles is not None:
            chain += "," + subtitles_filter(br.subtitles, fonts_dir or None)
        if brand.logo is not None:
            li = add_input("-i", input_path(brand.logo))
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
        if not normalises(measured, e):
            return None
        assert e.loudness is not None
        return (e.loudness, e.true_peak, e.loudness_range)

    targets: dict[tuple[float, float, float] | None, list[int]] = {}
    for i, e in enumerate(encodes):
        targets.setdefault(target(e), []).append(i)
    keys = list(targets)
    if len(keys) == 1:
        graph.append(f"[0:a]{STEREO}[p0]")
    else:
        graph.append(f"[0:a]{STEREO},asplit={len(keys)}" + "".join(f"[p{k}]" for k in range(len(keys))))
    audio: dict[int, str] = {}
    for k, key in enumerate(keys):
        users = targets[key]
        chain = f"[p{k}]"
        if key is not None:
            assert measured is not None
            chain += loudnorm_filter(measured, encodes[users[0]]) + ","
        chain += AAC_IN
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
            bi = add_input("-i", input_path(b.path))
            tag = f"{i}_{n}"
            graph.append(
                f"[{bi}:v]scale='trunc(iw*sar/2)*2':ih,setsar=1,"  # square pixels first (as the footage)
                f"scale={out.width}:{out.height}:force_original_aspect_ratio=increase,"
                f"crop={out.width}:{out.height},setsar=1,fps={fps},format=yuv420p[bv{tag}]"
            )
            if b.has_audio:
                graph.append(f"[{bi}:a]{STEREO},{AAC_IN}[ba{tag}]")
            else:
                si = add_input("-f", "lavfi", "-t", f"{b.duration:.3f}", "-i", "anullsrc=r=48000:cl=stereo")
                graph.append(f"[{si}:a]{AAC_IN}[ba{tag}]")
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
        args += [*aac_args(e), "-movflags", "+faststart"]
        if not bumpers:
            args += ["-t", f"{duration:.3f}"]
        args.append(str(out.path))
    return args
