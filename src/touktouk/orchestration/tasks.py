"""Prefect tasks: thin wrappers over the pipeline's plain functions."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from touktouk.captions.files import write_captions
from touktouk.captions.layout import layout_for_style
from touktouk.captions.styles import style_for
from touktouk.clips.chapters import Chapters, find_chapters
from touktouk.clips.energy import rms_per_second
from touktouk.clips.scoring import energy_profile
from touktouk.clips.select import PickRequest, choose_clips, length_range
from touktouk.clips.texts import DEFAULT_TEMPLATES, Template, describe, hook_from, with_chapters
from touktouk.config import SeriesConfig
from touktouk.errors import ToukToukError
from touktouk.orchestration.cache_keys import render_cache_key, transcribe_cache_key, youtube_master_cache_key
from touktouk.orchestration.runners import TRANSIENT_RETRY_DELAYS, retry_transient
from touktouk.pipeline.clips import RenderJob, clip_platforms, local_master, render_clip_files, store_rendered_clip
from touktouk.pipeline.inputs import fetch_inputs
from touktouk.platforms import PLATFORMS, YOUTUBE_MASTER
from touktouk.publish.commit import (
    AnyClip,
    Inputs,
    StoredClip,
    log_put,
    publish_outputs,
)
from touktouk.render.encode import branding_from, encode_settings
from touktouk.render.master import render_master
from touktouk.render.probe import MediaInfo, extract_audio, probe
from touktouk.store.base import StoredObject, guess_content_type
from touktouk.store.keys import (
    episode_prefix,
    master_key,
    youtube_master_key,
)
from touktouk.store.url import open_store
from touktouk.transcribe.progress import ProgressLog
from touktouk.transcribe.run import transcribe
from touktouk.types import ClipPlan, Transcript


@task(
    name="fetch footage",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def fetch_footage_task(inputs: Inputs) -> Inputs:
    """Download s3:// footage into the local cache (verified; a cached copy is reused)."""
    return fetch_inputs(inputs, get_run_logger())


@task(name="probe footage", cache_policy=NO_CACHE)
def probe_task(footage: Path) -> MediaInfo:
    info = probe(footage)
    get_run_logger().info(
        "Footage %s: %.1f s, %s, %d audio channel(s)",
        footage.name,
        info.duration,
        f"{info.width}x{info.height} @ {info.fps:.2f} fps" if info.has_video else "audio only",
        info.audio_channels,
    )
    return info


@task(name="extract audio", cache_policy=NO_CACHE)
def extract_audio_task(footage: Path, workdir: Path) -> Path:
    return extract_audio(footage, workdir / "audio-16k.wav")


@task(name="transcribe", cache_key_fn=transcribe_cache_key, persist_result=True)
def transcribe_task(audio: Path, series: SeriesConfig, prompt: str) -> Transcript:
    logger = get_run_logger()
    t0 = time.monotonic()
    # progress (percent of the speech, ETA) goes to this run's logger: ProgressLog
    transcript, cached = transcribe(
        audio, series.whisper, language=series.language, prompt=prompt, on_progress=ProgressLog(logger)
    )
    logger.info(
        "Transcript: %d words%s (%s %s) in %.1f s",
        len(transcript.words),
        " from the cache, nothing recomputed" if cached else "",
        transcript.backend,
        transcript.model,
        time.monotonic() - t0,
    )
    return transcript


@task(name="write transcript", cache_policy=NO_CACHE)
def write_transcript_task(transcript: Transcript, series: SeriesConfig, workdir: Path) -> dict[str, Path]:
    out = workdir / "transcript"
    out.mkdir(parents=True, exist_ok=True)
    style = style_for("classic", series.brand, series.captions)
    events = layout_for_style(transcript.words, style)
    files = write_captions(events, style, out, "transcript", karaoke=False)
    js = out / "transcript.json"
    js.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return {"json": js, "srt": files["srt"], "vtt": files["vtt"]}


@task(name="translate", cache_policy=NO_CACHE)
def translate_task(audio: Path, series: SeriesConfig, target: str, workdir: Path) -> dict[str, Path]:
    """Whisper's translate task: an English caption track of the whole episode."""
    if target != "en":
        raise ToukToukError(f"Whisper translates into English only; use --translate en, not '{target}'.")
    transcript, cached = transcribe(audio, series.whisper, language=series.language, task="translate")
    get_run_logger().info(
        "Translation (%s): %d words%s", target, len(transcript.words), " from the cache" if cached else ""
    )
    out = workdir / "transcript"
    out.mkdir(parents=True, exist_ok=True)
    style = style_for("classic", series.brand, series.captions)
    events = layout_for_style(transcript.words, style)
    files = write_captions(events, style, out, f"transcript.{target}", karaoke=False)
    return {f"{target}.srt": files["srt"], f"{target}.vtt": files["vtt"]}


@task(name="choose clips", cache_policy=NO_CACHE)
def choose_clips_task(
    transcript: Transcript, inputs: Inputs, duration: float, audio: Path | None = None
) -> list[ClipPlan]:
    """Picks and highlights; `audio` (the 16 kHz wav) adds the loudness component. A quote pick
    that is not in the transcript raises QuoteNotFoundError here, before anything is rendered or stored."""
    ep, settings = inputs.episode, inputs.series.clips
    min_s, max_s = length_range(settings.min_seconds, settings.max_seconds, (PLATFORMS[p] for p in settings.platforms))
    plans = choose_clips(
        transcript,
        [PickRequest(p.start, p.end, p.title, p.quote) for p in ep.picks],
        duration=duration,
        count=settings.auto_clips,
        min_seconds=min_s,
        max_seconds=max_s,
        terms=[ep.guest, ep.organisation, ep.cause, *ep.hashtags],
        energy=energy_profile(rms_per_second(audio)) if audio is not None else None,
        where=inputs.episode_file or "the episode file",
    )
    logger = get_run_logger()
    for c in plans:
        logger.info("Clip %s: %.1f-%.1f s (%s, score %.2f) %s", c.id, c.start, c.end, c.source, c.score, c.reason)
    if not plans:
        logger.warning(
            "No clip chosen: no sentence-bounded window of %g-%g s and no pick in the episode file.",
            settings.min_seconds,
            settings.max_seconds,
        )
    return plans


@task(
    name="render clip",
    cache_key_fn=render_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def render_clip_task(plan: ClipPlan, job: RenderJob) -> StoredClip:
    """Render one clip on whichever machine runs this task, in a folder of its own, and store
    its files; returns storage keys only (see `StoredClip`)."""
    logger = get_run_logger()
    store = open_store(job.store_url, endpoint_url=job.endpoint_url)
    footage = local_master(store, job, logger)
    workdir = Path(tempfile.mkdtemp(prefix=f"touktouk-{plan.id}-"))
    try:
        info = replace(job.info, path=str(footage))
        rendered = render_clip_files(
            plan, info, job.transcript, job.series, workdir, job.karaoke,
            keywords=job.keywords, branding=branding_from(job.series.brand, job.config_dir),
        )  # fmt: skip
        return store_rendered_clip(store, job, rendered, logger)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@task(
    name="store footage",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def store_master_task(inputs: Inputs) -> StoredObject:
    """Put the footage in the store first, so that render tasks on any machine can read it."""
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    key = master_key(episode_prefix(inputs.series, inputs.episode), inputs.footage.suffix)
    obj = store.put_file(key, inputs.footage, guess_content_type(key), {"episode": inputs.episode.episode_id})
    return log_put(get_run_logger(), obj)


def _fields(inputs: Inputs, hook: str) -> dict[str, str]:
    ep = inputs.episode
    return {
        "series": inputs.series.series,
        "title": ep.title,
        "guest": ep.guest,
        "organisation": ep.organisation,
        "cause": ep.cause,
        "hook": hook,
        "episode": str(ep.number),
        "season": str(ep.season),
        "episode_url": ep.links.get("youtube", "") or next(iter(ep.links.values()), ""),
    }


def _template(series: SeriesConfig, platform: str) -> Template:
    """The series config may override the French default template of any platform."""
    default = DEFAULT_TEMPLATES[platform]
    custom = series.templates.get(platform)
    if custom is None:
        return default
    return Template(title=custom.title or default.title, text=custom.text or default.text)


@task(name="describe", cache_policy=NO_CACHE)
def describe_task(clips: Sequence[AnyClip], inputs: Inputs, transcript: Transcript | None = None) -> dict[str, Any]:
    """Per-clip, per-platform metadata; returns the episode-level (YouTube master) metadata, whose
    description carries the chapters found in the transcript."""
    tags = list(inputs.episode.hashtags)
    for clip in clips:
        hook = clip.plan.title or hook_from(clip.plan.text)
        for platforms in clip_platforms(clip):
            for pid in platforms:
                clip.metadata[pid] = describe(
                    PLATFORMS[pid], _fields(inputs, hook), tags, _template(inputs.series, pid)
                )
    yt = PLATFORMS["youtube"]
    fields = _fields(inputs, inputs.episode.title)
    master_meta = describe(yt, fields, tags, _template(inputs.series, "youtube"))
    found = find_chapters(transcript) if transcript is not None else Chapters((), "no transcript")
    if found:
        master_meta["text"] = with_chapters(
            str(master_meta["text"]), found.items, limit=yt.text_limit, unit=yt.text_unit
        )
    get_run_logger().info("Chapters: %d (%s)", len(found.items), found.note)
    return {
        "youtube": master_meta,
        "chapters": [{"start": c.start, "title": c.title} for c in found.items],
    }


@task(
    name="publish",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def publish_task(
    inputs: Inputs,
    info: MediaInfo,
    transcript: Transcript,
    transcript_files: dict[str, Path],
    clips: Sequence[AnyClip],
    episode_metadata: dict[str, Any],
    master: StoredObject | None = None,
    youtube_master: StoredObject | None = None,
) -> str:
    """Upload every file, then the manifest last (see `publish_outputs`)."""
    return publish_outputs(
        inputs,
        info,
        transcript,
        transcript_files,
        clips,
        episode_metadata,
        logger=get_run_logger(),
        master=master,
        youtube_master=youtube_master,
    )


@task(
    name="youtube master",
    cache_key_fn=youtube_master_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def youtube_master_task(job: RenderJob) -> StoredObject:
    """The whole episode as a YouTube-ready 1920x1080 master (H.264/AAC, loudness-normalised in two
    passes), stored at its key; its SRT/VTT sidecars are the transcript's caption files."""
    logger = get_run_logger()
    store = open_store(job.store_url, endpoint_url=job.endpoint_url)
    footage = local_master(store, job, logger)
    workdir = Path(tempfile.mkdtemp(prefix="touktouk-master-"))
    try:
        out = workdir / "youtube.mp4"
        info = replace(job.info, path=str(footage))
        encode = encode_settings(YOUTUBE_MASTER, x264_preset=job.series.render.preset, crf=job.series.render.crf)
        t0 = time.monotonic()
        render_master(info, out, encode=encode, branding=branding_from(job.series.brand, job.config_dir))
        logger.info("Rendered the YouTube master (%.0f s of footage) in %.1f s", info.duration, time.monotonic() - t0)
        key = youtube_master_key(job.prefix)
        meta = {"episode": job.episode_id, "platform": "youtube"}
        return log_put(logger, store.put_file(key, out, guess_content_type(key), meta))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
