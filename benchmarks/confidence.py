"""Word confidence flags benchmark: which flags catch Whisper's wrong words, at what cost.

    .venv/bin/python benchmarks/confidence.py [--media DIR] [--json FILE]

Transcribes the four French FLEURS clips of ../shared/media with the ToukTouk pipeline
(`touktouk.transcribe.run.transcribe`: offline base, int8, beam 5, word timestamps, VAD, guards;
no cache; CTranslate2 seeded), aligns each clip's words with its reference (Levenshtein over the words normalised as
`benchmarks/transcribe.py` does: a transcript word is *wrong* when one of its normalised words is
substituted or inserted) and prints, for several thresholds, the share of wrong words flagged
(recall) and the share of words flagged:

- `p < t`: Whisper's word probability alone;
- `previous`: the first `flag_words` (probability, vocabulary, any name-like word, durations),
  rebuilt here from the module's helpers;
- `flag_words`: `touktouk.review.suspects.flag_words` as shipped (adds "not a French word", and
  names only when they are no French word);
- `+ context 0.8`: flag_words with `context_threshold=0.8` (a word under 0.8 next to a flagged one);
- `+ beam 1`: flag_words, plus the words on which a second, greedy (beam 1) transcription
  disagrees (measured here only: the production function reads one transcript).

It also fits a small logistic model over the same features (log-probability, neighbours' mean
log-probability, not French, name, too short) and reports it leave-one-clip-out: weights and the
cut that flags 25 % of the words fitted on three clips, applied to the fourth.

Two scenarios, each a transcription of its own: no vocabulary (as `benchmarks/transcribe.py`), and
an episode vocabulary (the names of each clip, as a producer would list the guest and the
organisation: given to Whisper as the flow does, `vocabulary_prompt`, and to `flag_words`).
About 155 words and 40 wrong ones per scenario: each word moves recall by 2.5 points.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # 0.30, 0.35 … 0.90
TARGET_RECALL, TARGET_FLAGGED = 0.80, 0.25
# The names of each clip's text, as the episode file would give them (guest, organisation, cause).
EPISODE_VOCABULARY: dict[str, tuple[str, ...]] = {
    "fleurs-fr-001": ("USOC", "Comité olympique des États-Unis"),
    "fleurs-fr-003": (),
    "fleurs-fr-007": (),
    "fleurs-fr-009": ("école Bennet", "Caroline du Nord"),
}
SCENARIOS = ("no vocabulary", "episode vocabulary")


def _bench_transcribe() -> ModuleType:
    """benchmarks/transcribe.py (CLIPS, normalise, machine), loaded by path: benchmarks/ is no package."""
    name = "touktouk_benchmarks_transcribe"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("transcribe.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- alignment ---------------------------------------------------------------------------------


def align(hyp: Sequence[str], ref: Sequence[str]) -> list[tuple[str, int | None, int | None]]:
    """Levenshtein alignment of two word sequences: ("ok" | "sub" | "ins" | "del", hyp index,
    ref index) in order; "ins" is a hypothesis word with no reference word, "del" the reverse.
    Among alignments of least cost, a match or substitution is preferred, then an insertion."""
    n, m = len(hyp), len(ref)
    cost = [[i + j if i == 0 or j == 0 else 0 for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(cost[i - 1][j - 1] + (hyp[i - 1] != ref[j - 1]), cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    ops: list[tuple[str, int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (hyp[i - 1] != ref[j - 1]):
            ops.append(("ok" if hyp[i - 1] == ref[j - 1] else "sub", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("ins", i - 1, None))
            i -= 1
        else:
            ops.append(("del", None, j - 1))
            j -= 1
    return ops[::-1]


def wrong_words(texts: Sequence[str], reference: str, normalise: Callable[[str], str]) -> tuple[list[bool], int]:
    """For each transcript word (its text), whether it is wrong against `reference`: one of its
    normalised words substituted or inserted. Also the number of reference words deleted (missed:
    no flag on a transcript word can point at them). A word that normalises to nothing is never
    wrong."""
    tokens: list[str] = []
    owner: list[int] = []
    for k, text in enumerate(texts):
        for token in normalise(text).split():
            tokens.append(token)
            owner.append(k)
    wrong = [False] * len(texts)
    deleted = 0
    for op, h, _ in align(tokens, normalise(reference).split()):
        if op == "del":
            deleted += 1
        elif op != "ok" and h is not None:
            wrong[owner[h]] = True
    return wrong, deleted


# --- transcription -----------------------------------------------------------------------------


def transcribe_clips(media: Path, clips: Sequence[str], *, beam_size: int, vocabulary: bool) -> dict[str, list[Any]]:
    """Each clip's words, through the pipeline. CTranslate2's generator is seeded before each clip:
    when a window falls back to sampling at a temperature above 0 (faster-whisper's fallback on a
    poor decode, as in the vocabulary run of fr 001), the words are otherwise not the same from
    one run to the next."""
    import ctranslate2

    from touktouk.config import WhisperSettings
    from touktouk.transcribe.run import transcribe, vocabulary_prompt

    settings = WhisperSettings(beam_size=beam_size)
    out = {}
    for clip in clips:
        prompt = vocabulary_prompt(*EPISODE_VOCABULARY[clip]) if vocabulary else ""
        ctranslate2.set_random_seed(0)
        tr, _ = transcribe(
            media / f"{clip}.ogg",
            settings,
            language="fr",
            prompt=prompt,
            on_progress=lambda done, total: None,
            use_cache=False,
        )
        out[clip] = tr.words
    return out


# --- measurement -------------------------------------------------------------------------------


def rates(flags: Sequence[bool], wrong: Sequence[bool]) -> dict[str, float]:
    n_wrong = sum(wrong)
    hits = sum(f and w for f, w in zip(flags, wrong, strict=True))
    return {
        "recall": hits / n_wrong if n_wrong else 1.0,
        "flagged": sum(flags) / len(flags) if flags else 0.0,
        "hits": hits,
        "n_flagged": sum(flags),
    }


def measure(scenario: str, media: Path) -> dict[str, Any]:
    from touktouk.review.suspects import (
        AMONG_SUSPECTS,
        DEFAULT_THRESHOLD,
        LOW_PROBABILITY,
        NAME_NOT_IN_VOCABULARY,
        NOT_FRENCH,
        TOO_LONG,
        TOO_SHORT,
        flag_words,
    )

    bt = _bench_transcribe()
    vocab = scenario == "episode vocabulary"
    t0 = time.monotonic()
    beam5 = transcribe_clips(media, bt.CLIPS, beam_size=5, vocabulary=vocab)
    greedy = transcribe_clips(media, bt.CLIPS, beam_size=1, vocabulary=vocab)
    seconds = time.monotonic() - t0
    words: list[Any] = []
    wrong: list[bool] = []
    disagree: list[bool] = []
    deleted = 0
    for clip in bt.CLIPS:
        texts = [w.text for w in beam5[clip]]
        clip_wrong, clip_deleted = wrong_words(texts, (media / f"{clip}.txt").read_text(encoding="utf-8"), bt.normalise)
        other = " ".join(w.text for w in greedy[clip])
        clip_disagree, _ = wrong_words(texts, other, bt.normalise)
        words += beam5[clip]
        wrong += clip_wrong
        disagree += clip_disagree
        deleted += clip_deleted

    # flag_words runs per clip (a clip is an episode: its own vocabulary, its own sentence starts).
    def flags_at(threshold: float, context: float | None = None) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for clip in bt.CLIPS:
            vocabulary = EPISODE_VOCABULARY[clip] if vocab else ()
            out += flag_words(beam5[clip], vocabulary=vocabulary, threshold=threshold, context_threshold=context)
        return out

    def previous_at(threshold: float) -> list[bool]:
        out: list[bool] = []
        for clip in bt.CLIPS:
            out += previous_flags(beam5[clip], EPISODE_VOCABULARY[clip] if vocab else (), threshold)
        return out

    curve = []
    for t in sorted({*THRESHOLDS, DEFAULT_THRESHOLD}):
        reasons = flags_at(t)
        curve.append(
            {
                "threshold": t,
                "probability": rates([w.probability < t for w in words], wrong),
                "previous": rates(previous_at(t), wrong),
                "flag_words": rates([bool(r) for r in reasons], wrong),
                "flag_words + context 0.8": rates([bool(r) for r in flags_at(t, CONTEXT)], wrong),
                "flag_words + beam 1": rates([bool(r) or d for r, d in zip(reasons, disagree, strict=True)], wrong),
            }
        )
    clip_of = [clip for clip in bt.CLIPS for _ in beam5[clip]]
    features = word_features(words, flags_at(1.0), clip_of)
    loco = leave_one_clip_out(features, wrong, clip_of)
    # What each signal adds at the default threshold, beyond the low-probability flag.
    reasons = flags_at(DEFAULT_THRESHOLD)
    low = [w.probability < DEFAULT_THRESHOLD for w in words]
    signals: dict[str, list[bool]] = {
        "not a French word": [NOT_FRENCH in r for r in reasons],
        "name not in the vocabulary": [NAME_NOT_IN_VOCABULARY in r for r in reasons],
        f"among misheard-looking words (context {CONTEXT}, off)": [
            AMONG_SUSPECTS in r for r in flags_at(DEFAULT_THRESHOLD, CONTEXT)
        ],
        "too short": [TOO_SHORT in r for r in reasons],
        "too long": [TOO_LONG in r for r in reasons],
        "digits (not used)": [any(ch.isdigit() for ch in w.text) for w in words],
        "beam 1 disagrees (not used)": disagree,
    }
    added = {
        name: {
            "words": sum(s and not lo for s, lo in zip(flags, low, strict=True)),
            "wrong": sum(s and not lo and wr for s, lo, wr in zip(flags, low, wrong, strict=True)),
        }
        for name, flags in signals.items()
    }
    # The vocabulary works the other way: low-probability words inside a vocabulary term are not flagged.
    kept = [lo and not any(x.startswith(LOW_PROBABILITY) for x in r) for lo, r in zip(low, reasons, strict=True)]
    unflagged = {"words": sum(kept), "wrong": sum(k and wr for k, wr in zip(kept, wrong, strict=True))}
    return {
        "scenario": scenario,
        "words": len(words),
        "wrong": sum(wrong),
        "deleted": deleted,
        "transcribe_s": seconds,
        "curve": curve,
        "added_at_default": added,
        "unflagged_by_vocabulary": unflagged,
        "leave_one_clip_out": loco,
        "transcript": [
            {"text": w.text, "probability": w.probability, "start": w.start, "end": w.end, "wrong": wr, "flags": r}
            for w, wr, r in zip(words, wrong, reasons, strict=True)
        ],
    }


COLUMNS = ("p < t", "previous", "flag_words", "+ context 0.8", "+ beam 1")
KEYS = ("probability", "previous", "flag_words", "flag_words + context 0.8", "flag_words + beam 1")
CONTEXT = 0.8


def previous_flags(words: Sequence[Any], vocabulary: Sequence[str], threshold: float) -> list[bool]:
    """The first flag_words (before the French word list), rebuilt from the module's helpers:
    low probability outside whole vocabulary terms, any name-like word not made of vocabulary
    words, too short, too long."""
    from touktouk.review import suspects as s

    terms = s.vocabulary_terms(vocabulary)
    known = {k for term in terms for k in term}
    keys = [s.word_keys(w.text) for w in words]
    inside = s._in_terms(keys, terms)
    out = []
    for i, w in enumerate(words):
        low = w.probability < threshold and i not in inside
        name = (
            s.is_name_like(w.text, sentence_start=s._starts_sentence(words, i))
            and i not in inside
            and not (keys[i] and all(k in known for k in keys[i]))
        )
        duration = round(w.end - w.start, 3)
        out.append(low or name or duration < s.TOO_SHORT_S or duration > s.TOO_LONG_S)
    return out


# --- a fitted combination, cross-validated -----------------------------------------------------

FEATURES = ("log p", "neighbours' log p", "not French", "name", "too short")


def word_features(
    words: Sequence[Any], reasons: Sequence[tuple[str, ...]], clip_of: Sequence[str]
) -> list[list[float]]:
    """Per word: log-probability (0 inside a vocabulary term, where flag_words ignores it), the
    mean log-probability of its neighbours in the clip, and flag_words' not-French, name and
    too-short flags (`reasons` from a threshold of 1.0: every low-probability word is marked)."""
    from touktouk.review.suspects import NAME_NOT_IN_VOCABULARY, NOT_FRENCH, TOO_SHORT

    def lp(i: int) -> float:
        masked = not any(r.startswith("low probability") for r in reasons[i]) and words[i].probability < 1.0
        return 0.0 if masked else math.log(max(words[i].probability, 0.01))

    rows = []
    for i, r in enumerate(reasons):
        nb = [lp(j) for j in (i - 1, i + 1) if 0 <= j < len(words) and clip_of[j] == clip_of[i]]
        rows.append(
            [lp(i), sum(nb) / len(nb) if nb else 0.0, NOT_FRENCH in r, NAME_NOT_IN_VOCABULARY in r, TOO_SHORT in r]
        )
    return [[float(x) for x in row] for row in rows]


def fit_logistic(x: Any, y: Any, *, l2: float = 1.0, steps: int = 3000, rate: float = 0.1) -> tuple[Any, float]:
    """Logistic regression by gradient descent on standardised features, an L2 penalty; weights
    and bias in the original units."""
    import numpy as np

    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        g = 1 / (1 + np.exp(-(z @ w + b))) - y
        w -= rate * (z.T @ g + l2 * w) / len(y)
        b -= rate * float(g.mean())
    return w / sd, b - float((w / sd) @ mu)


def leave_one_clip_out(
    features: Sequence[Sequence[float]], wrong: Sequence[bool], clip_of: Sequence[str]
) -> dict[str, Any]:
    """Fit on three clips, cut at the score that flags 25 % of their words, apply to the fourth;
    the held-out flags pooled. Also the in-sample figure at the same budget, for comparison."""
    import numpy as np

    x, y, clips = np.array(features), np.array(wrong, float), np.array(clip_of)
    held = np.zeros(len(y), bool)
    for clip in dict.fromkeys(clip_of):
        train = clips != clip
        w, b = fit_logistic(x[train], y[train])
        cut = np.quantile(x[train] @ w + b, 1 - TARGET_FLAGGED)
        held[~train] = x[~train] @ w + b > cut
    w, b = fit_logistic(x, y)
    score = x @ w + b
    in_sample = score > np.quantile(score, 1 - TARGET_FLAGGED)
    return {
        "held_out": rates(held.tolist(), wrong),
        "in_sample": rates(in_sample.tolist(), wrong),
        "weights": dict(zip(FEATURES, np.round(w, 2).tolist(), strict=True)),
    }


def budget_line(curve: Sequence[dict[str, Any]], key: str) -> str:
    """The best recall within the 25 % budget, and the least flagged share that reaches 80 %."""
    within = [r for r in curve if r[key]["flagged"] <= TARGET_FLAGGED]
    enough = [r for r in curve if r[key]["recall"] >= TARGET_RECALL]
    parts = []
    if within:
        best = max(within, key=lambda r: (r[key]["recall"], -r[key]["flagged"]))
        parts.append(
            f"at most {TARGET_FLAGGED:.0%} flagged: {best[key]['recall']:.0%} of wrong words "
            f"(t={best['threshold']:.2f}, {best[key]['flagged']:.0%} flagged)"
        )
    if enough:
        least = min(enough, key=lambda r: (r[key]["flagged"], -r[key]["recall"]))
        parts.append(
            f"{TARGET_RECALL:.0%} of wrong words: {least[key]['flagged']:.0%} flagged "
            f"(t={least['threshold']:.2f}, {least[key]['recall']:.0%})"
        )
    return "; ".join(parts) or "neither within the budget nor at the recall target"


def table(result: dict[str, Any]) -> str:
    from touktouk.review.suspects import DEFAULT_THRESHOLD

    lines = [
        "| t | " + " | ".join(COLUMNS) + " |  (each: wrong words flagged / words flagged)",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for row in result["curve"]:
        mark = " (default)" if row["threshold"] == DEFAULT_THRESHOLD else ""
        cells = [f"{row[k]['recall']:.0%} / {row[k]['flagged']:.0%}" for k in KEYS]
        lines.append(f"| {row['threshold']:.2f}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--media", type=Path, default=None, help="folder of the FLEURS clips (default ../shared/media)")
    ap.add_argument("--json", type=Path, help="also write every figure and every word's flags as JSON")
    args = ap.parse_args()
    bt = _bench_transcribe()
    media = args.media or bt.DEFAULT_MEDIA
    missing = [f"{c}{ext}" for c in bt.CLIPS for ext in (".ogg", ".txt") if not (media / f"{c}{ext}").is_file()]
    if missing:
        raise SystemExit(f"FLEURS clips missing from {media}: {', '.join(missing)}; nothing measured.")
    bt.logging_off()
    from touktouk.review.suspects import DEFAULT_THRESHOLD

    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}; {bt.machine()}", flush=True)
    results = []
    for scenario in SCENARIOS:
        print(f"transcribing ({scenario}, beam 5 and beam 1) …", file=sys.stderr, flush=True)
        result = measure(scenario, media)
        results.append(result)
        print(
            f"\n## {scenario}: {result['words']} words, {result['wrong']} wrong "
            f"({result['wrong'] / result['words']:.0%}), {result['deleted']} reference words missed; "
            f"transcribed in {result['transcribe_s']:.0f} s\n"
        )
        print(table(result))
        print(f"\nBeyond `p < {DEFAULT_THRESHOLD}`, at the default threshold (words flagged, of them wrong):")
        for name, n in result["added_at_default"].items():
            print(f"- {name}: {n['words']} more words flagged, {n['wrong']} of them wrong")
        n = result["unflagged_by_vocabulary"]
        print(f"- inside a vocabulary term: {n['words']} low-probability words not flagged, {n['wrong']} of them wrong")
        print()
        for key, label in zip(KEYS, COLUMNS, strict=True):
            print(f"- {label}: {budget_line(result['curve'], key)}")
        loco = result["leave_one_clip_out"]
        print(
            f"- logistic model ({', '.join(f'{k} {v:+.2f}' for k, v in loco['weights'].items())}), cut at 25 % "
            f"of the training words: leave-one-clip-out {loco['held_out']['recall']:.0%} of wrong words, "
            f"{loco['held_out']['flagged']:.0%} flagged (in-sample {loco['in_sample']['recall']:.0%}, "
            f"{loco['in_sample']['flagged']:.0%})"
        )
    print(f"\nDefault threshold: {DEFAULT_THRESHOLD} (touktouk.review.suspects.DEFAULT_THRESHOLD)")
    for r in results:
        at = next(row for row in r["curve"] if row["threshold"] == DEFAULT_THRESHOLD)["flag_words"]
        met = at["recall"] >= TARGET_RECALL and at["flagged"] <= TARGET_FLAGGED
        print(
            f"{r['scenario']}: flag_words catches {at['recall']:.0%} of wrong words flagging {at['flagged']:.0%} "
            f"of words; target {TARGET_RECALL:.0%} at most {TARGET_FLAGGED:.0%}: {'met' if met else 'not met'}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
