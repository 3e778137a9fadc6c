"""Prefect cache keys: the SHA-256 of everything a task's result depends on, never a local path."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from prefect.context import TaskRunContext

from touktouk import __version__
from touktouk.config import SeriesConfig
from touktouk.hashing import file_sha256
from touktouk.pipeline.clips import RenderJob
from touktouk.publish.commit import (
    render_settings,
)
from touktouk.transcribe.cache import cache_dir
from touktouk.types import ClipPlan


def _hash_json(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


CacheKeyFn = Callable[[TaskRunContext, dict[str, Any]], str | None]


def content_cache_key(task_name: str) -> Callable[[Callable[[dict[str, Any]], dict[str, Any] | None]], CacheKeyFn]:
    """Make a Prefect cache key function of a function from the task's parameters to what its
    result depends on (None: do not cache this run): the SHA-256 of those parts, the task's name
    and the generator version."""

    def wrap(parts: Callable[[dict[str, Any]], dict[str, Any] | None]) -> CacheKeyFn:
        @functools.wraps(parts)
        def key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
            found = parts(parameters)
            return None if found is None else _hash_json({"task": task_name, "generator": __version__, **found})

        return key

    return wrap


@content_cache_key("transcribe")
def transcribe_cache_key(parameters: dict[str, Any]) -> dict[str, Any] | None:
    """Cache key of a transcript: the audio's SHA-256, the Whisper settings and the prompt (the
    transcript cache folder too, so clearing it also clears this cache). A path never enters it."""
    series: SeriesConfig = parameters["series"]
    try:
        audio = file_sha256(Path(parameters["audio"]))
    except OSError:
        return None
    return {
        "audio": audio,
        "whisper": series.whisper.model_dump(mode="json"),
        "language": series.language,
        "prompt": parameters["prompt"],
        "cache": str(cache_dir()),
    }


@content_cache_key("render clip")
def render_cache_key(parameters: dict[str, Any]) -> dict[str, Any]:
    """Cache key of a rendered clip: the master's SHA-256, the clip's window and words, the
    render, brand and platform settings, and where it is stored. No local path enters it."""
    plan: ClipPlan = parameters["plan"]
    job: RenderJob = parameters["job"]
    words = job.transcript.words_between(plan.start, plan.end)
    return {
        "store": job.store_url,
        "prefix": job.prefix,
        "episode": job.episode_id,
        "master": job.master.sha256,
        "plan": asdict(plan),
        "words": [asdict(w) for w in words],
        "karaoke": job.karaoke,
        "render": render_settings(job.series),
        "brand": job.series.brand.model_dump(mode="json"),
        "platforms": list(job.series.clips.platforms),
        "info": asdict(replace(job.info, path="")),
    }


@content_cache_key("youtube master")
def youtube_master_cache_key(parameters: dict[str, Any]) -> dict[str, Any]:
    """The master's render depends on the footage's SHA-256, the brand and the encode settings."""
    job: RenderJob = parameters["job"]
    return {
        "store": job.store_url,
        "prefix": job.prefix,
        "master": job.master.sha256,
        "render": render_settings(job.series),
        "brand": job.series.brand.model_dump(mode="json"),
    }
