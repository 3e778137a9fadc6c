"""Publish benchmark (issue 5, target e): a full `touktouk publish` of an episode, wall time as a
fraction of the episode's duration, and the render engine's share of it.

    .venv/bin/python benchmarks/publish.py [--minutes 10] [--height 1080] [--workdir DIR]

The episode is built here from real recordings in ../shared/media: the talking-head lecture
video (physicsworks.webm, 320x240, looped, scaled to 16:9 at --height) under real French speech
(the four FLEURS clips, looped). It is then published exactly as a producer would (the CLI, a
temporary Prefect server, the shipped config/touktouk.toml with 5 automatic clips: faster-whisper
`base`, clips of 20-60 s, every clip platform, the YouTube master, a local store), and
separately the same 5 clips are rendered by `render_clip` into the three formats of
issue 5 (9:16 1080x1920, 1:1 1080x1080, 16:9 1920x1080) from one decode each.

Printed: episode duration; publish wall time and ratio (target <= 0.45 on 2 cores, issue 16); its
CPU time and the share of the wall time the cores were busy (CPU seconds / cores / wall, target >=
90 %); the formats the publish delivered; where the time went: the run's own per-stage table (wall,
span and CPU time of each stage, as `touktouk publish` prints it and the Prefect summary shows it)
and its timing log lines; the 5 x 3 render wall time and its ratio to the episode duration.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from touktouk.captions.fonts import FONT_DIR  # noqa: E402
from touktouk.config import RenderSettings  # noqa: E402
from touktouk.platforms import SOCIAL  # noqa: E402
from touktouk.render.clip import render_clip  # noqa: E402
from touktouk.render.encode import OutputSpec, encode_settings  # noqa: E402
from touktouk.render.probe import probe  # noqa: E402

SHARED = Path(os.environ.get("TOUKTOUK_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
FLEURS = ("fleurs-fr-001", "fleurs-fr-003", "fleurs-fr-007", "fleurs-fr-009")
SHIPPED = ROOT / "config" / "touktouk.toml"


def series_config(store: Path) -> str:
    """The shipped series config (config/touktouk.toml, every default) with the benchmark's store
    and 5 automatic clips: the run is what a producer's publish does."""
    text = SHIPPED.read_text(encoding="utf-8")
    text, n_store = re.subn(r'^store = ".*"$', f'store = "{store}"', text, count=1, flags=re.M)
    text, n_clips = re.subn(r"^auto_clips = \d+$", "auto_clips = 5", text, count=1, flags=re.M)
    if (n_store, n_clips) != (1, 1):
        raise SystemExit(f"{SHIPPED}: no 'store' or 'auto_clips' line to set")
    return text


EPISODE = """
season = 1
number = 1
slug = "bench"
title = "Banc d'essai : un épisode complet"
"""


def ff(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True)


def make_episode(work: Path, minutes: float, height: int) -> Path:
    out = work / f"episode-{minutes:g}min-{height}p.mp4"
    if out.exists():
        return out
    seconds = minutes * 60
    width = height * 16 // 9
    speech = work / "speech.wav"
    inputs = [a for n in FLEURS for a in ("-i", str(SHARED / f"{n}.ogg"))]
    graph = "".join(f"[{i}:a]apad=pad_dur=1.5[p{i}];" for i in range(len(FLEURS)))
    graph += "".join(f"[p{i}]" for i in range(len(FLEURS))) + f"concat=n={len(FLEURS)}:v=0:a=1[a]"
    ff(*inputs, "-filter_complex", graph, "-map", "[a]", "-ar", "48000", "-ac", "2", str(speech))
    ff(
        "-stream_loop", "-1", "-i", str(SHARED / "physicsworks.webm"), "-stream_loop", "-1", "-i", str(speech),
        "-map", "0:v", "-map", "1:a", "-t", f"{seconds:.1f}",
        "-vf", f"scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:(ow-iw)/2:0,fps=25",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "192k", str(out),
    )  # fmt: skip
    return out


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (ffmpeg, the CLI and its workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


STEPS = {
    "transcription": re.compile(r"Transcript: \d+ words.* in ([\d.]+) s"),
    "clip renders (summed; 2 run at once)": re.compile(r"Rendered clip \S+ .* in ([\d.]+) s"),
    "YouTube master": re.compile(r"Rendered the YouTube master .* in ([\d.]+) s"),
}


def print_breakdown(log: str, duration: float) -> None:
    """Where the publish's time went, from the flow's own timing log lines."""
    for step, pattern in STEPS.items():
        found = [float(m) for m in pattern.findall(log)]
        total = sum(found)
        print(f"  {step}: {total:.1f} s ({len(found)} line(s)) = {total / duration:.3f} of the duration")


def print_stage_table(stdout: str) -> None:
    """The run's per-stage table, as `touktouk publish` printed it at its end."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Where the time went"), None)
    if start is None:
        raise SystemExit("the publish printed no per-stage table")
    print("  stages, as the run measured them (the publish process; the Prefect server's CPU is not in it):")
    for line in lines[start + 1 :]:
        print(f"    {line}")
        if line.startswith("Run: "):
            break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--height", type=int, default=1080, help="episode picture height (16:9)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/touktouk-bench-publish"))
    ap.add_argument("--publish-only", action="store_true", help="leave out the engine-only 5 x 3 render")
    args = ap.parse_args()
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    episode = make_episode(work, args.minutes, args.height)
    info = probe(episode)
    run = work / f"run-{int(time.time())}"
    run.mkdir()
    (run / "series.toml").write_text(series_config(run / "store"), encoding="utf-8")
    (run / "episode.toml").write_text(EPISODE, encoding="utf-8")
    env = {**os.environ, "PREFECT_HOME": str(run / ".prefect"), "TOUKTOUK_CACHE_DIR": str(run / "cache")}
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    env.pop("PREFECT_API_URL", None)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {platform.platform()}  cores={os.cpu_count()}")
    load = os.getloadavg()[0]
    print(f"# episode {info.duration:.1f} s, {info.width}x{info.height} @ {info.fps:g} fps; load {load:.2f}")
    cpu0 = _cpu()
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "touktouk.cli", "publish", str(episode), "--episode", "episode.toml",
         "--config", "series.toml"],
        cwd=run, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    if done.returncode != 0:
        print(done.stderr[-3000:])
        raise SystemExit("publish failed")
    manifest = json.loads(next((run / "store").rglob("manifest.json")).read_text(encoding="utf-8"))
    clips = manifest["clips"]
    sizes = sorted({(o["width"], o["height"]) for c in clips for o in c["outputs"]})
    print(f"publish: {wall:.1f} s wall for {info.duration:.1f} s = {wall / info.duration:.3f} of the duration")
    d = info.duration
    cores = os.cpu_count() or 1
    print(f"publish: {cpu:.1f} CPU s = {cpu / d:.3f} of the duration; CPU s / {cores} cores = {cpu / cores / d:.3f}")
    print(f"publish: the cores were busy {100 * cpu / cores / wall:.1f} % of the wall time (CPU s / cores / wall)")
    seconds = sum(c["end"] - c["start"] for c in clips)
    print(f"publish delivered {len(clips)} clips ({seconds:.1f} s in all) x {len(sizes)} sizes {sizes}")
    (run / "publish.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    print(f"# the run's log: {run / 'publish.log'}")
    print_breakdown(done.stdout + done.stderr, d)
    print_stage_table(done.stdout)
    if args.publish_only:
        return
    # The engine alone: the same clips into the three formats of issue 5, one decode per clip.
    r = RenderSettings()
    enc = encode_settings(SOCIAL, x264_preset=r.preset, crf=r.crf)
    cpu0 = _cpu()
    t0 = time.perf_counter()
    for c in clips:
        key = c.get("captions", {}).get("ass")
        ass = run / "store" / key if key and (run / "store" / key).is_file() else None
        outs = [OutputSpec(run / f"{c['id']}-{w}x{h}.mp4", w, h) for w, h in ((1080, 1920), (1080, 1080), (1920, 1080))]
        fonts = str(FONT_DIR)
        render_clip(info, c["start"], c["end"], outs, subtitles=ass, fonts_dir=fonts, encode=enc)
    render = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    print(f"render {len(clips)} clips x 3 formats: {render:.1f} s wall = {render / info.duration:.3f} of the duration")
    print(f"render: {cpu:.1f} CPU s = {cpu / d:.3f} of the duration; CPU s / 2 cores = {cpu / 2 / d:.3f}")
    print(f"# load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
