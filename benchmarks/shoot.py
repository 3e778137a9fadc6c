"""Sync by sound benchmark: offsets and drift recovered against the truth, and the time taken,
ToukTouk's own sync (`touktouk.shoot.sync.place`) beside BBC audio-offset-finder 0.5.5.

    .venv/bin/python benchmarks/shoot.py [--aof-python PYTHON] [--minutes 10] [--json FILE]

The cases are camera scratch tracks made from a conversation of real French speech (the FLEURS
clips of ../shared/media, or espeak-ng voices without them; `tests/media_fixtures.py`): the room's
mix with bleed, an 11 ms reflection and hiss, resampled to a drifting clock, several seconds early
or late; plus one long case, the conversation's turns shuffled into `--minutes` of talk.

audio-offset-finder needs numpy < 2 and librosa, which ToukTouk does not ship: give the Python of a
throwaway virtual environment that has it (`python3 -m venv /tmp/aofenv && /tmp/aofenv/bin/pip
install audio-offset-finder==0.5.5`) as --aof-python; it reads the same WAV files, at its defaults
(8 kHz, MFCC hop 128: 16 ms frames). It finds one offset per file and no drift.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from media_fixtures import SHOOT_RATE, camera_scratch, conversation, write_wav  # noqa: E402
from touktouk.shoot.decode import decode_mono  # noqa: E402
from touktouk.shoot.sync import SYNC_RATE, place  # noqa: E402

CASES = [(-4.25, 145.0), (3.7, -145.0), (7.5, 60.0), (-12.0, 0.0), (0.8, 12.0)]
AOF_SCRIPT = """
import json, sys, time
from audio_offset_finder.audio_offset_finder import find_offset_between_files
t = time.perf_counter()
r = find_offset_between_files(sys.argv[1], sys.argv[2])
print(json.dumps({"offset_s": r["time_offset"], "score": float(r["standard_score"]),
                  "seconds": time.perf_counter() - t}))
"""


def long_talk(host: np.ndarray, guest: np.ndarray, minutes: float, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """`minutes` of talk: the conversation cut into one-second pieces at random, reshuffled, with
    random pauses (a long file with no exact repeat of any stretch longer than a second or two)."""
    rng = np.random.default_rng(seed)
    size = SHOOT_RATE
    pieces = [(host[i : i + size], guest[i : i + size]) for i in range(0, len(host) - size, size)]
    out_h, out_g, total = [], [], 0
    while total < minutes * 60 * SHOOT_RATE:
        h, g = pieces[rng.integers(len(pieces))]
        pause = np.zeros(int(rng.uniform(0.05, 0.6) * SHOOT_RATE), dtype=np.float32)
        gain = rng.uniform(0.7, 1.3)
        out_h += [gain * h, pause]
        out_g += [gain * g, pause]
        total += len(h) + len(pause)
    return np.concatenate(out_h).astype(np.float32), np.concatenate(out_g).astype(np.float32)


def run_case(work: Path, name: str, host, guest, offset: float, drift: float, aof_python: str | None) -> dict[str, Any]:
    reference = work / f"{name}-ref.wav"
    camera = work / f"{name}-cam.wav"
    seconds = (len(host) / SHOOT_RATE - max(offset, 0.0) + 1.0) * (1 + drift * 1e-6)
    write_wav(host + guest, reference)
    write_wav(camera_scratch(host, guest, offset, drift, seconds, seed=7), camera)
    t = time.perf_counter()
    ref, cam = decode_mono(reference, SYNC_RATE), decode_mono(camera, SYNC_RATE)
    decoded = time.perf_counter() - t
    t = time.perf_counter()
    p = place(ref, cam)
    took = time.perf_counter() - t
    ends = [0.0, seconds]
    truth_at = [offset + s / (1 + drift * 1e-6) for s in ends]
    worst = max(abs(p.timeline_time(s) - tt) for s, tt in zip(ends, truth_at, strict=True))
    row: dict[str, Any] = {
        "case": name, "seconds": round(seconds, 1), "offset_s": offset, "drift_ppm": drift,
        "ours": {"offset_s": round(p.offset_s, 5), "drift_ppm": round(p.drift_ppm, 1), "corrected": p.drift_corrected,
                 "confidence": round(p.confidence, 1), "worst_ms": round(worst * 1000, 2),
                 "sync_s": round(took, 3), "decode_s": round(decoded, 3)},
    }  # fmt: skip
    if aof_python:
        done = subprocess.run([aof_python, "-c", AOF_SCRIPT, str(reference), str(camera)], capture_output=True,
                              text=True, check=False)  # fmt: skip
        if done.returncode == 0:
            r = json.loads(done.stdout.strip().splitlines()[-1])
            # One offset for the whole file: its error is worst at whichever end the drift pulls furthest.
            worst_aof = max(abs(r["offset_s"] + s - tt) for s, tt in zip(ends, truth_at, strict=True))
            start_err = abs(r["offset_s"] - offset)
            row["aof"] = {"offset_s": round(r["offset_s"], 4), "score": round(r["score"], 1),
                          "start_ms": round(start_err * 1000, 1), "worst_ms": round(worst_aof * 1000, 1),
                          "seconds": round(r["seconds"], 2)}  # fmt: skip
        else:
            row["aof"] = {"error": done.stderr.strip().splitlines()[-1:]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aof-python", help="Python of a virtual environment with audio-offset-finder 0.5.5")
    parser.add_argument("--minutes", type=float, default=10.0, help="Length of the long case")
    parser.add_argument("--json", type=Path, help="Write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        host, guest, origin = conversation(work)
        print(f"speech: {origin} ({len(host) / SHOOT_RATE:.1f} s conversation)")
        for offset, drift in CASES:
            rows.append(run_case(work, f"{offset:+g}s{drift:+g}ppm", host, guest, offset, drift, args.aof_python))
        long_host, long_guest = long_talk(host, guest, args.minutes)
        rows.append(run_case(work, f"long{args.minutes:g}min", long_host, long_guest, -4.25, 145.0, args.aof_python))
    head = f"{'case':<18} {'truth':>16} | {'ours: offset':>12} {'ppm':>7} {'conf':>5} {'worst ms':>8} {'s':>6}"
    print(head + (" | aof: offset  score  start ms  worst ms      s" if args.aof_python else ""))
    for r in rows:
        o = r["ours"]
        line = (f"{r['case']:<18} {r['offset_s']:+8.3f}s {r['drift_ppm']:+5.0f}ppm | {o['offset_s']:+12.5f} "
                f"{o['drift_ppm']:+7.1f} {o['confidence']:5.1f} {o['worst_ms']:8.2f} {o['sync_s']:6.2f}")  # fmt: skip
        a = r.get("aof")
        if a and "offset_s" in a:
            line += (f" | {a['offset_s']:+10.4f} {a['score']:6.1f} {a['start_ms']:9.1f} {a['worst_ms']:9.1f} "
                     f"{a['seconds']:6.2f}")  # fmt: skip
        elif a:
            line += f" | error: {a['error']}"
        print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
