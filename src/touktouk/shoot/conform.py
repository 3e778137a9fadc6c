"""The conformed footage of a shoot: one camera's picture laid on the timeline's clock, under the
reference sound (the mics mixed, or the recorder), one file the rest of the pipeline takes as
footage; or, with several cameras and the mics to say who speaks, the multicam program: every
camera so laid, fitted to one frame, and switched at the cut's frames (`streamselect`, driven by
`sendcmd` on the timeline's time: frame-exact, and one encode).

Drift is corrected on the picture alone, by its timestamps (`setpts` scales them by the measured
clock ratio, then `fps` puts the frames back on the exact frame grid, so one frame in
1 / (drift x rate) is repeated or left out: every 276 s at 145 ppm and 25 fps). The sound is the
reference's own samples, never resampled or time-stretched (no `atempo`, no `asetrate`): the
camera's scratch sound is used only to find where it goes. A camera that started before the
timeline is trimmed; one that started after it, or stopped before it ends, is padded with black.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from touktouk.progress import Progress
from touktouk.render.ffmpeg import input_path, run_ffmpeg
from touktouk.shoot.sync import Placement

AUDIO_BITRATE = "256k"


@dataclass(frozen=True)
class Conform:
    """What to lay where: the camera file, its placement, the reference files and the timeline."""

    camera: Path
    origin: float  # the camera's time 0: the first timestamp of its sound (of its picture without sound)
    rate: Fraction  # the camera's exact frame rate
    placement: Placement
    reference: tuple[Path, ...]  # the mics (mixed) or the recorder
    duration: float  # of the timeline, seconds
    preset: str = "superfast"
    crf: int = 20


def video_filter(c: Conform) -> str:
    """The picture's filter chain: timestamps onto the timeline, the exact frame grid, black padding
    where the camera did not roll, exactly round(duration x rate) frames."""
    p = c.placement
    frames = round(c.duration * c.rate)
    scale = f"{p.rate_factor:.12f}"
    rate = f"{c.rate.numerator}/{c.rate.denominator}"
    lead = 0
    if p.offset_s < 0:  # the camera started first: its first -offset seconds fall before the timeline
        steps = [f"setpts=(PTS-{c.origin:.6f}/TB)*{scale}+({p.offset_s:.6f})/TB", "trim=start=0"]
    else:  # it started later: black frames until its first frame plays
        steps = [f"setpts=(PTS-{c.origin:.6f}/TB)*{scale}"]
        lead = round(p.offset_s * c.rate)
    # One tpad for both ends (two in a row lose the second's padding on ffmpeg 5.1).
    steps += [
        f"fps=fps={rate}:start_time=0",
        f"tpad=start={lead}:stop={frames}:start_mode=add:stop_mode=add:color=black",
        f"trim=end_frame={frames}",
        "format=yuv420p",
    ]
    return ",".join(steps)


def audio_filter(inputs: Sequence[int], duration: float) -> str:
    """The reference sound: the mics summed as recorded (no level change), 48 kHz stereo, the
    timeline's length."""
    labels = "".join(f"[{i}:a:0]" for i in inputs)
    mixed = f"{labels}amix=inputs={len(inputs)}:duration=longest:normalize=0," if len(inputs) > 1 else f"{labels}"
    return f"{mixed}aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=end={duration:.6f}"


def conform_command(c: Conform, out: Path) -> list[str]:
    cmd = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", input_path(c.camera)]
    for ref in c.reference:
        cmd += ["-i", input_path(ref)]
    graph = f"[0:v:0]{video_filter(c)}[v];{audio_filter(range(1, len(c.reference) + 1), c.duration)}[a]"
    return [*cmd, "-filter_complex", graph, *_encode(c, out)]


def _encode(c: Conform, out: Path) -> list[str]:
    """The outputs' mapping and encode: the graph's [v] and [a], x264 at the shoot's settings, AAC."""
    return [
        "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", c.preset, "-crf", str(c.crf),
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-movflags", "+faststart", input_path(out),
    ]  # fmt: skip


def conform(c: Conform, out: Path, on_progress: Progress | None = None) -> Path:
    """Write the conformed footage to `out` (through a partial file, renamed when whole)."""
    partial = out.with_name(out.name + ".partial" + out.suffix)
    run_ffmpeg(conform_command(c, partial), f"conforming {c.camera.name} to the shoot's timeline",
               duration=c.duration, on_progress=on_progress)  # fmt: skip
    partial.replace(out)
    return out


@dataclass(frozen=True)
class Program:
    """The multicam program: each camera laid on the timeline at the program's frame rate, the cut
    as frame ranges [first, end) per camera name, and the program's frame (square pixels)."""

    cameras: tuple[tuple[str, Conform, Fraction], ...]  # name, how it is laid, its pixels' shape (SAR)
    cuts: tuple[tuple[int, int, str], ...]
    size: tuple[int, int]

    @property
    def first(self) -> Conform:
        return self.cameras[0][1]


def fit_filter(size: tuple[int, int], sar: Fraction) -> str:
    """A camera's picture in the program's frame: square pixels first, then scaled to fit and
    padded with black (a 4:3 camera in a 16:9 programme is pillarboxed, never stretched)."""
    w, h = size
    square = f"scale=w=2*trunc(iw*{sar.numerator}/{sar.denominator}/2):h=ih," if sar != 1 else ""
    return (
        f"{square}setsar=1,scale=w={w}:h={h}:force_original_aspect_ratio=decrease,"
        f"pad=w={w}:h={h}:x=(ow-iw)/2:y=(oh-ih)/2:color=black,setsar=1"
    )


def switch_commands(cuts: Sequence[tuple[int, int, str]], order: Sequence[str], rate: Fraction) -> str:
    """`sendcmd` lines switching `streamselect@cut` to each shot's camera half a frame before its
    first frame (so the command is in place when that frame arrives)."""
    lines = []
    for a, _, cam in cuts[1:]:
        lines.append(f"{float((Fraction(a) - Fraction(1, 2)) / rate):.6f} streamselect@cut map {order.index(cam)}")
    return ";".join(lines)


def program_graph(p: Program) -> str:
    names = [n for n, _, _ in p.cameras]
    chains = [f"[{i}:v:0]{video_filter(c)},{fit_filter(p.size, sar)}[c{i}]" for i, (_, c, sar) in enumerate(p.cameras)]
    rate = p.first.rate
    n = len(names)
    audio = audio_filter(range(n, n + len(p.first.reference)), p.first.duration)
    if n == 1:
        return ";".join([*chains, "[c0]null[v]", f"{audio}[a]"])
    commands = switch_commands(p.cuts, names, rate)
    start = names.index(p.cuts[0][2])
    inputs = "".join(f"[c{i}]" if i else "[s0]" for i in range(n))
    return ";".join([
        *chains,
        f"[c0]sendcmd=c='{commands}'[s0]" if commands else "[c0]null[s0]",
        f"{inputs}streamselect@cut=inputs={n}:map={start}[v]",
        f"{audio}[a]",
    ])  # fmt: skip


def program_command(p: Program, out: Path, script: Path) -> list[str]:
    """The ffmpeg command of the program; its filter graph goes to `script` (a long cut's switch
    list is longer than a command line may be)."""
    script.write_text(program_graph(p), encoding="utf-8")
    cmd = ["ffmpeg", "-nostdin", "-y", "-v", "error"]
    for _, c, _ in p.cameras:
        cmd += ["-i", input_path(c.camera)]
    for ref in p.first.reference:
        cmd += ["-i", input_path(ref)]
    return [*cmd, "-filter_complex_script", input_path(script), *_encode(p.first, out)]


def render_program(p: Program, out: Path, on_progress: Progress | None = None) -> Path:
    """Write the multicam program to `out` (through a partial file, renamed when whole)."""
    partial = out.with_name(out.name + ".partial" + out.suffix)
    script = out.with_name(out.name + ".graph.txt")
    run_ffmpeg(program_command(p, partial, script), f"cutting the shoot's {len(p.cameras)} cameras",
               duration=p.first.duration, on_progress=on_progress)  # fmt: skip
    partial.replace(out)
    return out
