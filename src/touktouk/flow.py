"""The `publish_episode` Prefect flow: orchestration only, every step is a plain function.

probe → extract audio → transcribe → transcript files → choose clips → render clips
→ describe per platform → upload everything → manifest.json last.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from touktouk import asr, captions, describe, manifest, media
from touktouk.config import EpisodeConfig, SeriesConfig, episode_from_footage, load_episode, load_series
from touktouk.errors import ConfigError
from touktouk.platforms import PLATFORMS
from touktouk.select import PickRequest, choose_clips
from touktouk.storage import Store, StoredObject, guess_content_type, open_store
from touktouk.timeline import ClipPlan, Transcript


@dataclass
class RenderedClip:
    plan: ClipPlan
    videos: list[tuple[list[str], media.OutputSpec]]  # (platforms, file)
    caption_files: dict[str, Path]
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    footage: Path
    series: SeriesConfig
    episode: EpisodeConfig
    episode_file: str
    store_url: str


def load_inputs(footage: str, episode: str | None, store: str | None, config: str | None) -> Inputs:
    """Read and validate everything the user gave, before any work or any write."""
    series = load_series(config)
    path = Path(footage).expanduser()
    ep = load_episode(episode) if episode else episode_from_footage(path)
    return Inputs(path, series, ep, episode or "", store or series.store)


def validate_picks(inputs: Inputs, duration: float) -> None:
    for n, pick in enumerate(inputs.episode.picks, 1):
        if pick.start >= duration:
            raise ConfigError(
                f"{inputs.episode_file}: pick {n} starts at {pick.start:g} s but the footage lasts {duration:.1f} s; "
                "fix its start timecode."
            )


# --- tasks: thin wrappers, no business logic -------------------------------------------------


@task(name="probe footage", cache_policy=NO_CACHE)
def probe_task(footage: Path) -> media.MediaInfo:
    info = media.probe(footage)
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
    return media.extract_audio(footage, workdir / "audio-16k.wav")


@task(name="transcribe", cache_policy=NO_CACHE)
def transcribe_task(audio: Path, series: SeriesConfig, prompt: str) -> Transcript:
    logger = get_run_logger()
    t0 = time.monotonic()
    last = [-10.0]

    def progress(done: float, total: float) -> None:
        pct = 100 * done / total if total else 100.0
        if pct - last[0] >= 10 or done >= total:
            elapsed = time.monotonic() - t0
            eta = elapsed * (total - done) / done if done > 0 else 0.0
            logger.info("Transcribing: %3.0f%% (%.0f/%.0f s of audio, ETA %.0f s)", pct, done, total, eta)
            last[0] = pct

    transcript, cached = asr.transcribe(
        audio, series.whisper, language=series.language, prompt=prompt, on_progress=progress
    )
    logger.info(
        "Transcript: %d words%s (%s %s)",
        len(transcript.words),
        " from the cache, nothing recomputed" if cached else "",
        transcript.backend,
        transcript.model,
    )
    return transcript


def _style(series: SeriesConfig, kind: str) -> captions.CaptionStyle:
    make = captions.vertical_style if kind == "vertical" else captions.classic_style
    b = series.brand
    return make(font_name=b.font, primary=b.primary_colour, highlight=b.highlight_colour)


@task(name="write transcript", cache_policy=NO_CACHE)
def write_transcript_task(transcript: Transcript, series: SeriesConfig, workdir: Path) -> dict[str, Path]:
    out = workdir / "transcript"
    out.mkdir(parents=True, exist_ok=True)
    style = _style(series, "classic")
    events = captions.layout_captions(
        transcript.words, max_chars_per_line=style.max_chars_per_line, max_lines=style.max_lines
    )
    files = captions.write_captions(events, style, out, "transcript", karaoke=False)
    js = out / "transcript.json"
    js.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return {"json": js, "srt": files["srt"], "vtt": files["vtt"]}


@task(name="choose clips", cache_policy=NO_CACHE)
def choose_clips_task(transcript: Transcript, inputs: Inputs, duration: float) -> list[ClipPlan]:
    ep, settings = inputs.episode, inputs.series.clips
    plans = choose_clips(
        transcript,
        [PickRequest(p.start, p.end, p.title) for p in ep.picks],
        duration=duration,
        count=settings.auto_clips,
        min_seconds=settings.min_seconds,
        max_seconds=settings.max_seconds,
        terms=[ep.guest, ep.organisation, ep.cause, *ep.hashtags],
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


def _outputs_for(
    plan: ClipPlan, platforms: tuple[str, ...], clip_dir: Path
) -> list[tuple[list[str], media.OutputSpec]]:
    """One file per distinct frame size; platforms that share a size share the file."""
    by_size: dict[tuple[int, int], list[str]] = {}
    for pid in platforms:
        p = PLATFORMS[pid]
        if p.min_duration <= plan.duration <= p.max_duration:
            by_size.setdefault((p.width, p.height), []).append(pid)
    # Largest first: the render frames the first size and scales the others down from it.
    sizes = sorted(by_size, key=lambda s: -s[0] * s[1])
    return [(by_size[s], media.OutputSpec(clip_dir / f"{s[0]}x{s[1]}.mp4", s[0], s[1])) for s in sizes]


@task(name="render clip", cache_policy=NO_CACHE)
def render_clip_task(
    plan: ClipPlan, info: media.MediaInfo, transcript: Transcript, series: SeriesConfig, workdir: Path
) -> RenderedClip:
    clip_dir = workdir / "clips" / plan.id
    clip_dir.mkdir(parents=True, exist_ok=True)
    style = _style(series, "vertical")
    words = transcript.words_between(plan.start, plan.end)
    events = captions.layout_captions(words, max_chars_per_line=style.max_chars_per_line, max_lines=style.max_lines)
    events = captions.rebase(events, plan.start, plan.end)
    files = captions.write_captions(events, style, clip_dir, "captions", karaoke=True)
    videos = _outputs_for(plan, series.clips.platforms, clip_dir)
    if not videos:
        get_run_logger().warning("Clip %s (%.1f s) fits no selected platform's duration range.", plan.id, plan.duration)
        return RenderedClip(plan, [], files)
    t0 = time.monotonic()
    r = series.render
    media.render_clip(
        info,
        plan.start,
        plan.end,
        [spec for _, spec in videos],
        subtitles=files["ass"],
        fonts_dir=series.brand.fonts_dir,
        encode=media.EncodeSettings(preset=r.preset, crf=r.crf, audio_bitrate=r.audio_bitrate),
    )
    get_run_logger().info(
        "Rendered clip %s (%.1f s) into %s in %.1f s",
        plan.id,
        plan.duration,
        ", ".join(f"{s.width}x{s.height}" for _, s in videos),
        time.monotonic() - t0,
    )
    return RenderedClip(plan, videos, files)


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


def _template(series: SeriesConfig, platform: str) -> describe.Template:
    """The series config may override the French default template of any platform."""
    default = describe.DEFAULT_TEMPLATES[platform]
    custom = series.templates.get(platform)
    if custom is None:
        return default
    return describe.Template(title=custom.title or default.title, text=custom.text or default.text)


@task(name="describe", cache_policy=NO_CACHE)
def describe_task(clips: list[RenderedClip], inputs: Inputs) -> dict[str, Any]:
    """Per-clip, per-platform metadata; returns the episode-level (YouTube master) metadata."""
    tags = list(inputs.episode.hashtags)
    for clip in clips:
        hook = clip.plan.title or describe.hook_from(clip.plan.text)
        for platforms, _ in clip.videos:
            for pid in platforms:
                clip.metadata[pid] = describe.describe(
                    PLATFORMS[pid], _fields(inputs, hook), tags, _template(inputs.series, pid)
                )
    yt = PLATFORMS["youtube"]
    return {
        "youtube": describe.describe(
            yt, _fields(inputs, inputs.episode.title), tags, describe.DEFAULT_TEMPLATES["youtube"]
        )
    }


@task(name="publish", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def publish_task(
    inputs: Inputs,
    info: media.MediaInfo,
    transcript: Transcript,
    transcript_files: dict[str, Path],
    clips: list[RenderedClip],
    episode_metadata: dict[str, Any],
) -> str:
    """Upload every file, then the manifest last: a reader never sees a half-published episode."""
    logger = get_run_logger()
    store: Store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    prefix = manifest.episode_prefix(inputs.series, inputs.episode)
    tags = {"episode": inputs.episode.episode_id}
    objects: list[StoredObject] = []

    def put(key: str, path: Path, extra: dict[str, str] | None = None) -> StoredObject:
        obj = store.put_file(key, path, guess_content_type(key), {**tags, **(extra or {})})
        objects.append(obj)
        logger.info("Stored %s (%d bytes)", key, obj.bytes)
        return obj

    def put_json(key: str, data: Any, extra: dict[str, str] | None = None) -> StoredObject:
        obj = store.put_bytes(key, manifest.to_json(data), "application/json", {**tags, **(extra or {})})
        objects.append(obj)
        return obj

    master = manifest.master_key(prefix, inputs.footage.suffix)
    put(master, inputs.footage)
    tkeys = manifest.transcript_keys(prefix)
    for fmt, path in transcript_files.items():
        put(tkeys[fmt], path)
    clip_entries = []
    for clip in clips:
        outputs = []
        for platforms, spec in clip.videos:
            key = manifest.clip_video_key(prefix, clip.plan.id, spec.width, spec.height)
            put(key, spec.path, {"clip": clip.plan.id})
            measured = media.probe(spec.path)
            outputs += [
                {
                    "platform": p,
                    "key": key,
                    "width": spec.width,
                    "height": spec.height,
                    "duration": round(measured.duration, 3),
                }
                for p in platforms
            ]
        ckeys = manifest.clip_caption_keys(prefix, clip.plan.id)
        for fmt, path in clip.caption_files.items():
            put(ckeys[fmt], path, {"clip": clip.plan.id})
        meta_key = manifest.clip_metadata_key(prefix, clip.plan.id)
        put_json(meta_key, clip.metadata, {"clip": clip.plan.id})
        p = clip.plan
        clip_entries.append(
            {
                "id": p.id,
                "start": round(p.start, 3),
                "end": round(p.end, 3),
                "duration": round(p.duration, 3),
                "source": p.source,
                "title": p.title,
                "text": p.text,
                "score": p.score,
                "score_parts": p.score_parts,
                "reason": p.reason,
                "outputs": outputs,
                "captions": ckeys,
                "metadata_key": meta_key,
                "metadata": clip.metadata,
            }
        )
    data = manifest.build_manifest(
        series=inputs.series,
        episode=inputs.episode,
        source={
            "key": master,
            "duration": round(info.duration, 3),
            "format": info.format_name,
            "width": info.width,
            "height": info.height,
            "fps": round(info.fps, 3),
            "audio_channels": info.audio_channels,
        },
        transcript={**tkeys, "backend": transcript.backend, "model": transcript.model, "words": len(transcript.words)},
        clips=clip_entries,
        metadata=episode_metadata,
        objects=objects,
    )
    mkey = manifest.manifest_key(prefix)
    store.put_bytes(mkey, manifest.to_json(data), "application/json", tags)
    location = store.location(mkey)
    logger.info("Published %s: %d objects, manifest at %s", inputs.episode.episode_id, len(objects), location)
    return location


@flow(name="publish-episode", log_prints=True)
def publish_episode(
    footage: str,
    episode: str | None = None,
    store: str | None = None,
    config: str | None = None,
) -> str:
    """Publish one episode: transcript, subtitled clips and metadata into the store.

    Args:
        footage: path to the episode footage.
        episode: path to config/episodes/<slug>.toml (optional).
        store: folder, file:// URL or s3://bucket/prefix; default from the series config.
        config: path to the series config (default config/touktouk.toml).
    """
    inputs = load_inputs(footage, episode, store, config)
    info = probe_task(inputs.footage)
    validate_picks(inputs, info.duration)
    workdir = Path(tempfile.mkdtemp(prefix="touktouk-"))
    try:
        audio = extract_audio_task(inputs.footage, workdir)
        ep = inputs.episode
        prompt = asr.vocabulary_prompt(ep.guest, ep.organisation, ep.cause, *ep.hashtags)
        transcript = transcribe_task(audio, inputs.series, prompt)
        transcript_files = write_transcript_task(transcript, inputs.series, workdir)
        plans = choose_clips_task(transcript, inputs, info.duration)
        clips = [render_clip_task(p, info, transcript, inputs.series, workdir) for p in plans]
        episode_metadata = describe_task(clips, inputs)
        return publish_task(inputs, info, transcript, transcript_files, clips, episode_metadata)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def preflight(
    footage: str, episode: str | None, store: str | None, config: str | None
) -> tuple[Inputs, media.MediaInfo]:
    """Everything that can be checked before the flow starts (used by the CLI for clean errors)."""
    inputs = load_inputs(footage, episode, store, config)
    info = media.probe(inputs.footage)
    validate_picks(inputs, info.duration)
    open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    return inputs, info
