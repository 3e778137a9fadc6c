"""Transcription benchmark: every backend side by side, in one run, on the same machine.

    .venv/bin/python benchmarks/transcribe.py [--media DIR] [--variants] [--json FILE]

Rows (each run in its own subprocess, so peak RSS is that backend's alone):
- `faster-whisper`: the ToukTouk pipeline (`touktouk.transcribe.run.transcribe`), offline base, int8, beam 5,
  word timestamps, Silero VAD and the quality guards;
- `faster-whisper bare`: the same model called directly (int8, beam 5, word timestamps, no VAD, no
  guards): the bare model that the pipeline must not be worse than;
- `openai-whisper`: the ToukTouk pipeline on openai-whisper with the base checkpoint converted from
  the same CTranslate2 weights (`touktouk models convert base`), beam 5, word timestamps, VAD, guards.
- with `--variants`, the faster-whisper settings of `VARIANTS` (threads, beam, VAD, batched pipeline).

Measures, over the four French FLEURS clips of ../shared/media, each transcribed on its own:
- RTF: transcription wall time / audio duration (model load excluded, shown apart); below 1 is
  faster than realtime, and 1/RTF is "x realtime";
- peak RSS: ru_maxrss of the worker process (model load included), from os.wait4;
- WER and CER of the concatenated clips after normalisation (`normalise`): NFC, lower case, ’ → ',
  digits spelled out in French words (a small number table: 0-999 999, "%" → "pour cent"), hyphens
  → spaces, all other punctuation removed, apostrophes kept inside words ("l'usoc" is one word);
- word-timing sanity: words monotonic (each starts at or after the previous start, none ends
  before it starts), words inside their segment and inside the audio, share of zero-length words,
  median word duration.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MEDIA = Path(os.environ.get("TOUKTOUK_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
CLIPS = ("fleurs-fr-001", "fleurs-fr-003", "fleurs-fr-007", "fleurs-fr-009")
ROWS = ("faster-whisper", "faster-whisper bare", "openai-whisper")
# `--variants`: faster-whisper settings measured against the 8x realtime target. "pipeline" rows are
# `touktouk.transcribe` with these WhisperSettings overrides (threads=0 lets CTranslate2 choose: all
# cores); "batched" is faster-whisper's BatchedInferencePipeline (its own VAD, no guards).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "fw pipeline threads=1": ("pipeline", {"threads": 1}),
    "fw pipeline threads=2": ("pipeline", {"threads": 2}),
    "fw pipeline beam=1": ("pipeline", {"beam_size": 1}),
    "fw pipeline no VAD": ("pipeline", {"vad": False}),
    "fw batched beam=5 batch=8": ("batched", {"beam_size": 5, "batch_size": 8}),
    "fw batched beam=1 batch=8": ("batched", {"beam_size": 1, "batch_size": 8}),
}
ALL_ROWS = (*ROWS, *VARIANTS)

# --- normalisation -----------------------------------------------------------------------------

_UNITS = [
    *("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
    *("dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"),
]
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante", 8: "quatre-vingt"}


def french_number(n: int) -> str:
    """0 ≤ n < 1 000 000 in French words (traditional spelling, hyphens)."""
    if n < 20:
        return _UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        if tens in (7, 9):  # soixante-dix…, quatre-vingt-dix…
            return f"{_TENS[tens - 1]}-{_UNITS[10 + unit]}" if tens == 9 or unit != 1 else "soixante et onze"
        if unit == 0:
            return "quatre-vingts" if tens == 8 else _TENS[tens]
        if unit == 1 and tens != 8:
            return f"{_TENS[tens]} et un"
        return f"{_TENS[tens]}-{_UNITS[unit]}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cent" if hundreds == 1 else f"{_UNITS[hundreds]} cent" + ("s" if rest == 0 else "")
        return head if rest == 0 else f"{head} {french_number(rest)}"
    thousands, rest = divmod(n, 1000)
    head = "mille" if thousands == 1 else re.sub(r"(cent|vingt)s$", r"\1", french_number(thousands)) + " mille"
    return head if rest == 0 else f"{head} {french_number(rest)}"


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text.lower()).replace("’", "'")
    text = re.sub(r"(\d)[\s\u202f\u00a0](\d{3})\b", r"\1\2", text)  # 1 000 → 1000
    text = re.sub(r"\s*%", " pour cent", text)
    text = re.sub(r"\d+", lambda m: french_number(int(m.group())) if int(m.group()) < 1_000_000 else m.group(), text)
    text = text.replace("-", " ")
    text = re.sub(r"[^\w' ]+", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# --- worker (one backend, in its own process) --------------------------------------------------


def _segments(segments: Any) -> list[dict[str, Any]]:
    return [
        {"start": s.start, "end": s.end, "text": s.text, "words": [(w.start, w.end) for w in s.words or ()]}
        for s in segments
    ]


def worker(row: str, media: Path) -> dict[str, Any]:
    from touktouk.config import WhisperSettings
    from touktouk.transcribe.backends import BACKENDS
    from touktouk.transcribe.models import install_offline_model

    t0 = time.monotonic()
    if row == "faster-whisper bare":
        from faster_whisper import WhisperModel

        model = WhisperModel(str(install_offline_model("base")), device="cpu", compute_type="int8")

        def transcribe(audio: Path) -> tuple[list[dict[str, Any]], float]:
            segments, info = model.transcribe(str(audio), language="fr", beam_size=5, word_timestamps=True)
            return _segments(segments), float(info.duration)
    elif VARIANTS.get(row, ("",))[0] == "batched":
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        options = VARIANTS[row][1]
        model = WhisperModel(str(install_offline_model("base")), device="cpu", compute_type="int8")
        batched = BatchedInferencePipeline(model)

        def transcribe(audio: Path) -> tuple[list[dict[str, Any]], float]:
            segments, info = batched.transcribe(str(audio), language="fr", word_timestamps=True, **options)
            return _segments(segments), float(info.duration)
    else:
        if row in VARIANTS:
            settings = WhisperSettings(**VARIANTS[row][1])
        else:
            settings = WhisperSettings(backend=row, model="base")  # type: ignore[arg-type]
        backend = BACKENDS[settings.backend](settings)

        def transcribe(audio: Path) -> tuple[list[dict[str, Any]], float]:
            tr = backend.transcribe(audio, language="fr", prompt="", on_progress=None)
            return _segments(tr.segments), tr.duration

    load_s = time.monotonic() - t0
    clips = []
    for name in CLIPS:
        t = time.monotonic()
        segments, duration = transcribe(media / f"{name}.ogg")
        clips.append({"name": name, "seconds": time.monotonic() - t, "duration": duration, "segments": segments})
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"row": row, "load_s": load_s, "clips": clips, "self_rss_mb": rss_mb}


# --- parent ------------------------------------------------------------------------------------


def run_worker(row: str, media: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", row, "--media", str(media)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    data = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{row}: worker failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(data)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def timing_sanity(clips: list[dict[str, Any]]) -> dict[str, float]:
    eps = 0.02
    n = monotonic = inside_seg = inside_audio = zero = 0
    durations = []
    for clip in clips:
        prev_start = -1.0
        for seg in clip["segments"]:
            for start, end in seg["words"]:
                n += 1
                monotonic += start >= prev_start - eps and end >= start
                inside_seg += seg["start"] - eps <= start and end <= seg["end"] + eps
                inside_audio += -eps <= start and end <= clip["duration"] + eps
                zero += end - start < 0.005
                durations.append(end - start)
                prev_start = start
    return {
        "words": n,
        "monotonic": monotonic / n if n else 1.0,
        "inside_segment": inside_seg / n if n else 1.0,
        "inside_audio": inside_audio / n if n else 1.0,
        "zero_length": zero / n if n else 0.0,
        "median_word_s": statistics.median(durations) if durations else 0.0,
    }


def summarise(result: dict[str, Any], media: Path) -> dict[str, Any]:
    import jiwer

    refs = [normalise((media / f"{c['name']}.txt").read_text(encoding="utf-8")) for c in result["clips"]]
    hyps = [normalise(" ".join(s["text"] for s in c["segments"])) for c in result["clips"]]
    audio = sum(c["duration"] for c in result["clips"])
    busy = sum(c["seconds"] for c in result["clips"])
    return {
        "row": result["row"],
        "audio_s": audio,
        "load_s": result["load_s"],
        "transcribe_s": busy,
        "rtf": busy / audio,
        "peak_rss_mb": result["peak_rss_mb"],
        "wer": jiwer.wer(refs, hyps),
        "cer": jiwer.cer(refs, hyps),
        "per_clip_wer": {c["name"]: jiwer.wer(r, h) for c, r, h in zip(result["clips"], refs, hyps, strict=True)},
        "hyps": hyps,
        **timing_sanity(result["clips"]),
    }


def table(rows: list[dict[str, Any]]) -> str:
    cols = [
        ("backend", lambda r: r["row"]),
        ("RTF", lambda r: f"{r['rtf']:.3f}"),
        ("x realtime", lambda r: f"{1 / r['rtf']:.1f}"),
        ("load s", lambda r: f"{r['load_s']:.1f}"),
        ("peak RSS MB", lambda r: f"{r['peak_rss_mb']:.0f}"),
        ("WER", lambda r: f"{r['wer']:.3f}"),
        ("CER", lambda r: f"{r['cer']:.3f}"),
        ("words", lambda r: str(r["words"])),
        ("monotonic", lambda r: f"{r['monotonic']:.0%}"),
        ("in segment", lambda r: f"{r['inside_segment']:.0%}"),
        ("in audio", lambda r: f"{r['inside_audio']:.0%}"),
        ("zero-length", lambda r: f"{r['zero_length']:.0%}"),
        ("median word s", lambda r: f"{r['median_word_s']:.2f}"),
    ]
    lines = ["| " + " | ".join(c for c, _ in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(f(r) for _, f in cols) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln),
        platform.processor(),
    )
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} CPU cores ({cpu}), {system}, load average at start {os.getloadavg()[0]:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--media", type=Path, default=DEFAULT_MEDIA)
    ap.add_argument("--rows", nargs="*", default=list(ROWS), choices=ALL_ROWS)
    ap.add_argument("--variants", action="store_true", help="also the faster-whisper variants (VARIANTS)")
    ap.add_argument("--worker", choices=ALL_ROWS, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="also write every figure (and hypotheses) as JSON")
    args = ap.parse_args()
    if args.worker:
        logging_off()
        json.dump(worker(args.worker, args.media), sys.stdout)
        return
    missing = [c for c in CLIPS if not (args.media / f"{c}.ogg").is_file()]
    if missing:
        raise SystemExit(f"FLEURS clips missing from {args.media}: {', '.join(missing)}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}; {machine()}", flush=True)
    rows = []
    for row in [*args.rows, *(VARIANTS if args.variants else ())]:
        print(f"running {row} …", file=sys.stderr, flush=True)
        rows.append(summarise(run_worker(row, args.media), args.media))
    print(table(rows))
    for r in rows:
        print(f"{r['row']}: per-clip WER " + ", ".join(f"{k} {v:.3f}" for k, v in r["per_clip_wer"].items()))
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


def logging_off() -> None:
    import logging
    import warnings

    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore")


if __name__ == "__main__":
    main()
