"""Prefect cache keys: the SHA-256 of everything a task's result depends on, never a local path.

The transcript has no Prefect cache: its own cache (`transcribe.cache`, keyed by the audio's
content, the model, every decoding and guard setting and the code version) is the only one,
so clearing that folder really clears it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from prefect.context import TaskRunContext

from touktouk import __version__
from touktouk.pipeline.fingerprints import clip_inputs, cover_inputs, master_inputs
from touktouk.pipeline.job import EpisodeJob, RenderJob
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


@content_cache_key("render clip")
def render_cache_key(parameters: dict[str, Any]) -> dict[str, Any]:
    """Cache key of a rendered clip: everything its bytes depend on (`pipeline.fingerprints.clip_inputs`:
    the master's SHA-256, the window, its words, every render/caption/brand/platform setting, the
    brand files' bytes, the code version), plus where its files are stored (store, episode folder,
    clip id: they are in the keys the result lists). Not the score or reason. No local path."""
    plan: ClipPlan = parameters["plan"]
    job: RenderJob = parameters["job"]
    return {"store": job.store_url, "prefix": job.prefix, "clip": plan.id, **clip_inputs(plan, job)}


@content_cache_key("clip cover")
def cover_cache_key(parameters: dict[str, Any]) -> dict[str, Any]:
    """Cache key of a clip's cover (`pipeline.fingerprints.cover_inputs`: the title, the hook's
    frame, the brand), plus where it is stored."""
    plan: ClipPlan = parameters["plan"]
    job: RenderJob = parameters["job"]
    return {"store": job.store_url, "prefix": job.prefix, "clip": plan.id, **cover_inputs(plan, job)}


@content_cache_key("youtube master")
def youtube_master_cache_key(parameters: dict[str, Any]) -> dict[str, Any]:
    """The master's render depends on the footage's SHA-256, the brand (and its files), the encode
    settings and the code version (`pipeline.fingerprints.master_inputs`)."""
    job: EpisodeJob = parameters["job"]
    return {"store": job.store_url, "prefix": job.prefix, **master_inputs(job, parameters["master"])}
