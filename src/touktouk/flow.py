"""The `publish_episode` Prefect flow: orchestration only, every step is a plain function.

probe → extract audio → transcribe → transcript files → choose clips → render clips
→ describe per platform → upload everything → manifest.json last.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from touktouk import __version__, asr, captions, describe, manifest, media
from touktouk.config import EpisodeConfig, SeriesConfig, episode_from_footage, load_episode, load_series
from touktouk.errors import ConfigError, MediaError, ToukToukError
from touktouk.platforms import PLATFORMS
from touktouk.select import PickRequest, choose_clips
from touktouk.storage import (
    DEFAULT_LINK_EXPIRY_S,
    INPUTS_META,
    S3Store,
    Store,
    StoredObject,
    guess_content_type,
    open_store,
)
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
    events = captions.layout_for_style(transcript.words, style)
    files = captions.write_captions(events, style, out, "transcript", karaoke=False)
    js = out / "transcript.json"
    js.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return {"json": js, "srt": files["srt"], "vtt": files["vtt"]}


@task(name="translate", cache_policy=NO_CACHE)
def translate_task(audio: Path, series: SeriesConfig, target: str, workdir: Path) -> dict[str, Path]:
    """Whisper's translate task: an English caption track of the whole episode."""
    if target != "en":
        raise ToukToukError(f"Whisper translates into English only; use --translate en, not '{target}'.")
    transcript, cached = asr.transcribe(audio, series.whisper, language=series.language, task="translate")
    get_run_logger().info(
        "Translation (%s): %d words%s", target, len(transcript.words), " from the cache" if cached else ""
    )
    out = workdir / "transcript"
    out.mkdir(parents=True, exist_ok=True)
    style = _style(series, "classic")
    events = captions.layout_for_style(transcript.words, style)
    files = captions.write_captions(events, style, out, f"transcript.{target}", karaoke=False)
    return {f"{target}.srt": files["srt"], f"{target}.vtt": files["vtt"]}


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
    plan: ClipPlan,
    info: media.MediaInfo,
    transcript: Transcript,
    series: SeriesConfig,
    workdir: Path,
    karaoke: bool = True,
) -> RenderedClip:
    clip_dir = workdir / "clips" / plan.id
    clip_dir.mkdir(parents=True, exist_ok=True)
    style = _style(series, "vertical")
    words = transcript.words_between(plan.start, plan.end)
    events = captions.layout_clip(words, style, plan.start, plan.end)
    files = captions.write_captions(events, style, clip_dir, "captions", karaoke=karaoke)
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


LINKS_EXPIRY_ENV = "TOUKTOUK_LINKS_EXPIRY"  # seconds the presigned links in links.json stay valid


def _links_expiry() -> int:
    raw = os.environ.get(LINKS_EXPIRY_ENV, "").strip()
    if not raw:
        return DEFAULT_LINK_EXPIRY_S
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= DEFAULT_LINK_EXPIRY_S:
        raise ConfigError(
            f"{LINKS_EXPIRY_ENV}={raw!r} is not a number of seconds from 1 to {DEFAULT_LINK_EXPIRY_S} "
            "(7 days, the most a presigned S3 link can live); fix or unset it."
        )
    return value


def _render_inputs_sha256(
    master_sha256: str, info: media.MediaInfo, clip: RenderedClip, spec: media.OutputSpec, series: SeriesConfig
) -> str:
    """Hash of everything a clip render depends on. x264 output changes with the thread count
    (so with the machine), so a re-render on another machine is recognised by its inputs."""
    ass = clip.caption_files.get("ass")
    parts = {
        "generator": __version__,
        "master": master_sha256,
        "start": round(clip.plan.start, 3),
        "end": round(clip.plan.end, 3),
        "sizes": [[s.width, s.height] for _, s in clip.videos],
        "size": [spec.width, spec.height],
        "subtitles": hashlib.sha256(ass.read_bytes()).hexdigest() if ass else "",
        "render": _render_settings(series),
        "fps": info.fps,
        "has_video": info.has_video,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _render_settings(series: SeriesConfig) -> dict[str, Any]:
    return {**series.render.model_dump(), "fonts_dir": series.brand.fonts_dir, "font": series.brand.font}


def publish_outputs(
    inputs: Inputs,
    info: media.MediaInfo,
    transcript: Transcript,
    transcript_files: dict[str, Path],
    clips: list[RenderedClip],
    episode_metadata: dict[str, Any],
    *,
    logger: Any,
    links_expire_in: int | None = None,
) -> str:
    """Store every file, then links.json, then the manifest last: a reader never sees a
    half-published episode. Objects the store already holds identically are not sent again, and
    an unchanged re-run keeps the manifest byte-identical, so it uploads nothing."""
    store: Store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    expires_in = links_expire_in or _links_expiry()
    prefix = manifest.episode_prefix(inputs.series, inputs.episode)
    tags = {"episode": inputs.episode.episode_id}
    objects: list[StoredObject] = []
    sent = [0, 0]  # objects, bytes

    def record(obj: StoredObject) -> StoredObject:
        objects.append(obj)
        if obj.uploaded:
            sent[0] += 1
            sent[1] += obj.bytes
            logger.info("Stored %s (%d bytes)", obj.key, obj.bytes)
        else:
            logger.info("Unchanged %s (%d bytes already in the store)", obj.key, obj.bytes)
        return obj

    def put(key: str, path: Path, extra: dict[str, str] | None = None) -> StoredObject:
        return record(store.put_file(key, path, guess_content_type(key), {**tags, **(extra or {})}))

    def put_json(key: str, data: Any, extra: dict[str, str] | None = None) -> StoredObject:
        return record(store.put_bytes(key, manifest.to_json(data), "application/json", {**tags, **(extra or {})}))

    def read(key: str) -> bytes | None:
        return store.get_bytes(key) if store.exists(key) else None

    master = manifest.master_key(prefix, inputs.footage.suffix)
    master_obj = put(master, inputs.footage)
    tkeys = manifest.transcript_keys(prefix, sorted({k.split(".")[0] for k in transcript_files if "." in k}))
    for fmt, path in transcript_files.items():
        put(tkeys[fmt], path)
    clip_entries = []
    for clip in clips:
        outputs = []
        for platforms, spec in clip.videos:
            key = manifest.clip_video_key(prefix, clip.plan.id, spec.width, spec.height)
            inputs_sha = _render_inputs_sha256(master_obj.sha256, info, clip, spec, inputs.series)
            put(key, spec.path, {"clip": clip.plan.id, "platform": ",".join(platforms), INPUTS_META: inputs_sha})
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
        put_json(meta_key, clip.metadata, {"clip": clip.plan.id, "platform": ",".join(clip.metadata)})
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
    lkey = manifest.links_key(prefix)
    linked = list(dict.fromkeys([*(o.key for o in objects), mkey]))
    # Presigned links change at every signing: keep the stored ones while they cover the same
    # keys with more than half their life left. Local file:// links never change.
    signed = isinstance(store, S3Store)
    if not (signed and manifest.links_still_good(read(lkey), linked, expires_in)):
        links = manifest.build_links(
            mkey, {k: store.link(k, expires_in) for k in linked}, expires_in if signed else None
        )
        lobj = store.put_bytes(lkey, manifest.to_json(links), "application/json", tags)
        logger.info("%s %s", "Stored" if lobj.uploaded else "Unchanged", lkey)
    # The commit point, written last; unchanged content keeps the old generated_at (0 bytes sent).
    data = manifest.keep_generated_at(data, read(mkey))
    mobj = store.put_bytes(mkey, manifest.to_json(data), "application/json", tags)
    location = store.location(mkey)
    logger.info(
        "Published %s: %d objects, %d sent (%d bytes), manifest %s at %s",
        inputs.episode.episode_id,
        len(objects),
        sent[0],
        sent[1],
        "written" if mobj.uploaded else "unchanged",
        location,
    )
    return location


@task(name="publish", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def publish_task(
    inputs: Inputs,
    info: media.MediaInfo,
    transcript: Transcript,
    transcript_files: dict[str, Path],
    clips: list[RenderedClip],
    episode_metadata: dict[str, Any],
) -> str:
    """Upload every file, then the manifest last (see `publish_outputs`)."""
    return publish_outputs(inputs, info, transcript, transcript_files, clips, episode_metadata, logger=get_run_logger())


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


def run_report(inputs: Inputs, info: media.MediaInfo, clips: list[RenderedClip], location: str, seconds: float) -> None:
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
                "platforms": ", ".join(pid for platforms, _ in c.videos for pid in platforms),
                "reason": p.reason,
            }
        )
    key = re.sub(r"[^a-z0-9-]+", "-", ep.episode_id.lower())
    create_markdown_artifact("\n".join(lines), key=f"{key}-summary", description=f"Published {ep.episode_id}")
    create_table_artifact(rows, key=f"{key}-clips", description=f"Clips of {ep.episode_id} with their scores")


@flow(name="publish-episode", log_prints=True)
def publish_episode(
    footage: str,
    episode: str | None = None,
    store: str | None = None,
    config: str | None = None,
    platforms: list[ClipPlatform] | None = None,
    auto_clips: Annotated[int, Field(ge=0, le=20)] | None = None,
    caption_style: CaptionStyleName = "karaoke",
    translate: Literal["en"] | None = None,
) -> str:
    """Publish one episode: transcript, subtitled clips and metadata into the store.

    Args:
        footage: path to the episode footage on the worker's machine (relative to the project folder).
        episode: episode slug (config/episodes/SLUG.toml) or path to an episode file; empty: named after the footage.
        store: folder, file:// URL or s3://bucket/prefix; default from the series config.
        config: path to the series config (default config/touktouk.toml).
        platforms: clip platforms to render for; empty: the series config's list.
        auto_clips: number of automatic clips besides the producer picks; empty: the series config's number.
        caption_style: karaoke (word-by-word highlight) or plain captions burned into the clips.
        translate: "en" also publishes English SRT/VTT of the episode (Whisper's translate task).
    """
    started = time.monotonic()
    inputs = load_inputs(footage, resolve_episode(episode, config), store, config)
    inputs = with_overrides(inputs, platforms, auto_clips)
    info = probe_task(inputs.footage)
    validate_picks(inputs, info.duration)
    workdir = Path(tempfile.mkdtemp(prefix="touktouk-"))
    try:
        audio = extract_audio_task(inputs.footage, workdir)
        ep = inputs.episode
        prompt = asr.vocabulary_prompt(ep.guest, ep.organisation, ep.cause, *ep.hashtags)
        transcript = transcribe_task(audio, inputs.series, prompt)
        require_speech(inputs, transcript)
        transcript_files = write_transcript_task(transcript, inputs.series, workdir)
        if translate:
            transcript_files |= translate_task(audio, inputs.series, translate, workdir)
        plans = choose_clips_task(transcript, inputs, info.duration)
        karaoke = caption_style == "karaoke"
        clips = [render_clip_task(p, info, transcript, inputs.series, workdir, karaoke) for p in plans]
        episode_metadata = describe_task(clips, inputs)
        location = publish_task(inputs, info, transcript, transcript_files, clips, episode_metadata)
        run_report(inputs, info, clips, location, time.monotonic() - started)
        return location
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def preflight(
    footage: str, episode: str | None, store: str | None, config: str | None
) -> tuple[Inputs, media.MediaInfo]:
    """Everything that can be checked before the flow starts (used by the CLI for clean errors)."""
    inputs = load_inputs(footage, episode, store, config)
    info = media.probe(inputs.footage)
    validate_picks(inputs, info.duration)
    endpoint = inputs.series.endpoint_url or None
    check_store_reachable(open_store(inputs.store_url, endpoint_url=endpoint), endpoint)
    return inputs, info
