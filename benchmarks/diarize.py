"""Speaker diarization (issue 15, item 4): who speaks when from one mixed track, by the voices.

    .venv/bin/python benchmarks/diarize.py [--thresholds 0.2,0.25,0.3]

Conversations built from real French speech in ../shared/media (FLEURS: three different voices),
1 to 3 people each speaking twice (their recording cut in two at a pause: A B C A B C), 0.5 s
pauses, faint hiss; the same conversations as `tests/test_diarize.py`. For each, and each
clustering threshold: the number of voices found; the share of words on the right speaker
(0.3 s words laid over the true turns, the best naming of S1, S2… as the true voices); the
diarization error rate on 10 ms frames (missed speech + false alarm + confusion, over the true
speech, no collar); and the wall and CPU time of the whole step (VAD, embeddings, clustering).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from media_fixtures import FLEURS_VOICES, have_shared, voice_mix  # noqa: E402
from touktouk.pipeline.speakers import diarize_audio  # noqa: E402
from touktouk.shoot.speakers import speaker_at  # noqa: E402
from touktouk.voices import cluster  # noqa: E402

FRAME = 0.01


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def score(truth: list[tuple[str, float, float]], turns: list, length: float = 0.3) -> tuple[float, float]:
    """(share of words right, DER) under the best naming of the found speakers."""
    end = max(b for _, _, b in truth) + 1
    frames = np.arange(0, end, FRAME)
    true = np.array([next((w for w, a, b in truth if a <= t < b), "") for t in frames])
    found_names = sorted({t.speaker for t in turns})
    voices = sorted({w for w, _, _ in truth})
    got = np.array([next((x.speaker for x in turns if x.start <= t < x.end), "") for t in frames])
    words = [(t, who) for who, a, b in truth for t in np.arange(a, b - length, length)]
    best_words, best_der = 0.0, 9.9
    padded = found_names + [""] * max(0, len(voices) - len(found_names))
    for names in itertools.permutations(padded, len(voices)):
        as_voice = {n: v for n, v in zip(names, voices, strict=True) if n}
        right = sum(as_voice.get(speaker_at(t, t + length, turns)) == who for t, who in words) / len(words)
        mapped = np.array([as_voice.get(g, "?" if g else "") for g in got])
        speech = true != ""
        missed = np.sum(speech & (mapped == ""))
        false_alarm = np.sum(~speech & (mapped != ""))
        confusion = np.sum(speech & (mapped != "") & (mapped != true))
        der = (missed + false_alarm + confusion) / max(1, speech.sum())
        best_words, best_der = max(best_words, right), min(best_der, der)
    return best_words, best_der


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--thresholds", default="0.2,0.25,0.3")
    args = ap.parse_args()
    if not have_shared(*(f"{n}.ogg" for n in FLEURS_VOICES)):
        raise SystemExit("../shared/media with the FLEURS clips is needed")
    log = logging.getLogger("bench")
    thresholds = [float(x) for x in args.thresholds.split(",")]
    work = Path(tempfile.mkdtemp(prefix="touktouk-diarize-"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    diarize_audio(voice_mix(work, 1)[0], 4, log)  # load the model once, outside the timings
    print("| voices | speech s | threshold | found | words right | DER | wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (1, 2, 3):
        audio, truth, _ = voice_mix(work, n)
        speech = sum(b - a for _, a, b in truth)
        for th in thresholds:
            cluster.THRESHOLD = th
            c0, t0 = _cpu(), time.perf_counter()
            turns = diarize_audio(audio, 4, log)
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            words, der = score(truth, turns)
            found = len({t.speaker for t in turns})
            print(f"| {n} | {speech:.0f} | {th:g} | {found} | {100 * words:.1f} % | {100 * der:.1f} % | "
                  f"{wall:.1f} | {cpu:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
