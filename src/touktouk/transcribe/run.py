"""`transcribe()`: a transcript with word timings, from the cache or a backend."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from touktouk.config import WhisperSettings
from touktouk.errors import ToukToukError
from touktouk.hashing import file_sha256
from touktouk.progress import Progress, ProgressLog
from touktouk.runlog import run_logger
from touktouk.transcribe.backends import BACKENDS
from touktouk.transcribe.cache import cache_dir, cache_key
from touktouk.types import Transcript

log = logging.getLogger(__name__)


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
    key = cache_key(file_sha256(audio), settings, language, prompt, task)
    cached = cache_dir() / f"{key}.json"
    if use_cache and cached.is_file():
        return Transcript.from_dict(json.loads(cached.read_text(encoding="utf-8"))), True
    t0 = time.monotonic()
    backend = BACKENDS[settings.backend](settings)
    progress = on_progress if on_progress is not None else ProgressLog(run_logger(log))
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
