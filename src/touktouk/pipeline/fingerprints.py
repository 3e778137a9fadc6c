"""What each rendered output is made from, as plain JSON-able dicts: every setting, episode
field and file byte (by SHA-256) that changes its bytes, plus the code version of the modules
that make it. The Prefect cache keys and the `inputs-sha256` metadata of stored videos are
the SHA-256 of these dicts; a local path never enters them (the same footage elsewhere is
the same input).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from touktouk.codeversion import RENDER_MODULES, source_version
from touktouk.config import BrandSettings, SeriesConfig
from touktouk.hashing import file_sha256
from touktouk.pipeline.job import EpisodeJob, RenderJob
from touktouk.store.base import StoredObject
from touktouk.types import ClipPlan

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".woff", ".woff2")


def hash_parts(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def brand_files(brand: BrandSettings, base: Path | None) -> dict[str, str]:
    """SHA-256 of every file the brand settings name: logo, intro, outro, and the font files of
    `fonts_dir` (system fonts are named by `font` only). A missing file hashes as "" (the render
    reports it)."""

    def find(value: str) -> Path:
        p = Path(value).expanduser()
        return base / p if base is not None and not p.is_absolute() else p

    found: dict[str, str] = {}
    for what in ("logo", "intro", "outro"):
        value = getattr(brand, what)
        if value:
            path = find(value)
            found[what] = file_sha256(path) if path.is_file() else ""
    if brand.fonts_dir:
        folder = Path(brand.fonts_dir).expanduser()
        if folder.is_dir():
            for font in sorted(folder.rglob("*")):
                if font.suffix.lower() in FONT_SUFFIXES and font.is_file():
                    found[f"fonts/{font.relative_to(folder).as_posix()}"] = file_sha256(font)
    return found


def render_settings(series: SeriesConfig, base: Path | None) -> dict[str, Any]:
    """Every series setting a render reads: render, captions, brand (and its files' bytes), platforms."""
    return {
        "render": series.render.model_dump(mode="json"),
        "captions": series.captions.model_dump(mode="json"),
        "brand": series.brand.model_dump(mode="json"),
        "brand_files": brand_files(series.brand, base),
        "platforms": list(series.clips.platforms),
    }


def _window(plan: ClipPlan, job: RenderJob) -> dict[str, Any]:
    """The footage, the clip's window and its words, and the render code's version."""
    words = job.transcript.words_between(plan.start, plan.end)
    return {
        "code": source_version(RENDER_MODULES),
        "master": job.master.sha256,
        "info": asdict(replace(job.info, path="")),
        "start": round(plan.start, 3),
        "end": round(plan.end, 3),
        "words": [w.to_dict() for w in words],
    }


def clip_inputs(plan: ClipPlan, job: RenderJob) -> dict[str, Any]:
    """Everything one clip's video, caption and thumbnail files depend on. Not its id, score or
    reason: a clip that another pick pushes around keeps its files (its id is in their keys, see
    `store.keys`). Not its title: only the cover shows it (`cover_inputs`)."""
    return {
        **_window(plan, job),
        "karaoke": job.karaoke,
        "keywords": list(job.keywords),
        **render_settings(job.series, job.config_dir),
        # who each multicam shot shows (the crop follows the speaker's face on a wide); none: as before
        **({"framing": [asdict(f) for f in job.framing]} if job.framing else {}),
    }


def cover_inputs(plan: ClipPlan, job: RenderJob) -> dict[str, Any]:
    """What a clip's cover depends on: the footage, the window and its words (the frame is taken
    from the hook), the title or the text it falls back to, the brand and its files."""
    return {
        **_window(plan, job),
        "title": plan.title,
        "text": plan.text,
        "brand": job.series.brand.model_dump(mode="json"),
        "brand_files": brand_files(job.series.brand, job.config_dir),
    }


def master_inputs(job: EpisodeJob, master: StoredObject) -> dict[str, Any]:
    """What the YouTube master depends on: the footage, the brand (and its files), the encode settings."""
    return {
        "code": source_version(RENDER_MODULES),
        "master": master.sha256,
        "info": asdict(replace(job.info, path="")),
        "render": job.series.render.model_dump(mode="json"),
        "brand": job.series.brand.model_dump(mode="json"),
        "brand_files": brand_files(job.series.brand, job.config_dir),
    }
