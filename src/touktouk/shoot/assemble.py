"""A shoot made into one footage file: cameras joined and placed on the timeline by their sound,
the conformed footage written once into a cache folder keyed by everything it depends on.

The timeline is the mics' clock (or the recorder's; without either, the first camera's). This step
publishes one camera (the first that shows the host, else the first) under the reference sound;
the other cameras are placed and recorded too, ready for the multicam cut.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from touktouk.codeversion import source_version
from touktouk.config import RenderSettings, Shoot, ShootCamera
from touktouk.errors import MediaError
from touktouk.hashing import file_sha256
from touktouk.progress import ProgressLog
from touktouk.shoot.conform import Conform, conform
from touktouk.shoot.correlate import Signal
from touktouk.shoot.decode import decode_mono, mix
from touktouk.shoot.parts import Part, check_follow_on, join_parts, read_part
from touktouk.shoot.sync import MIN_CONFIDENCE, SYNC_RATE, Placement, place

SHOOT_CACHE_ENV = "TOUKTOUK_SHOOT_CACHE"
FOOTAGE_NAME = "footage.mp4"
RECORD_NAME = "shoot.json"
_log = logging.getLogger("touktouk.shoot")


def shoot_cache_dir() -> Path:
    """Where conformed shoots are kept: $TOUKTOUK_SHOOT_CACHE or ~/.cache/touktouk/shoots."""
    raw = os.environ.get(SHOOT_CACHE_ENV, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "touktouk" / "shoots"


@dataclass(frozen=True)
class AssembledShoot:
    footage: Path  # the conformed file, on the timeline's clock
    record: dict[str, Any]  # the manifest's "shoot": timeline, footage camera, sources[]


@dataclass(frozen=True)
class _Camera:
    config: ShootCamera
    parts: tuple[Part, ...]

    @property
    def first(self) -> Path:
        return self.parts[0].path


Sound = tuple[str, str, str]  # kind ("mic", "recorder"), name, file as the episode file gives it


def _sounds(shoot: Shoot) -> list[Sound]:
    """The recorder's track and the mics, the one the timeline runs on first."""
    recorder: list[Sound] = [("recorder", "recorder", shoot.recorder)] if shoot.recorder else []
    return recorder + [("mic", m.speaker, m.file) for m in shoot.mics]


def _reference(shoot: Shoot) -> list[Sound]:
    """The sound the timeline runs on: the recorder's mixed track, else the mics (mixed)."""
    return _sounds(shoot)[:1] if shoot.recorder else _sounds(shoot)


def read_shoot(shoot: Shoot, base: Path) -> list[_Camera]:
    """Every file of the shoot checked (present, readable, parts that follow on, sound to sync on),
    before any work; errors name the file."""
    references = _reference(shoot)
    for kind, name, file in _sounds(shoot):
        path = base / file
        if not path.is_file():
            what = "the recorder's track" if kind == "recorder" else f"the mic of speaker '{name}'"
            raise MediaError(
                f"{path}: {what} not found; check its path in the episode file's [shoot] "
                "(relative to the episode file)."
            )
    cameras = []
    for cam in shoot.cameras:
        parts = [read_part(base / f, f"part {n} of camera '{cam.name}'") for n, f in enumerate(cam.files, 1)]
        check_follow_on(parts, cam.name)
        is_reference = not references and cam is shoot.cameras[0]
        if cam.offset is None and parts[0].audio is None and not is_reference:
            raise MediaError(
                f"{parts[0].path}: camera '{cam.name}' has no sound to sync on; set its offset by hand in its "
                "[[shoot.cameras]] (offset = -4.25: the timeline time of its first frame, in seconds)."
            )
        if is_reference and parts[0].audio is None:
            raise MediaError(
                f"{parts[0].path}: camera '{cam.name}' has no sound and the shoot lists no mics or recorder; "
                "add the mics ([[shoot.mics]]) or the recorder's track ([shoot] recorder = ...)."
            )
        cameras.append(_Camera(cam, tuple(parts)))
    return cameras


def cache_key(shoot: Shoot, base: Path, render: RenderSettings) -> str:
    """The SHA-256 of every file's bytes, the shoot as written, the encode settings and the code."""
    files = [f for c in shoot.cameras for f in c.files] + [m.file for m in shoot.mics]
    files += [shoot.recorder] if shoot.recorder else []
    parts = {
        "shoot": shoot.model_dump(mode="json"),
        "files": {f: file_sha256(base / f) for f in files},
        "encode": [render.preset, render.crf],
        "code": source_version(("touktouk.shoot",)),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def footage_camera(shoot: Shoot) -> ShootCamera:
    """The camera this step publishes: the first that shows the host, else the first."""
    return next((c for c in shoot.cameras if "host" in c.shows), shoot.cameras[0])


def _source_record(kind: str, name: str, files: list[str], p: Placement, placed_by: str) -> dict[str, Any]:
    """A manifest `shoot.sources[]` row; `placed_by`: "sound", "hand" or "timeline" (the clock itself)."""
    return {
        "name": name,
        "kind": kind,
        "files": files,
        "offset_s": round(p.offset_s, 6),
        "drift_ppm": round(p.drift_ppm, 2),
        "drift_corrected": p.drift_corrected,
        "confidence": round(p.confidence, 1) if placed_by == "sound" else None,
        "placed_by": placed_by,
    }


def _place(cam: _Camera, joined: Path, reference: Signal) -> Placement:
    if cam.config.offset is not None:
        return Placement(cam.config.offset, 0.0, 0.0)
    placed = place(reference, decode_mono(joined, SYNC_RATE, what=f"camera '{cam.config.name}'"), SYNC_RATE)
    if placed.confidence < MIN_CONFIDENCE or placed.chunks == 0:
        raise MediaError(
            f"{cam.first}: camera '{cam.config.name}' cannot be placed on the shoot's timeline by its sound "
            f"(match confidence {placed.confidence:.1f}, below {MIN_CONFIDENCE:g}); check the file is from this "
            "shoot and its microphone was on, or set its offset by hand in its [[shoot.cameras]]."
        )
    return placed


def assemble_shoot(
    shoot: Shoot, base: Path, render: RenderSettings, *, cache_dir: Path | None = None, log: Any = None
) -> AssembledShoot:
    """The shoot's conformed footage and its record, made once (then read from the cache)."""
    logger = log or _log
    cameras, references = read_shoot(shoot, base), _reference(shoot)
    folder = (cache_dir or shoot_cache_dir()).expanduser() / cache_key(shoot, base, render)[:32]
    footage, record_file = folder / FOOTAGE_NAME, folder / RECORD_NAME
    if footage.is_file() and record_file.is_file():
        logger.info("Shoot: conformed footage unchanged, taken from the cache (%s)", footage)
        return AssembledShoot(footage, json.loads(record_file.read_text(encoding="utf-8")))
    folder.mkdir(parents=True, exist_ok=True)
    joined = {
        c.config.name: join_parts(c.parts, folder / f"{c.config.name}{c.first.suffix.lower()}", c.config.name)
        for c in cameras
    }
    sources: list[dict[str, Any]] = []
    if references:
        reference = mix([decode_mono(base / f, SYNC_RATE, what=f"the {k} '{n}'") for k, n, f in references])
        timeline = "recorder" if shoot.recorder else "mics"
        for kind, name, file in _sounds(shoot):  # on the timeline's clock by definition
            sources.append(_source_record(kind, name, [file], Placement(0.0, 0.0, 0.0), "timeline"))
    else:
        first = cameras[0]
        reference = decode_mono(joined[first.config.name], SYNC_RATE, what=f"camera '{first.config.name}'")
        timeline = f"camera:{first.config.name}"
    duration = len(reference) / SYNC_RATE
    placements: dict[str, Placement] = {}
    for cam in cameras:
        is_reference = not references and cam is cameras[0]
        p = Placement(0.0, 0.0, 0.0) if is_reference else _place(cam, joined[cam.config.name], reference)
        placements[cam.config.name] = p
        by_hand = cam.config.offset is not None
        placed_by = "timeline" if is_reference else "hand" if by_hand else "sound"
        logger.info(
            "Shoot: camera '%s' placed at %+.3f s, drift %+.1f ppm%s, confidence: %s",
            cam.config.name, p.offset_s, p.drift_ppm, " (corrected)" if p.drift_corrected else "",
            placed_by if placed_by != "sound" else f"{p.confidence:.1f}",
        )  # fmt: skip
        sources.append(_source_record("camera", cam.config.name, list(cam.config.files), p, placed_by))
    chosen = footage_camera(shoot)
    cam = next(c for c in cameras if c.config is chosen)
    main = joined[chosen.name]
    job = Conform(
        camera=main,
        origin=read_part(main, f"camera '{chosen.name}'").origin if len(cam.parts) > 1 else cam.parts[0].origin,
        rate=cam.parts[0].rate,
        placement=placements[chosen.name],
        reference=tuple(base / f for _, _, f in references) or (main,),
        duration=duration,
        preset=render.preset,
        crf=render.crf,
    )
    conform(job, footage, ProgressLog(logger, label="Conforming the shoot", of="of the timeline"))
    record = {"timeline": timeline, "duration_s": round(duration, 3), "footage_camera": chosen.name, "sources": sources}
    record_file.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return AssembledShoot(footage, record)
