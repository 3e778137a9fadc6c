"""The `publish_episode` Prefect flow: orchestration only, every step is a plain function.

(fetch s3:// footage) → probe → extract audio → transcribe → transcript files → choose clips
→ store the footage → render clips (`.map`, each task stores its files and returns keys)
→ describe per platform → publish (`publish.publish_outputs`: upload the rest, verify the clips'
objects, review page, manifest.json last).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture
from prefect.states import State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from pydantic import Field

from touktouk import __version__
from touktouk.captions.files import write_captions
from touktouk.captions.karaoke import emoji_warnings
from touktouk.captions.layout import layout_clip, layout_for_style
from touktouk.captions.styles import style_for
from touktouk.clips.chapters import Chapters, find_chapters
from touktouk.clips.energy import rms_per_second
from touktouk.clips.scoring import energy_profile
from touktouk.clips.select import PickRequest, choose_clips, length_range
from touktouk.clips.texts import DEFAULT_TEMPLATES, Template, describe, hook_from, with_chapters
from touktouk.config import SeriesConfig, episode_from_footage, load_episode, load_series
from touktouk.errors import ConfigError, MediaError, ToukToukError
from touktouk.hashing import file_sha256
from touktouk.platforms import PLATFORMS, YOUTUBE_MASTER, shared_preset
from touktouk.publish.commit import (
    AnyClip,
    Inputs,
    RenderedClip,
    StoredClip,
    StoredVideo,
    clip_extra_keys,
    in_store,
    log_put,
    publish_outputs,
    render_inputs_sha256,
    render_settings,
)
from touktouk.publish.manifest import check_same_footage
from touktouk.publish.review import thumbnail_times
from touktouk.render.clip import render_clip
from touktouk.render.encode import Branding, OutputSpec, branding_from, encode_settings
from touktouk.render.graph import aspect
from touktouk.render.master import render_master
from touktouk.render.probe import MediaInfo, extract_audio, probe
from touktouk.render.stills import make_cover, thumbnail
from touktouk.store.base import INPUTS_META, Store, StoredObject, guess_content_type
from touktouk.store.footage import fetch_footage
from touktouk.store.keys import (
    clip_caption_keys,
    clip_video_key,
    episode_prefix,
    manifest_key,
    master_key,
    youtube_master_key,
)
from touktouk.store.s3 import S3Store, is_transient
from touktouk.store.url import is_remote, open_store
from touktouk.transcribe.cache import cache_dir
from touktouk.transcribe.progress import ProgressLog
from touktouk.transcribe.run import transcribe, vocabulary_prompt
from touktouk.types import ClipPlan, Transcript, Word
from touktouk.vision.faces import FaceSample, detect_faces
from touktouk.vision.reframe import plan_crop
from touktouk.vision.shots import scene_cuts


def load_inputs(footage: str, episode: str | None, store: str | None, config: str | None) -> Inputs:
    """Read and validate everything the user gave, before any work or any write (no download:
    footage given as an s3:// URL is fetched later by `fetch_inputs`)."""
    series = load_series(config)
    remote = is_remote(footage)
    path = Path(footage.rstrip("/").rsplit("/", 1)[-1]) if remote else Path(footage).expanduser()
    ep = load_episode(episode) if episode else episode_from_footage(path)
    config_dir = Path(config or "config/touktouk.toml").expanduser().resolve().parent
    return Inputs(path, series, ep, episode or "", store or series.store, footage.strip() if remote else "", config_dir)


def fetch_inputs(inputs: Inputs, log: Any = None) -> Inputs:
    """The inputs with s3:// footage downloaded (verified, cached by SHA-256) to a local file."""
    if not inputs.footage_url:
        return inputs
    local = fetch_footage(inputs.footage_url, endpoint_url=inputs.series.endpoint_url or None, log=log)
    return replace(inputs, footage=local)


def validate_picks(inputs: Inputs, duration: float) -> None:
    for n, pick in enumerate(inputs.episode.picks, 1):
        if pick.start is not None and pick.start >= duration:
            raise ConfigError(
                f"{inputs.episode_file}: pick {n} starts at {pick.start:g} s but the footage lasts {duration:.1f} s; "
                "fix its start timecode."
            )


def require_speech(inputs: Inputs, transcript: Transcript) -> None:
    """Refuse footage in which Whisper heard nothing, before anything is rendered or stored."""
    if not transcript.words:
        raise MediaError(
            f"{inputs.footage}: no speech found in the sound track, so there is nothing to transcribe or clip; "
            "check that this is the right file and that its microphone was not muted."
        )


PREFLIGHT_PROBE_KEY = "touktouk-preflight-check"


def check_store_reachable(store: Store, endpoint_url: str | None) -> None:
    """Fail in seconds, before any work, when an S3 store cannot be reached with these credentials
    (one HEAD with short timeouts; the upload itself keeps its patient retries)."""
    if not isinstance(store, S3Store):
        return
    quick = S3Store(
        store.bucket, store.prefix, endpoint_url=endpoint_url, connect_timeout=3.0, read_timeout=10.0, max_attempts=2
    )
    quick.exists(PREFLIGHT_PROBE_KEY)


def refuse_other_footage(inputs: Inputs) -> None:
    """Duplicate slug: refuse, before any upload, footage other than the one this episode's
    existing manifest was made from (its master would overwrite another interview's)."""
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    mkey = manifest_key(episode_prefix(inputs.series, inputs.episode))
    if not store.exists(mkey):
        return
    try:
        previous = json.loads(store.get_bytes(mkey))
    except ValueError:
        return  # not a manifest we can read: the publish replaces it
    check_same_footage(
        previous if isinstance(previous, dict) else None,
        footage=str(inputs.footage),
        size=inputs.footage.stat().st_size,
        sha256=lambda: file_sha256(inputs.footage),
        manifest_location=store.location(mkey),
    )


TASK_RUNNER_ENV = "TOUKTOUK_TASK_RUNNER"  # "threads" (default) or "dask": who runs the clip renders
DASK_ADDRESS_ENV = "TOUKTOUK_DASK_ADDRESS"  # tcp://scheduler:8786; empty: a temporary local Dask cluster
RENDER_WORKERS_ENV = "TOUKTOUK_RENDER_WORKERS"  # clips rendered at once on one machine (default 2)


def _render_workers() -> int:
    raw = os.environ.get(RENDER_WORKERS_ENV, "").strip() or "2"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{RENDER_WORKERS_ENV}={raw!r} is not a positive whole number; fix or unset it.")
    return int(raw)


def task_runner_from_env() -> TaskRunner[Any]:
    """The flow's task runner: a thread pool on this machine, or Dask (a scheduler's address in
    TOUKTOUK_DASK_ADDRESS, else a temporary local cluster) to spread clip renders over machines."""
    kind = os.environ.get(TASK_RUNNER_ENV, "").strip().lower() or "threads"
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=_render_workers())
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        address = os.environ.get(DASK_ADDRESS_ENV, "").strip()
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": _render_workers(), "threads_per_worker": 1})
    raise ConfigError(f"{TASK_RUNNER_ENV}={kind!r} is not a task runner; use 'threads' or 'dask', or unset it.")


def retry_transient(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect retry condition: retry storage and network failures (connection dropped or refused,
    timeouts, 5xx, throttling), never user errors (bad config, bad media, missing bucket)."""
    exc = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    transient = isinstance(exc, BaseException) and is_transient(exc)
    if transient:
        get_run_logger().warning("Transient failure, retrying: %s", exc)
    return transient


TRANSIENT_RETRY_DELAYS: list[float] = [2.0, 10.0]  # seconds before the first and the second retry


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


# --- tasks: thin wrappers, no business logic -------------------------------------------------


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


def caption_kind(width: int, height: int) -> str:
    """The caption style of a frame shape: vertical (9:16), square (1:1) or classic (16:9)."""
    if height > width:
        return "vertical"
    return "square" if height == width else "classic"


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
) -> RenderedClip:
    """Render one clip into `workdir` (local files; see `render_clip_task`): captions laid out per
    frame shape (avoiding shot changes, episode keywords emphasised), the crop following the
    speaker's face in 9:16 and 1:1, every format from one decode, a cover and review thumbnails."""
    logger = get_run_logger()
    clip_dir = workdir / "clips" / plan.id
    clip_dir.mkdir(parents=True, exist_ok=True)
    footage = Path(info.path)
    words = transcript.words_between(plan.start, plan.end)
    cuts = scene_cuts(footage, plan.start, plan.end) if info.has_video else []
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
        if r.reframe and info.has_video and aspect(spec.width, spec.height) != aspect(info.width, info.height):
            if samples is None:
                samples = detect_faces(footage, plan.start, plan.end, cuts=cuts)
            crop = plan_crop(
                samples, cuts, info.width, info.height, aspect(spec.width, spec.height),
                clip_start=plan.start, clip_end=plan.end,
            )  # fmt: skip
            crop_x = crop.x_expr()
        preset = shared_preset([PLATFORMS[p].encode for p in pids])
        encode = encode_settings(preset, x264_preset=r.preset, crf=r.crf)
        specs.append(replace(spec, subtitles=ass_by_kind[kind], crop_x=crop_x, encode=encode))
    t0 = time.monotonic()
    render_clip(info, plan.start, plan.end, specs, fonts_dir=series.brand.fonts_dir, branding=branding)
    if samples is not None:
        logger.info(
            "Clip %s: crop follows the speaker (%d of %d sampled frames with a face, %d shot change(s))",
            plan.id, sum(1 for s in samples if s.speaker is not None), len(samples), len(cuts),
        )  # fmt: skip
    extras: dict[str, Path] = {}
    if r.covers:
        cover = clip_dir / "cover.jpg"
        b = series.brand
        make_cover(
            info, cover, title=plan.title or hook_from(plan.text), around=_cover_time(plan, words),
            font=b.font, fonts_dir=b.fonts_dir, text_colour=b.primary_colour, accent_colour=b.highlight_colour,
        )  # fmt: skip
        extras["cover"] = cover
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


def _cover_time(plan: ClipPlan, words: Sequence[Word]) -> float:
    """Where to look for the cover frame: the middle of the clip's first sentence (the hook)."""
    first = [w for w in words if w.start >= plan.start]
    end = next((i for i, w in enumerate(first) if w.text.rstrip().endswith((".", "!", "?", "…"))), len(first) - 1)
    if not first:
        return (plan.start + plan.end) / 2
    return (first[0].start + first[max(0, end)].end) / 2


def clip_platforms(clip: AnyClip) -> list[list[str]]:
    """The platforms of each video of a clip, largest frame first."""
    if isinstance(clip, StoredClip):
        return [list(v.platforms) for v in clip.videos]
    return [platforms for platforms, _ in clip.videos]


@dataclass(frozen=True)
class RenderJob:
    """What every render task of one run shares; it holds no local path the task relies on."""

    store_url: str
    endpoint_url: str | None
    prefix: str  # the episode's key prefix
    episode_id: str
    master: StoredObject  # the footage, stored before the renders
    footage_hint: str  # the footage on the flow's machine: used only where it exists with the master's size
    info: MediaInfo
    transcript: Transcript
    series: SeriesConfig
    karaoke: bool = True
    keywords: tuple[str, ...] = ()  # episode vocabulary, emphasised in the 9:16 and 1:1 captions
    config_dir: Path | None = None  # where relative brand files (logo, bumpers) are found


def _video_metadata(episode_id: str, clip_id: str, platforms: Sequence[str], inputs_sha256: str) -> dict[str, str]:
    return {"episode": episode_id, "clip": clip_id, "platform": ",".join(platforms), INPUTS_META: inputs_sha256}


def local_master(store: Store, job: RenderJob, logger: Any) -> Path:
    """The footage for a render task: the flow's own file when this machine has it, else the
    stored master (downloaded once into the verified footage cache, or read from a folder store)."""
    hint = Path(job.footage_hint) if job.footage_hint else None
    if hint is not None and hint.is_file() and hint.stat().st_size == job.master.bytes:
        return hint
    if isinstance(store, S3Store):
        return fetch_footage(store.location(job.master.key), endpoint_url=job.endpoint_url, log=logger)
    return Path(store.location(job.master.key))


def store_rendered_clip(store: Store, job: RenderJob, clip: RenderedClip, logger: Any) -> StoredClip:
    """Put a clip's videos and captions at their deterministic keys (identical objects are not
    sent again) and return what is stored; the manifest is written later, by the publish step."""
    videos = []
    for platforms, spec in clip.videos:
        key = clip_video_key(job.prefix, clip.plan.id, spec.width, spec.height)
        inputs_sha = render_inputs_sha256(job.master.sha256, job.info, clip, spec, job.series)
        meta = _video_metadata(job.episode_id, clip.plan.id, platforms, inputs_sha)
        obj = log_put(logger, store.put_file(key, spec.path, guess_content_type(key), meta))
        measured = probe(spec.path)
        videos.append(StoredVideo(tuple(platforms), spec.width, spec.height, round(measured.duration, 3), obj))
    ckeys = clip_caption_keys(job.prefix, clip.plan.id)
    tags = {"episode": job.episode_id, "clip": clip.plan.id}
    captions_stored = {
        fmt: log_put(logger, store.put_file(ckeys[fmt], path, guess_content_type(ckeys[fmt]), tags))
        for fmt, path in clip.caption_files.items()
    }
    extra_keys = clip_extra_keys(job.prefix, clip.plan.id, clip.extras)
    extras = {
        name: log_put(logger, store.put_file(extra_keys[name], path, guess_content_type(extra_keys[name]), tags))
        for name, path in clip.extras.items()
    }
    return StoredClip(clip.plan, videos, captions_stored, extras=extras)


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


Stored = TypeVar("Stored", StoredClip, StoredObject)


def cached_unless_missing(
    result: Stored,
    cached: bool,
    store: Callable[[], Store],
    rerun: Callable[[], Stored],
    *,
    hit: str,
    miss: str = "",
) -> Stored:
    """The result of a task that stores files, as this run uses it. A result taken from the task
    cache (`cached`) stands only while every object it lists is still in `store()` (then logged
    with `hit`, none of them sent by this run); otherwise `rerun()` renders and stores it again."""
    if not cached:
        return result
    objects = result.objects() if isinstance(result, StoredClip) else [result]
    logger = get_run_logger()
    if not all(in_store(store(), o) for o in objects):
        if miss:
            logger.info(miss)
        return rerun()
    logger.info(hit)
    if isinstance(result, StoredClip):
        return result.nothing_sent()
    return replace(result, uploaded=False)


def render_clips(plans: Sequence[ClipPlan], job: RenderJob) -> list[StoredClip]:
    """Fan the renders out with `.map` on the flow's task runner (threads, or Dask workers on
    other machines). A render taken from the task cache is used only while its files are still
    in the store; otherwise it is rendered again."""
    if not plans:
        return []
    futures = render_clip_task.map(list(plans), job=unmapped(job))
    store = functools.cache(lambda: open_store(job.store_url, endpoint_url=job.endpoint_url))

    def clip(plan: ClipPlan, future: PrefectFuture[StoredClip]) -> StoredClip:
        return cached_unless_missing(
            future.result(),
            future.state.name == "Cached",
            store,
            lambda: render_clip_task.with_options(refresh_cache=True)(plan, job),
            hit=f"Clip {plan.id}: render inputs unchanged, taken from the task cache (no render)",
            miss=f"Clip {plan.id}: the cached render's files are no longer in the store; rendering again",
        )

    return [clip(plan, future) for plan, future in zip(plans, futures, strict=True)]


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


def youtube_master(job: RenderJob) -> StoredObject:
    """The master from the task cache while its file is still in the store, else rendered. (It
    runs after the clip renders: submitted beside them, it saved no wall time on 2 cores, since
    x264 already keeps both busy; docs/benchmarks.md, (e).)"""
    state = youtube_master_task(job, return_state=True)
    return cached_unless_missing(
        state.result(),
        state.name == "Cached",
        lambda: open_store(job.store_url, endpoint_url=job.endpoint_url),
        lambda: youtube_master_task.with_options(refresh_cache=True)(job),
        hit="YouTube master: inputs unchanged, taken from the task cache (no render)",
    )


ClipPlatform = Literal["youtube_shorts", "tiktok", "instagram_reels", "linkedin", "x"]
CaptionStyleName = Literal["karaoke", "plain"]


def resolve_episode(episode: str | None, config: str | None) -> str | None:
    """An episode slug (no '/', no '.toml') names config/episodes/<slug>.toml beside the series config."""
    if not episode or "/" in episode or episode.endswith(".toml"):
        return episode
    return str(Path(config or "config/touktouk.toml").parent / "episodes" / f"{episode}.toml")


def with_overrides(inputs: Inputs, platforms: Sequence[str] | None, auto_clips: int | None) -> Inputs:
    """Run parameters from the UI or the API take precedence over the series config."""
    update: dict[str, Any] = {}
    if platforms:
        update["platforms"] = tuple(platforms)
    if auto_clips is not None:
        update["auto_clips"] = auto_clips
    if not update:
        return inputs
    clips = inputs.series.clips.model_copy(update=update)
    series = inputs.series.model_copy(update={"clips": clips})
    return replace(inputs, series=series)


def run_report(inputs: Inputs, info: MediaInfo, clips: Sequence[AnyClip], location: str, seconds: float) -> None:
    """Artifacts shown on the flow run page: a markdown summary and a table of clips with scores."""
    ep = inputs.episode
    link = location if "://" in location else Path(location).resolve().as_uri()
    lines = [
        f"# {ep.episode_id}: {ep.title}",
        "",
        f"- Footage: `{inputs.footage.name}`, {info.duration:.1f} s",
        f"- Run time: {seconds:.0f} s",
        f"- Clips: {len(clips)} ({sum(c.plan.duration for c in clips):.1f} s in all)",
        f"- Manifest: [{location}]({link})",
        f"- Review page: [{location.rsplit('/', 1)[0]}/review.html]({link.rsplit('/', 1)[0]}/review.html)",
        "",
        "| clip | start | end | duration | source | score | title |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = []
    for c in clips:
        p = c.plan
        title = (p.title or p.text[:60]).replace("|", "/")
        lines.append(
            f"| {p.id} | {p.start:.1f} | {p.end:.1f} | {p.duration:.1f} | {p.source} | {p.score:.2f} | {title} |"
        )
        rows.append(
            {
                "clip": p.id,
                "start": round(p.start, 2),
                "end": round(p.end, 2),
                "duration": round(p.duration, 2),
                "source": p.source,
                "score": round(p.score, 3),
                "platforms": ", ".join(pid for platforms in clip_platforms(c) for pid in platforms),
                "reason": p.reason,
            }
        )
    key = re.sub(r"[^a-z0-9-]+", "-", ep.episode_id.lower())
    create_markdown_artifact("\n".join(lines), key=f"{key}-summary", description=f"Published {ep.episode_id}")
    create_table_artifact(rows, key=f"{key}-clips", description=f"Clips of {ep.episode_id} with their scores")


@flow(name="publish-episode", log_prints=True, task_runner=task_runner_from_env())
def publish_episode(
    footage: str,
    episode: str | None = None,
    store: str | None = None,
    config: str | None = None,
    platforms: list[ClipPlatform] | None = None,
    auto_clips: Annotated[int, Field(ge=0, le=20)] | None = None,
    caption_style: CaptionStyleName = "karaoke",
    translate: Literal["en"] | None = None,
    replace: bool = False,
) -> str:
    """Publish one episode: transcript, subtitled clips and metadata into the store.

    Args:
        footage: path to the episode footage on the worker's machine (relative to the project folder), or an
            s3://bucket/key URL (downloaded once, checksum verified, into the worker's footage cache).
        episode: episode slug (config/episodes/SLUG.toml) or path to an episode file; empty: named after the footage.
        store: folder, file:// URL or s3://bucket/prefix; default from the series config.
        config: path to the series config (default config/touktouk.toml).
        platforms: clip platforms to render for; empty: the series config's list.
        auto_clips: number of automatic clips besides the producer picks; empty: the series config's number.
        caption_style: karaoke (word-by-word highlight) or plain captions burned into the clips.
        translate: "en" also publishes English SRT/VTT of the episode (Whisper's translate task).
        replace: publish this footage even though the episode was published from other footage.
    """
    started = time.monotonic()
    inputs = load_inputs(footage, resolve_episode(episode, config), store, config)
    inputs = with_overrides(inputs, platforms, auto_clips)
    if inputs.footage_url:
        inputs = fetch_footage_task(inputs)
    info = probe_task(inputs.footage)
    validate_picks(inputs, info.duration)
    if not replace:
        refuse_other_footage(inputs)
    workdir = Path(tempfile.mkdtemp(prefix="touktouk-"))
    try:
        audio = extract_audio_task(inputs.footage, workdir)
        ep = inputs.episode
        prompt = vocabulary_prompt(ep.guest, ep.organisation, ep.cause, *ep.hashtags)
        transcript = transcribe_task(audio, inputs.series, prompt)
        require_speech(inputs, transcript)
        transcript_files = write_transcript_task(transcript, inputs.series, workdir)
        if translate:
            transcript_files |= translate_task(audio, inputs.series, translate, workdir)
        plans = choose_clips_task(transcript, inputs, info.duration, audio)
        master = store_master_task(inputs)
        job = RenderJob(
            store_url=inputs.store_url,
            endpoint_url=inputs.series.endpoint_url or None,
            prefix=episode_prefix(inputs.series, inputs.episode),
            episode_id=inputs.episode.episode_id,
            master=master,
            footage_hint=str(inputs.footage.resolve()),
            info=info,
            transcript=transcript,
            series=inputs.series,
            karaoke=caption_style == "karaoke",
            keywords=tuple(k for k in (ep.guest, ep.organisation, ep.cause, *ep.hashtags) if k),
            config_dir=inputs.config_dir,
        )
        clips = render_clips(plans, job)
        yt_master = youtube_master(job) if inputs.series.render.youtube_master else None
        episode_metadata = describe_task(clips, inputs, transcript)
        location = publish_task(inputs, info, transcript, transcript_files, clips, episode_metadata, master, yt_master)
        run_report(inputs, info, clips, location, time.monotonic() - started)
        return location
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def preflight(
    footage: str, episode: str | None, store: str | None, config: str | None, *, replace: bool = False
) -> tuple[Inputs, MediaInfo]:
    """Everything that can be checked before the flow starts (used by the CLI for clean errors)."""
    inputs = load_inputs(footage, episode, store, config)
    endpoint = inputs.series.endpoint_url or None
    if inputs.footage_url:  # footage by URL: check the store first, then download (cached for the flow)
        check_store_reachable(open_store(inputs.store_url, endpoint_url=endpoint), endpoint)
        inputs = fetch_inputs(inputs)
    info = probe(inputs.footage)
    validate_picks(inputs, info.duration)
    check_store_reachable(open_store(inputs.store_url, endpoint_url=endpoint), endpoint)
    if not replace:
        refuse_other_footage(inputs)
    return inputs, info
