"""Long-episode benchmark: memory, speed and progress/ETA accuracy on dense real speech.

    .venv/bin/python benchmarks/long_episode.py [--minutes 30] [--backend faster-whisper]

Builds a 16 kHz mono WAV (what `render.probe.extract_audio` gives the transcriber) of `--minutes` of
real French speech: the four FLEURS clips of ../shared/media (60 s, 1 s apart) looped; Silero finds
speech in about 78 % of it, which is denser than an interview. Transcribes it through
`touktouk.transcribe.run.transcribe` (the pipeline: VAD, windows, guards) in a child process and prints:

- peak RSS of the child (`os.wait4`), and RSS growth per hour of audio: the slope of the child's
  RSS (sampled at each progress call) against the audio position, between 25 % and 100 %;
- speed: realtime factor of the whole run (VAD and model load included) and of decoding alone;
- progress/ETA accuracy: for each progress line from 10 % on, the finish it predicted
  (elapsed + ETA) against the real finish, as median and worst error in percent of the real time;
- WER over the complete loops (references normalised as in `benchmarks/transcribe.py`);
- an extrapolation to 2 hours: time at the measured RTF, RSS at the measured growth.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from transcribe import CLIPS, DEFAULT_MEDIA, machine, normalise  # noqa: E402

GAP = 1.0


def build(media: Path, minutes: float, out: Path) -> tuple[float, str]:
    """The looped WAV; returns the loop length (seconds) and the reference text of one loop."""
    loop = out.with_name("loop.wav")
    inputs: list[str] = []
    graph = []
    for i, name in enumerate(CLIPS):
        inputs += ["-i", str(media / f"{name}.ogg")]
        graph.append(f"[{i}:a]aresample=16000,apad=pad_dur={GAP}[a{i}]")
    graph.append("".join(f"[a{i}]" for i in range(len(CLIPS))) + f"concat=n={len(CLIPS)}:v=0:a=1[a]")
    ff = ["ffmpeg", "-nostdin", "-y", "-v", "error"]
    subprocess.run(
        [*ff, *inputs, "-filter_complex", ";".join(graph), "-map", "[a]", "-ac", "1", "-c:a", "pcm_s16le", str(loop)],
        check=True,
    )
    subprocess.run(
        [*ff, "-stream_loop", "-1", "-i", str(loop), "-t", str(minutes * 60), "-c:a", "pcm_s16le", str(out)],
        check=True,
    )
    import wave

    with wave.open(str(loop), "rb") as w:
        loop_s = w.getnframes() / w.getframerate()
    reference = " ".join((media / f"{n}.txt").read_text(encoding="utf-8").strip() for n in CLIPS)
    return loop_s, reference


def worker(audio: Path, backend: str) -> dict[str, Any]:
    import logging

    import psutil

    from touktouk.config import WhisperSettings
    from touktouk.progress import ProgressLog
    from touktouk.transcribe.run import transcribe

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    me = psutil.Process()
    samples: list[tuple[float, float, float, float]] = []  # (time, done, total, rss MB)
    shown = ProgressLog()
    lines: list[tuple[float, float, float]] = []  # (time, done, total) of the lines the user saw

    def progress(done: float, total: float) -> None:
        before = shown.last_time
        shown(done, total)
        now = time.monotonic()
        if shown.last_time != before or len(lines) == 0:
            lines.append((now, done, total))
        samples.append((now, done, total, me.memory_info().rss / 2**20))

    t0 = time.monotonic()
    transcript, _ = transcribe(
        audio, WhisperSettings(backend=backend), language="fr", on_progress=progress, use_cache=False
    )
    end = time.monotonic()
    return {
        "t0": t0,
        "end": end,
        "duration": transcript.duration,
        "samples": samples,
        "lines": lines,
        "words": [(w.start, w.text) for w in transcript.words],
    }


def slope_per_hour(samples: list[tuple[float, float, float, float]], duration: float) -> float:
    """RSS growth (MB) per hour of audio between 25 % and 100 % of the speech."""
    pts = [(done / total * duration, rss) for _, done, total, rss in samples if total and done / total >= 0.25]
    if len(pts) < 2 or pts[-1][0] - pts[0][0] < 1:
        return 0.0
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    var = sum((x - mx) ** 2 for x in xs)
    return cov / var * 3600 if var else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--media", type=Path, default=DEFAULT_MEDIA)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--backend", default="faster-whisper", choices=("faster-whisper", "openai-whisper"))
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        json.dump(worker(args.worker, args.backend), sys.stdout)
        return
    import jiwer

    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}; {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="touktouk-long-") as tmp:
        audio = Path(tmp) / "audio-16k.wav"
        loop_s, reference = build(args.media, args.minutes, audio)
        cmd = [sys.executable, __file__, "--worker", str(audio), "--backend", args.backend]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
        assert proc.stdout is not None
        data = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("worker failed")
    r = json.loads(data)
    duration, total_s = r["duration"], r["end"] - r["t0"]
    start = r["lines"][0][0]  # first progress line: VAD done, decoding starts
    decode_s = r["end"] - start
    errors = [
        abs(t + (t - start) * (total - done) / done - r["end"]) / decode_s
        for t, done, total in r["lines"]
        if total and done / total >= 0.10 and done < total
    ]
    loops = int(duration // loop_s)
    hyp = normalise(" ".join(w for s, w in r["words"] if s < loops * loop_s))
    ref = normalise(" ".join([reference] * loops))
    peak = usage.ru_maxrss / 1024
    growth = slope_per_hour(r["samples"], duration)
    rtf = total_s / duration
    print(f"backend: {args.backend}; audio: {duration / 60:.1f} min of looped FLEURS speech ({loops} full loops)")
    print(f"peak RSS: {peak:.0f} MB; RSS growth: {growth:+.0f} MB per hour of audio")
    print(f"time: {total_s:.0f} s in all (RTF {rtf:.3f}, {1 / rtf:.1f}x realtime), decoding {decode_s:.0f} s")
    print(f"VAD and model load before the first progress line: {start - r['t0']:.0f} s")
    if errors:
        print(
            f"ETA error (predicted finish vs real, from 10 %, {len(errors)} lines): "
            f"median {statistics.median(errors):.0%}, worst {max(errors):.0%} of the decoding time"
        )
    print(f"WER over {loops} loops: {jiwer.wer(ref, hyp):.3f}")
    hours = duration / 3600
    print(
        f"2 h extrapolated: {7200 * rtf / 60:.0f} min at this RTF; "
        f"peak RSS {peak + max(0.0, growth) * max(0.0, 2 - hours):.0f} MB at this growth (none if negative)"
    )


if __name__ == "__main__":
    main()
