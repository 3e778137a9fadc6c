"""The publish step, without Prefect: every file stored or verified in the store, then the review
page, links.json and manifest.json last; with the value types the flow's tasks hand to it.

`orchestration.tasks` runs it as its `publish` task; it never imports Prefect.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from touktouk import __version__
from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.errors import ConfigError
from touktouk.publish.manifest import build_links, build_manifest, keep_generated_at, links_still_good, to_json
from touktouk.publish.review import build_review_html, review_key, thumbnail_keys
from touktouk.render.encode import OutputSpec
from touktouk.render.master import MASTER_HEIGHT, MASTER_WIDTH
from touktouk.render.probe import MediaInfo, probe
from touktouk.store.base import DEFAULT_LINK_EXPIRY_S, INPUTS_META, Store, StoredObject, StoreError, guess_content_type
from touktouk.store.keys import (
    clip_caption_keys,
    clip_cover_key,
    clip_metadata_key,
    clip_video_key,
    episode_prefix,
    links_key,
    manifest_key,
    master_key,
    transcript_keys,
)
from touktouk.store.s3 import S3Store
from touktouk.store.url import open_store
from touktouk.types import ClipPlan, Transcript


@dataclass(frozen=True)
class Inputs:
    footage: Path  # a local file; for an s3:// footage URL, its name until `fetch_inputs` downloads it
    series: SeriesConfig
    episode: EpisodeConfig
    episode_file: str
    store_url: str
    footage_url: str = ""  # the s3:// URL the footage was given as, "" for a local path
    config_dir: Path | None = None  # the series config's folder: relative brand files are found there


@dataclass
class RenderedClip:
    plan: ClipPlan
    videos: list[tuple[list[str], OutputSpec]]  # (platforms, file)
    caption_files: dict[str, Path]
    extras: dict[str, Path] = field(default_factory=dict)  # "cover", "thumb01"…: images of the clip
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredVideo:
    """One rendered video file, already in the store."""

    platforms: tuple[str, ...]
    width: int
    height: int
    duration: float  # measured on the rendered file
    obj: StoredObject


@dataclass
class StoredClip:
    """A clip whose files a render task has put in the store: storage keys, never local paths,
    so it can come from another machine or from the task cache."""

    plan: ClipPlan
    videos: list[StoredVideo]
    captions: dict[str, StoredObject]
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, StoredObject] = field(default_factory=dict)

    def objects(self) -> list[StoredObject]:
        return [v.obj for v in self.videos] + list(self.captions.values()) + list(self.extras.values())

    def nothing_sent(self) -> Self:
        """This clip as a run that reuses it sees it: every object already stored, none sent."""
        return replace(
            self,
            videos=[replace(v, obj=replace(v.obj, uploaded=False)) for v in self.videos],
            captions={fmt: replace(o, uploaded=False) for fmt, o in self.captions.items()},
            extras={name: replace(o, uploaded=False) for name, o in self.extras.items()},
        )


AnyClip = RenderedClip | StoredClip


def log_put(logger: Any, obj: StoredObject) -> StoredObject:
    if obj.uploaded:
        logger.info("Stored %s (%d bytes)", obj.key, obj.bytes)
    else:
        logger.info("Unchanged %s (%d bytes already in the store)", obj.key, obj.bytes)
    return obj


def in_store(store: Store, obj: StoredObject) -> bool:
    """Whether the store still holds `obj` as it was stored (same size and SHA-256)."""
    found = store.stat(obj.key)
    return found is not None and found.bytes == obj.bytes and found.sha256 == obj.sha256


def clip_extra_keys(prefix: str, clip_id: str, extras: Mapping[str, Any]) -> dict[str, str]:
    """Storage keys of a clip's images: its cover and the review page's thumbnail strip."""
    thumbs = sorted(k for k in extras if k.startswith("thumb"))
    keys = dict(zip(thumbs, thumbnail_keys(prefix, clip_id, len(thumbs)), strict=True))
    if "cover" in extras:
        keys["cover"] = clip_cover_key(prefix, clip_id)
    return keys


def render_settings(series: SeriesConfig) -> dict[str, Any]:
    """The series settings every render depends on (part of the render cache keys)."""
    return {**series.render.model_dump(), "fonts_dir": series.brand.fonts_dir, "font": series.brand.font}


def render_inputs_sha256(
    master_sha256: str, info: MediaInfo, clip: RenderedClip, spec: OutputSpec, series: SeriesConfig
) -> str:
    """Hash of everything a clip render depends on. x264 output changes with the thread count
    (so with the machine), so a re-render on another machine is recognised by its inputs."""
    ass = spec.subtitles or clip.caption_files.get("ass")
    parts = {
        "generator": __version__,
        "master": master_sha256,
        "start": round(clip.plan.start, 3),
        "end": round(clip.plan.end, 3),
        "sizes": [[s.width, s.height] for _, s in clip.videos],
        "size": [spec.width, spec.height],
        "subtitles": hashlib.sha256(ass.read_bytes()).hexdigest() if ass else "",
        "render": render_settings(series),
        "crop": spec.crop_x or "",
        "encode": asdict(spec.encode) if spec.encode else {},
        "brand": series.brand.model_dump(mode="json"),
        "fps": info.fps,
        "has_video": info.has_video,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


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


def _outputs_entries(videos: Sequence[tuple[Sequence[str], str, int, int, float]]) -> list[dict[str, Any]]:
    """Manifest `outputs` rows: one per platform of each (platforms, key, width, height, duration)."""
    return [
        {"platform": p, "key": key, "width": width, "height": height, "duration": round(duration, 3)}
        for platforms, key, width, height, duration in videos
        for p in platforms
    ]


def publish_outputs(
    inputs: Inputs,
    info: MediaInfo,
    transcript: Transcript,
    transcript_files: dict[str, Path],
    clips: Sequence[AnyClip],
    episode_metadata: dict[str, Any],
    *,
    logger: Any,
    links_expire_in: int | None = None,
    master: StoredObject | None = None,
    youtube_master: StoredObject | None = None,
) -> str:
    """Store every file, then links.json, then the manifest last: a reader never sees a
    half-published episode. Objects the store already holds identically are not sent again, and
    an unchanged re-run keeps the manifest byte-identical, so it uploads nothing.

    Objects stored earlier by other tasks (`master`, `youtube_master`, the files of a
    `StoredClip`) are checked in the store (size and SHA-256) and listed, never trusted blindly.
    """
    store: Store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    expires_in = links_expire_in or _links_expiry()
    prefix = episode_prefix(inputs.series, inputs.episode)
    tags = {"episode": inputs.episode.episode_id}
    objects: list[StoredObject] = []
    sent = [0, 0]  # objects, bytes

    def tally(obj: StoredObject) -> StoredObject:
        objects.append(obj)
        if obj.uploaded:
            sent[0] += 1
            sent[1] += obj.bytes
        return obj

    def record(obj: StoredObject) -> StoredObject:
        return log_put(logger, tally(obj))

    def put(key: str, path: Path, extra: dict[str, str] | None = None) -> StoredObject:
        return record(store.put_file(key, path, guess_content_type(key), {**tags, **(extra or {})}))

    def put_json(key: str, data: Any, extra: dict[str, str] | None = None) -> StoredObject:
        return record(store.put_bytes(key, to_json(data), "application/json", {**tags, **(extra or {})}))

    def read(key: str) -> bytes | None:
        return store.get_bytes(key) if store.exists(key) else None

    def adopt(obj: StoredObject) -> StoredObject:
        """An object another task stored: verified here, then listed like the others."""
        if not in_store(store, obj):
            raise StoreError(
                f"{store.location(obj.key)} changed or disappeared after its task stored it; "
                "publish again (a re-run stores it anew)"
            )
        tally(obj)
        logger.info("Verified %s (%d bytes, stored by an earlier task)", obj.key, obj.bytes)
        return obj

    def clip_files(clip: AnyClip) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
        """The manifest outputs, caption keys and image keys of a clip, its files stored or verified."""
        ckeys = clip_caption_keys(prefix, clip.plan.id)
        ekeys = clip_extra_keys(prefix, clip.plan.id, clip.extras)
        if isinstance(clip, StoredClip):
            for obj in clip.objects():
                adopt(obj)
            sizes = [(v.platforms, v.obj.key, v.width, v.height, v.duration) for v in clip.videos]
            return _outputs_entries(sizes), ckeys, ekeys
        found = []
        for platforms, spec in clip.videos:
            key = clip_video_key(prefix, clip.plan.id, spec.width, spec.height)
            inputs_sha = render_inputs_sha256(master_obj.sha256, info, clip, spec, inputs.series)
            put(key, spec.path, {"clip": clip.plan.id, "platform": ",".join(platforms), INPUTS_META: inputs_sha})
            found.append((tuple(platforms), key, spec.width, spec.height, probe(spec.path).duration))
        for fmt, path in clip.caption_files.items():
            put(ckeys[fmt], path, {"clip": clip.plan.id})
        for name, path in clip.extras.items():
            put(ekeys[name], path, {"clip": clip.plan.id})
        return _outputs_entries(found), ckeys, ekeys

    footage_key = master_key(prefix, inputs.footage.suffix)
    master_obj = adopt(master) if master is not None and master.key == footage_key else put(footage_key, inputs.footage)
    tkeys = transcript_keys(prefix, sorted({k.split(".")[0] for k in transcript_files if "." in k}))
    for fmt, path in transcript_files.items():
        put(tkeys[fmt], path)
    youtube = adopt(youtube_master) if youtube_master is not None else None
    clip_entries = []
    thumbnails: dict[str, list[str]] = {}
    for clip in clips:
        outputs, ckeys, ekeys = clip_files(clip)
        thumbnails[clip.plan.id] = [ekeys[k] for k in sorted(ekeys) if k.startswith("thumb")]
        meta_key = clip_metadata_key(prefix, clip.plan.id)
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
                "cover": ekeys.get("cover", ""),
                "thumbnails": thumbnails[clip.plan.id],
            }
        )

    def document(listed: Sequence[StoredObject]) -> dict[str, Any]:
        return build_manifest(
            series=inputs.series,
            episode=inputs.episode,
            source={
                "key": footage_key,
                "duration": round(info.duration, 3),
                "format": info.format_name,
                "width": info.width,
                "height": info.height,
                "fps": round(info.fps, 3),
                "audio_channels": info.audio_channels,
            },
            transcript={
                **tkeys,
                "backend": transcript.backend,
                "model": transcript.model,
                "words": len(transcript.words),
            },
            clips=clip_entries,
            metadata=episode_metadata,
            youtube_master=(
                {"key": youtube.key, "width": MASTER_WIDTH, "height": MASTER_HEIGHT, **tkeys}
                if youtube is not None
                else None
            ),
            review=review_key(prefix),
            objects=listed,
        )

    # The review page shows the manifest's content (not its date, so an unchanged re-run keeps it
    # byte-identical); it is stored before the manifest, which lists it.
    rkey = review_key(prefix)
    page = build_review_html(
        {k: v for k, v in document(objects).items() if k != "generated_at"}, thumbnails=thumbnails, page_key=rkey
    )
    record(store.put_bytes(rkey, page, "text/html; charset=utf-8", tags))
    data = document(objects)
    mkey = manifest_key(prefix)
    lkey = links_key(prefix)
    linked = list(dict.fromkeys([*(o.key for o in objects), mkey]))
    # Presigned links change at every signing: keep the stored ones while they cover the same
    # keys with more than half their life left. Local file:// links never change.
    signed = isinstance(store, S3Store)
    if not (signed and links_still_good(read(lkey), linked, expires_in)):
        links = build_links(mkey, {k: store.link(k, expires_in) for k in linked}, expires_in if signed else None)
        lobj = store.put_bytes(lkey, to_json(links), "application/json", tags)
        logger.info("%s %s", "Stored" if lobj.uploaded else "Unchanged", lkey)
    # The commit point, written last; unchanged content keeps the old generated_at (0 bytes sent).
    data = keep_generated_at(data, read(mkey))
    mobj = store.put_bytes(mkey, to_json(data), "application/json", tags)
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
