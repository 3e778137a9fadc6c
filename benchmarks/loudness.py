"""Loudness measurement benchmark: loudnorm's first pass against ebur128 (peak=true).

    .venv/bin/python benchmarks/loudness.py [--minutes 10] [--workdir DIR]

Rows: CPU seconds (getrusage of the children: ffmpeg) and wall seconds of each measuring pass on
a --minutes file made by looping the FLEURS clip (FLAC, 48 kHz mono), and on the 203 s 5.1 sound
of physicsworks.webm; then the second pass (loudnorm with that measurement, to AAC as a render
does) and the final file's integrated loudness and true peak (measured by ebur128), each side by
side. `measure_loudness` is what the render calls (ebur128, loudnorm's pass as its fallback).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from touktouk.render.encode import AAC_IN, STEREO, EncodeSettings  # noqa: E402
from touktouk.render.loudness import (  # noqa: E402
    Loudness,
    loudnorm_filter,
    measure_ebur128,
    measure_loudness,
    measure_loudnorm,
)

MEDIA = Path("/work/shared/media")


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(f: Callable[[], Loudness | None]) -> tuple[Loudness | None, float, float]:
    c0, w0 = children_cpu(), time.perf_counter()
    m = f()
    return m, children_cpu() - c0, time.perf_counter() - w0


def second_pass(src: Path, m: Loudness, out: Path) -> None:
    af = f"{STEREO},{loudnorm_filter(m, EncodeSettings())},{AAC_IN}"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-map", "0:a:0", "-af", af]
    subprocess.run([*cmd, "-c:a", "aac", "-b:a", "192k", str(out)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    work = a.workdir or Path(tempfile.mkdtemp(prefix="loudness-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    long = work / f"fleurs-{a.minutes:g}min.flac"
    if not long.exists():
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(MEDIA / "fleurs-fr-001.ogg"),
             "-t", f"{a.minutes * 60:.0f}", "-c:a", "flac", str(long)],
            check=True,
        )  # fmt: skip
    print("| source | measurement | CPU s | wall s | I | TP | LRA | final I | final TP |")
    print("|---|---|---|---|---|---|---|---|---|")
    for src in (long, MEDIA / "physicsworks.webm"):
        for name, f in (
            ("loudnorm first pass", lambda s=src: measure_loudnorm(s)),
            ("ebur128 peak=true", lambda s=src: measure_ebur128(s)),
            ("measure_loudness", lambda s=src: measure_loudness(s)),
        ):
            m, cpu, wall = timed(f)
            assert m is not None
            out = work / "out.m4a"
            second_pass(src, m, out)
            final = measure_ebur128(out)
            assert final is not None
            print(
                f"| {src.name} | {name} ({m.method}) | {cpu:.2f} | {wall:.2f} | {m.input_i:.2f} | {m.input_tp:.2f}"
                f" | {m.input_lra:.2f} | {final.input_i:.1f} | {final.input_tp:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
