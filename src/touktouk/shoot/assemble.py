"""A shoot made into one footage file: cameras joined and placed on the timeline by their sound,
the conformed footage written once into a cache folder keyed by everything it depends on.

The timeline is the mics' clock (or the recorder's; without either, the first camera's). With a
mic per person and at least two cameras that say whom they show, the footage is the multicam
program: the cut follows who speaks (`shoot.cuts`, from the mics' levels) and switches between
the cameras laid on the timeline. Otherwise it is one camera (the first that shows the host, else
the first) under the reference sound; the other cameras are placed and recorded all the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from touktouk.codeversion import source_version
from touktouk.config import MulticamSettings, RenderSettings, Shoot, ShootCamera
from touktouk.errors import MediaError
from touktouk.hashing import file_sha256
from touktouk.progress import ProgressLog
from touktouk.shoot.conform import Conform, Program, conform, render_program
from touktouk.shoot.correlate import Signal
from touktouk.shoot.cuts import Angle, CutRules, Shot, on_frames, plan_cut
from touktouk.shoot.decode import decode_mics, decode_mono, mix
from touktouk.shoot.parts import Part, check_follow_on, join_parts, read_part
from touktouk.shoot.speakers import LEVEL_RATE, mic_turns, voiced_spans
from touktouk.shoot.sync import MIN_CONFIDENCE, SYNC_RATE, Placement, place
from touktouk.streams import display_width
from touktouk.types import Framing

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


def cache_key(shoot: Shoot, base: Path, render: RenderSettings, multicam: MulticamSettings | None = None) -> str:
    """The SHA-256 of every file's bytes, the shoot as written, the encode and cut settings and the code."""
    files = [f for c in shoot.cameras for f in c.files] + [m.file for m in shoot.mics]
    files += [shoot.recorder] if shoot.recorder else []
    parts = {
        "shoot": shoot.model_dump(mode="json"),
        "files": {f: file_sha256(base / f) for f in files},
        "encode": [render.preset, render.crf],
        "multicam": (multicam or MulticamSettings()).model_dump(mode="json"),
        "code": source_version(("touktouk.shoot",)),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def angles(cameras: list[_Camera], placements: dict[str, Placement]) -> list[Angle]:
    """The cameras the cut can choose from (those that say whom they show), each with the stretch
    of the timeline it rolls over."""
    out = []
    for c in cameras:
        if c.config.shows:
            p, seconds = placements[c.config.name], sum(part.video_seconds for part in c.parts)
            out.append(Angle(c.config.name, c.config.shows, p.timeline_time(0.0), p.timeline_time(seconds)))
    return out


def multicam_cut(shoot: Shoot, settings: MulticamSettings) -> bool:
    """Whether the shoot gets the multicam cut: a mic per person and two cameras that show someone."""
    return settings.enabled and bool(shoot.mics) and sum(1 for c in shoot.cameras if c.shows) >= 2


def cut_rules(settings: MulticamSettings) -> CutRules:
    return CutRules(
        min_shot_s=settings.min_shot_s, max_shot_s=settings.max_shot_s, cutaway_s=settings.cutaway_s,
        wide_after_s=settings.wide_after_s, lead_s=settings.lead_s,
    )  # fmt: skip


def plan_shoot_cut(
    shoot: Shoot, base: Path, duration: float, cameras: list[Angle], settings: MulticamSettings
) -> list[Shot]:
    """The shoot's cut from its mics: who speaks when (`speakers.mic_turns`), where anyone does."""
    mics = decode_mics(shoot, base, LEVEL_RATE)
    turns, voiced = mic_turns(mics, LEVEL_RATE), voiced_spans(mics, LEVEL_RATE)
    return plan_cut(turns, duration, cameras, voiced, cut_rules(settings))


def framing(record: Mapping[str, Any] | None, shoot: Shoot | None) -> tuple[Framing, ...]:
    """Who each shot of a multicam footage shows, left to right (from its record's cut and the
    cameras' `shows`); () for footage that is no multicam program."""
    if shoot is None or not record or not record.get("cut"):
        return ()
    shows = {c.name: c.shows for c in shoot.cameras}
    return tuple(Framing(s["start"], s["end"], shows.get(s["camera"], ())) for s in record["cut"]["shots"])


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


def _why(shots: list[Shot], at: float) -> str:
    """The reason of the planned shot at `at` seconds (a frame range's middle)."""
    return next((s.why for s in shots if s.start <= at < s.end), shots[-1].why if shots else "")


def _origin(cam: _Camera, joined: Path) -> float:
    """The joined file's time 0 (a join of parts is probed again; one part is as probed)."""
    return read_part(joined, f"camera '{cam.config.name}'").origin if len(cam.parts) > 1 else cam.parts[0].origin


def assemble_shoot(
    shoot: Shoot,
    base: Path,
    render: RenderSettings,
    multicam: MulticamSettings | None = None,
    *,
    cache_dir: Path | None = None,
    log: Any = None,
) -> AssembledShoot:
    """The shoot's conformed footage and its record, made once (then read from the cache)."""
    logger = log or _log
    settings = multicam or MulticamSettings()
    cameras, references = read_shoot(shoot, base), _reference(shoot)
    folder = (cache_dir or shoot_cache_dir()).expanduser() / cache_key(shoot, base, render, settings)[:32]
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
    rate, refs = cam.parts[0].rate, tuple(base / f for _, _, f in references) or (main,)

    def laid(c: _Camera) -> Conform:  # on the timeline, at the footage camera's frame rate
        path = joined[c.config.name]
        origin, placement = _origin(c, path), placements[c.config.name]
        return Conform(path, origin, rate, placement, refs, duration, render.preset, render.crf)

    record: dict[str, Any] = {
        "timeline": timeline, "duration_s": round(duration, 3), "footage_camera": chosen.name, "sources": sources,
    }  # fmt: skip
    if multicam_cut(shoot, settings):
        shots = plan_shoot_cut(shoot, base, duration, angles(cameras, placements), settings)
        cuts = on_frames(shots, float(rate))
        used = [c for c in cameras if any(name == c.config.name for _, _, name in cuts)]
        width, height, sar = cam.parts[0].video[1], cam.parts[0].video[2], cam.parts[0].sar
        program = Program(
            cameras=tuple((c.config.name, laid(c), c.parts[0].sar) for c in used),
            cuts=tuple(cuts),
            size=(display_width(width, sar), height),
        )
        logger.info(
            "Shoot: multicam cut, %d shots on %s (%s)", len(shots), ", ".join(c.config.name for c in used),
            ", ".join(f"{n} {sum(b - a for a, b, k in cuts if k == n) / float(rate):.0f} s" for n in
                      [c.config.name for c in used]),
        )  # fmt: skip
        render_program(program, footage, ProgressLog(logger, label="Cutting the shoot", of="of the timeline"))
        record["cut"] = {
            "rules": settings.model_dump(mode="json", exclude={"enabled"}),
            "shots": [
                {"start": round(a / float(rate), 3), "end": round(b / float(rate), 3), "camera": name,
                 "why": _why(shots, (a + b) / 2 / float(rate))}
                for a, b, name in cuts
            ],
        }  # fmt: skip
    else:
        conform(laid(cam), footage, ProgressLog(logger, label="Conforming the shoot", of="of the timeline"))
    record_file.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return AssembledShoot(footage, record)
