"""The transcript cache: keyed by the audio's SHA-256 and every setting that changes the words."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from touktouk.config import WhisperSettings


def cache_dir() -> Path:
    env = os.environ.get("TOUKTOUK_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "touktouk" / "transcripts"


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
