"""One clip from plan to stored files: captions per frame shape, the crop, one render, cover and thumbnails."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from touktouk.captions.files import write_captions
from touktouk.captions.karaoke import emoji_warnings
from touktouk.captions.layout import layout_clip
from touktouk.captions.styles import caption_kind, style_for
from touktouk.clips.texts import hook_from
from touktouk.config import SeriesConfig
from touktouk.pipeline.fingerprints import clip_inputs, cover_inputs, hash_parts
from touktouk.pipeline.job import EpisodeJob, RenderJob
from touktouk.platforms import PLATFORMS, shared_preset
from touktouk.progress import ProgressLog
from touktouk.publish.commit import RenderedClip, StoredClip, StoredVideo, log_put
from touktouk.publish.review import thumbnail_times
from touktouk.render.clip import render_clip
from touktouk.render.encode import Branding, OutputSpec, branding_from, encode_settings
from touktouk.render.graph import aspect
from touktouk.render.probe import MediaInfo, probe
from touktouk.render.stills import make_cover, thumbnail
from touktouk.runlog import LoggerLike, run_logger
from touktouk.store.base import INPUTS_META, Store, StoredObject, guess_content_type, sha256_and_size
from touktouk.store.footage import fetch_footage
from touktouk.store.keys import clip_cover_key, clip_file_names, clip_folder
from touktouk.store.s3 import S3Store
from touktouk.store.url import open_store
from touktouk.types import ClipPlan, Framing, Transcript, Word
from touktouk.vision.faces import FaceSample, detect_faces, follow_speaker, speaker_near
from touktouk.vision.reframe import plan_crop
from touktouk.vision.shots import scene_cuts

log = logging.getLogger(__name__)


def _outputs_for(plan: ClipPlan, platforms: tuple[str, ...], clip_dir: Path) -> list[tuple[list[str], OutputSpec]]:
    """One file per distinct frame size over every platform's formats (9:16, 1:1, 16:9);
    platforms that share a size share the file, encoded to the strictest of their presets."""
    by_size: dict[tuple[int, int], list[str]] = {}
    for pid in platforms:
        p = PLATFORMS[pid]
        if p.min_duration <= plan.duration <= p.max_duration:
            for f in p.formats:
                by_size.setdefault((f.width, f.height), []).append(pid)
    sizes = sorted(by_size, key=lambda s: -s[0] * s[1])
    return [(by_size[s], OutputSpec(clip_dir / f"{s[0]}x{s[1]}.mp4", s[0], s[1])) for s in sizes]


def render_clip_files(
    plan: ClipPlan,
    info: MediaInfo,
    transcript: Transcript,
    series: SeriesConfig,
    workdir: Path,
    karaoke: bool = True,
    *,
    keywords: Sequence[str] = (),
    branding: Branding | None = None,
    framing: Sequence[Framing] = (),
) -> RenderedClip:
    """Render one clip into `workdir` (local files; see `render_clip_task`): captions laid out per
    frame shape (avoiding shot changes, episode keywords emphasised), the crop following the
    speaker's face in 9:16 and 1:1 (on a multicam shot that shows several people, the face of the
    one speaking: `framing`), every format from one decode, and review thumbnails. (The cover,
    which shows the title, is made apart: `render_cover_file`.)"""
    logger = run_logger(log)
    clip_dir = workdir / "clips" / plan.id
    clip_dir.mkdir(parents=True, exist_ok=True)
    footage = Path(info.path)
    words = transcript.words_between(plan.start, plan.end)
    cuts = scene_cuts(footage, plan.start, plan.end) if info.has_video else []
    # a multicam program's own cuts are known to the frame: they replace the detected ones near them
    known = [f.start for f in framing if plan.start < f.start < plan.end]
    cuts = sorted(known + [c for c in cuts if all(abs(c - k) > 0.5 for k in known)])
    videos = _outputs_for(plan, series.clips.platforms, clip_dir)
    # The clip's main caption files (SRT, VTT, ASS) are the 9:16 ones; other shapes get their own ASS.
    style = style_for("vertical", series.brand, series.captions)
    events = layout_clip(words, style, plan.start, plan.end, cuts=cuts)
    files = write_captions(events, style, clip_dir, "captions", karaoke=karaoke, keywords=keywords)
    for line in emoji_warnings(events, style):
        logger.warning("Clip %s: %s", plan.id, line)
    if not videos:
        logger.warning("Clip %s (%.1f s) fits no selected platform's duration range.", plan.id, plan.duration)
        return RenderedClip(plan, [], files)
    ass_by_kind = {"vertical": files["ass"]}
    r = series.render
    samples: list[FaceSample] | None = None
    specs = []
    for pids, spec in videos:
        kind = caption_kind(spec.width, spec.height)
        if kind not in ass_by_kind:
            kstyle = style_for(kind, series.brand, series.captions)
            kevents = layout_clip(words, kstyle, plan.start, plan.end, cuts=cuts)
            kfiles = write_captions(kevents, kstyle, clip_dir / kind, "captions", karaoke=karaoke, keywords=keywords)
            ass_by_kind[kind] = kfiles["ass"]
        crop_x = None
        if r.reframe and info.has_video and aspect(spec.width, spec.height) != aspect(info.display_width, info.height):
            if samples is None:
                samples = detect_faces(footage, plan.start, plan.end, cuts=cuts)
                if framing:
                    samples = follow_speaker(samples, framing, lambda t: speaker_near(words, t))
            crop = plan_crop(
                samples, cuts, info.display_width, info.height, aspect(spec.width, spec.height),
                clip_start=plan.start, clip_end=plan.end,
            )  # fmt: skip
            crop_x = crop.x_expr()
        preset = shared_preset([PLATFORMS[p].encode for p in pids])
        encode = encode_settings(preset, x264_preset=r.preset, crf=r.crf)
        specs.append(replace(spec, subtitles=ass_by_kind[kind], crop_x=crop_x, encode=encode))
    t0 = time.monotonic()
    progress = ProgressLog(logger, step=25.0, label=f"Rendering clip {plan.id}", of="of video")
    render_clip(
        info, plan.start, plan.end, specs, fonts_dir=series.brand.fonts_dir, branding=branding, on_progress=progress
    )
    if samples is not None:
        logger.info(
            "Clip %s: crop follows the speaker (%d of %d sampled frames with a face, %d shot change(s))",
            plan.id, sum(1 for s in samples if s.speaker is not None), len(samples), len(cuts),
        )  # fmt: skip
    extras: dict[str, Path] = {}
    main = specs[0].path
    for i, at in enumerate(thumbnail_times(0.0, plan.duration, r.thumbnails), start=1):
        thumb = clip_dir / "thumbs" / f"{i:02d}.jpg"
        thumbnail(main, at, thumb, width=240)
        extras[f"thumb{i:02d}"] = thumb
    logger.info(
        "Rendered clip %s (%.1f s) into %s in %.1f s",
        plan.id,
        plan.duration,
        ", ".join(f"{s.width}x{s.height}" for s in specs),
        time.monotonic() - t0,
    )
    return RenderedClip(plan, [(pids, spec) for (pids, _), spec in zip(videos, specs, strict=True)], files, extras)


def render_cover_file(
    plan: ClipPlan, info: MediaInfo, transcript: Transcript, series: SeriesConfig, path: Path
) -> Path:
    """The clip's cover: a frame of its hook (first sentence) with its title (or the hook) over it.
    Apart from the clip's render: a new title redoes this image and the metadata, no video."""
    b = series.brand
    make_cover(
        info, path, title=plan.title or hook_from(plan.text),
        around=_cover_time(plan, transcript.words_between(plan.start, plan.end)),
        font=b.font, fonts_dir=b.fonts_dir, text_colour=b.primary_colour, accent_colour=b.highlight_colour,
    )  # fmt: skip
    return path


def _cover_time(plan: ClipPlan, words: Sequence[Word]) -> float:
    """Where to look for the cover frame: the middle of the clip's first sentence (the hook)."""
    first = [w for w in words if w.start >= plan.start]
    end = next((i for i, w in enumerate(first) if w.text.rstrip().endswith((".", "!", "?", "…"))), len(first) - 1)
    if not first:
        return (plan.start + plan.end) / 2
    return (first[0].start + first[max(0, end)].end) / 2


def clip_platforms(clip: StoredClip | RenderedClip) -> list[list[str]]:
    """The platforms of each video of a clip, largest frame first."""
    if isinstance(clip, StoredClip):
        return [list(v.platforms) for v in clip.videos]
    return [platforms for platforms, _ in clip.videos]


def local_master(store: Store, job: EpisodeJob, master: StoredObject, logger: Any) -> Path:
    """The footage for a render task: the flow's own file when this machine has it, else the
    stored master (downloaded once into the verified footage cache, or read from a folder store)."""
    hint = Path(job.footage_hint) if job.footage_hint else None
    if hint is not None and hint.is_file() and hint.stat().st_size == master.bytes:
        return hint
    if isinstance(store, S3Store):
        return fetch_footage(store.location(master.key), endpoint_url=job.endpoint_url, log=logger)
    return Path(store.location(master.key))


def store_rendered_clip(
    store: Store, job: RenderJob, clip: RenderedClip, logger: Any, inputs_sha256: str = ""
) -> StoredClip:
    """Put a clip's files in one folder named by their content (`store.keys.clip_folder`): a key
    that exists is never overwritten, so the live manifest's objects stay true while this runs.
    Identical objects are not sent again; the manifest is written later, by the publish step.
    `inputs_sha256` (the hash of `pipeline.fingerprints.clip_inputs`) goes in each video's metadata."""
    local = {f"{spec.width}x{spec.height}": spec.path for _, spec in clip.videos}
    local |= dict(clip.caption_files) | dict(clip.extras)
    names = clip_file_names(
        [(spec.width, spec.height) for _, spec in clip.videos], list(clip.caption_files), list(clip.extras)
    )
    folder = clip_folder(job.prefix, clip.plan.id, {names[k]: sha256_and_size(p)[0] for k, p in local.items()})
    tags = {"episode": job.episode_id, "clip": clip.plan.id}

    def put(slot: str, meta: dict[str, str]) -> Any:
        key = f"{folder}/{names[slot]}"
        return log_put(logger, store.put_file(key, local[slot], guess_content_type(key), meta, immutable=True))

    videos = []
    for platforms, spec in clip.videos:
        meta = {**tags, "platform": ",".join(platforms), **({INPUTS_META: inputs_sha256} if inputs_sha256 else {})}
        obj = put(f"{spec.width}x{spec.height}", meta)
        measured = probe(spec.path)
        videos.append(StoredVideo(tuple(platforms), spec.width, spec.height, round(measured.duration, 3), obj))
    captions_stored = {fmt: put(fmt, tags) for fmt in clip.caption_files}
    extras = {name: put(name, tags) for name in clip.extras}
    return StoredClip(clip.plan, videos, captions_stored, extras=extras)


def render_and_store_cover(plan: ClipPlan, job: RenderJob, logger: LoggerLike) -> StoredObject | None:
    """Make one clip's cover and store it under its content-named key (`store.keys.clip_cover_key`);
    None when the series makes no covers. `render_cover_task` runs it."""
    if not job.series.render.covers:
        return None
    store = open_store(job.store_url, endpoint_url=job.endpoint_url)
    footage = local_master(store, job, job.master, logger)
    workdir = Path(tempfile.mkdtemp(prefix=f"touktouk-{plan.id}-cover-"))
    try:
        t0 = time.monotonic()
        path = render_cover_file(
            plan, replace(job.info, path=str(footage)), job.transcript, job.series, workdir / "cover.jpg"
        )
        logger.info("Rendered cover of clip %s in %.1f s", plan.id, time.monotonic() - t0)
        key = clip_cover_key(job.prefix, plan.id, sha256_and_size(path)[0])
        meta = {"episode": job.episode_id, "clip": plan.id, INPUTS_META: hash_parts(cover_inputs(plan, job))}
        return log_put(logger, store.put_file(key, path, guess_content_type(key), meta, immutable=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def render_and_store_clip(plan: ClipPlan, job: RenderJob, logger: LoggerLike) -> StoredClip:
    """Render one clip on whichever machine runs this task, in a folder of its own, and store
    its files; returns storage keys only (see `StoredClip`). `render_clip_task` runs it."""
    store = open_store(job.store_url, endpoint_url=job.endpoint_url)
    footage = local_master(store, job, job.master, logger)
    workdir = Path(tempfile.mkdtemp(prefix=f"touktouk-{plan.id}-"))
    try:
        info = replace(job.info, path=str(footage))
        rendered = render_clip_files(
            plan, info, job.transcript, job.series, workdir, job.karaoke,
            keywords=job.keywords, branding=branding_from(job.series.brand, job.config_dir), framing=job.framing,
        )  # fmt: skip
        return store_rendered_clip(store, job, rendered, logger, hash_parts(clip_inputs(plan, job)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
