"""Helpers for end-to-end tests: config files, WER, frame comparison, manifest checks."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import jiwer

TEST_SERIES = """
series = "ToukTouk"
series_slug = "touktouk"
language = "{language}"
store = "{store}"

[whisper]
model = "base"

[brand]
fonts_dir = "/usr/share/fonts/truetype/dejavu"

[clips]
auto_clips = {auto_clips}
min_seconds = 20
max_seconds = 60
platforms = {platforms}

[render]
preset = "ultrafast"
crf = 28
youtube_master = {youtube_master}

[speakers]
diarize = {diarize}
"""


def write_series(
    path: Path,
    *,
    store: str,
    language: str = "fr",
    auto_clips: int = 1,
    platforms: tuple[str, ...] = ("tiktok", "x"),
    youtube_master: bool = False,
    diarize: bool = False,
) -> Path:
    """A series config for tests. `diarize` (telling speakers apart by voice, on in the shipped
    config) is off unless a test is about it: it loads torch in every test process that publishes."""
    plats = "[" + ", ".join(f'"{p}"' for p in platforms) + "]"
    path.write_text(
        TEST_SERIES.format(
            store=store,
            language=language,
            auto_clips=auto_clips,
            platforms=plats,
            youtube_master=str(youtube_master).lower(),
            diarize=str(diarize).lower(),
        ),
        encoding="utf-8",
    )
    return path


def write_episode(path: Path, *, slug: str = "fleurs-lecture", picks: str = "", vocabulary: bool = True) -> Path:
    """An episode file; vocabulary=False leaves out the guest, organisation, cause and hashtags,
    which are given to Whisper as a prompt and would not match unrelated test speech."""
    people = (
        """guest = "Camille Martin"
organisation = "Les Ateliers du Lien"
cause = "l'insertion par l'activité économique"
hashtags = ["ESS", "insertion"]"""
        if vocabulary
        else ""
    )
    path.write_text(
        f"""
season = 1
number = 7
slug = "{slug}"
title = "Lectures : l'économie sociale, d'un mot à l'autre"
{people}
{picks}
""",
        encoding="utf-8",
    )
    return path


def normalise(text: str) -> str:
    """Lower-case, unify apostrophes, drop punctuation other than in-word apostrophes and hyphens."""
    text = unicodedata.normalize("NFC", text.lower()).replace("’", "'")
    text = re.sub(r"[^\w'\- ]+", " ", text)
    text = re.sub(r"(?<!\w)['\-]|['\-](?!\w)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_objects(manifest: dict[str, Any], read: Any) -> None:
    """Every object listed in the manifest exists with the stated bytes and sha256."""
    assert manifest["objects"], "manifest lists no objects"
    for obj in manifest["objects"]:
        data = read(obj["key"])
        assert len(data) == obj["bytes"], obj["key"]
        assert sha256(data) == obj["sha256"], obj["key"]


def region_diff(a: bytes, b: bytes, width: int, height: int, top: float, bottom: float) -> float:
    """Mean absolute difference of two RGB24 frames over rows [top, bottom) (fractions of height)."""
    import numpy as np

    fa = np.frombuffer(a, dtype=np.uint8).reshape(height, width, 3).astype(np.int16)
    fb = np.frombuffer(b, dtype=np.uint8).reshape(height, width, 3).astype(np.int16)
    r0, r1 = int(top * height), int(bottom * height)
    return float(np.abs(fa[r0:r1] - fb[r0:r1]).mean())


def load_json(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(data)
    return result
