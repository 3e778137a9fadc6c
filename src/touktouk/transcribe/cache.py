"""The transcript cache: one JSON file per transcript, keyed by the audio's SHA-256 and every
setting that changes the words: the model (and a local model's files), every decoding setting,
the language, the prompt, the task, every guard and VAD setting, and the code version of the
transcription modules. Delete the folder and every transcript is recomputed: no other cache
holds transcripts (the Prefect task has none).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from touktouk.codeversion import TRANSCRIBE_MODULES, source_version
from touktouk.config import WhisperSettings
from touktouk.transcribe import guards, vad


def cache_dir() -> Path:
    env = os.environ.get("TOUKTOUK_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "touktouk" / "transcripts"


def guard_settings() -> dict[str, Any]:
    """The guards' and the VAD's settings (module constants, named here so the key shows them)."""
    return {
        "hallucinations": list(guards.HALLUCINATIONS),
        "support_min_probability": guards.SUPPORT_MIN_PROBABILITY,
        "support_max_no_speech": guards.SUPPORT_MAX_NO_SPEECH,
        "support_min_speech_share": guards.SUPPORT_MIN_SPEECH_SHARE,
        "vad_parameters": dict(vad.VAD_PARAMETERS),
        "vad_chunk_seconds": vad.VAD_CHUNK_SECONDS,
        "max_speech_seconds": vad.MAX_SPEECH_SECONDS,
    }


def model_files(model: str) -> list[tuple[str, int]]:
    """A local model (a folder or file given as `whisper.model`) by its files' names and sizes;
    a named model ("base", "large-v3") is its name, already in the settings."""
    path = Path(model).expanduser()
    if path.is_file():
        return [(path.name, path.stat().st_size)]
    if path.is_dir():
        return sorted((p.relative_to(path).as_posix(), p.stat().st_size) for p in path.rglob("*") if p.is_file())
    return []


def cache_key(
    audio_sha256: str, settings: WhisperSettings, language: str, prompt: str, task: str = "transcribe"
) -> str:
    blob = json.dumps(
        {
            "audio": audio_sha256,
            "settings": settings.model_dump(mode="json"),
            "model_files": model_files(settings.model),
            "language": language,
            "prompt": prompt,
            "task": task,
            "guards": guard_settings(),
            "code": source_version(TRANSCRIBE_MODULES),
            "v": 3,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()
