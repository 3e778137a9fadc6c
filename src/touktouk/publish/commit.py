"""The publish step, without Prefect: every file stored under content-named keys or verified in
the store, then the review page, then the manifest, replaced last (`publish.pointer`); with the
value types the flow's tasks hand to it.

`orchestration.tasks` runs it as its `publish` task; it never imports Prefect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.publish.manifest import as_proposal, build_manifest, to_json
from touktouk.publish.pointer import commit_manifest, read_current, review_link
from touktouk.publish.review import build_review_html, french_reason
from touktouk.render.encode import OutputSpec
from touktouk.render.master import MASTER_HEIGHT, MASTER_WIDTH
from touktouk.render.probe import MediaInfo
from touktouk.review.suspects import flag_words
from touktouk.shoot.speakers import speaker_summary
from touktouk.store.base import Store, StoredObject, StoreError, guess_content_type, sha256_and_size
from touktouk.store.keys import (
    clip_metadata_key,
    episode_prefix,
    master_key,
    proposal_key,
    review_depth_key,
    review_key,
    review_pointer_key,
    transcript_keys,
)
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
    # A real shoot's record (the manifest's "shoot": timeline, footage camera, sources[]); {} while the
    # shoot waits for `pipeline.inputs.assemble_inputs` (footage is then the episode file), None: no shoot.
    shoot: Mapping[str, Any] | None = None


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


def _outputs_entries(videos: Sequence[tuple[Sequence[str], str, int, int, float]]) -> list[dict[str, Any]]:
    """Manifest `outputs` rows: one per platform of each (platforms, key, width, height, duration)."""
    return [
        {"platform": p, "key": key, "width": width, "height": height, "duration": round(duration, 3)}
        for platforms, key, width, height, duration in videos
        for p in platforms
    ]


def episode_vocabulary(inputs: Inputs) -> list[str]:
    """The names the episode is expected to say: its guest, organisation, cause and hashtags, and
    the right-hand side of the series glossary and of the episode's fixes."""
    ep = inputs.episode
    named = [ep.guest, ep.organisation, ep.cause, *ep.hashtags]
    named += [f.right for f in (*inputs.series.glossary, *ep.fixes)]
    return [n for n in named if n]


def review_words(
    transcript: Transcript, plans: Sequence[ClipPlan], vocabulary: Sequence[str] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Each clip's words as the review page shows them: times in the episode, probability and the
    reasons to check it (`review.suspects.flag_words`, over the whole transcript, so that
    sentence starts and neighbours count)."""
    words = list(transcript.words)
    flags = {id(w): f for w, f in zip(words, flag_words(words, vocabulary=vocabulary), strict=True)}
    return {
        plan.id: [
            {
                "start": round(w.start, 3),
                "end": round(w.end, 3),
                "text": w.text,
                "probability": round(w.probability, 3),
                "flags": [french_reason(r) for r in flags.get(id(w), ())],
            }
            for w in transcript.words_between(plan.start, plan.end)
        ]
        for plan in plans
    }


def suspect_words(
    transcript: Transcript, plans: Sequence[ClipPlan], vocabulary: Sequence[str] = ()
) -> list[tuple[float, str, list[str]]]:
    """The words of `plans` to check first, in time order: (episode time, word, reasons)."""
    found = {
        (w["start"], w["text"]): w["flags"]
        for words in review_words(transcript, plans, vocabulary).values()
        for w in words
        if w["flags"]
    }
    return [(at, text, flags) for (at, text), flags in sorted(found.items())]


def publish_outputs(
    inputs: Inputs,
    info: MediaInfo,
    transcript: Transcript,
    transcript_files: dict[str, Path],
    clips: Sequence[StoredClip],
    episode_metadata: dict[str, Any],
    *,
    logger: Any,
    links_expire_in: int | None = None,
    master: StoredObject | None = None,
    youtube_master: StoredObject | None = None,
    decisions: Mapping[str, Any] | None = None,
    proposal_inputs: Mapping[str, Any] | None = None,
) -> str:
    """Store the transcript files, clip metadata and review page under content-named keys,
    verify the objects earlier tasks stored (`master`, `youtube_master`, the clips' files: size and
    SHA-256 in the store, never trusted blindly), then replace the manifest last. Nothing the
    live manifest lists is ever rewritten; an unchanged re-run writes nothing at all.

    With `proposal_inputs` (`touktouk publish --review`) the document goes to proposal.json
    instead, with those inputs for `touktouk approve`, and the published state is left as it is
    (on S3 the review page's signed copy, proposal.html, goes beside it: `pointer.review_link`).
    Returns the location of the manifest (or of the proposal).
    """
    store: Store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
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
        meta = {**tags, **(extra or {})}
        return record(store.put_file(key, path, guess_content_type(key), meta, immutable=True))

    def put_bytes(key: str, data: bytes, content_type: str, extra: dict[str, str] | None = None) -> StoredObject:
        return record(store.put_bytes(key, data, content_type, {**tags, **(extra or {})}, immutable=True))

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

    if master is None:
        footage_sha, _ = sha256_and_size(inputs.footage)
        master_obj = put(master_key(prefix, inputs.footage.suffix, footage_sha), inputs.footage)
    else:
        master_obj = adopt(master)
    tkeys = transcript_keys(prefix, {fmt: sha256_and_size(path)[0] for fmt, path in transcript_files.items()})
    for fmt, path in transcript_files.items():
        put(tkeys[fmt], path)
    youtube = adopt(youtube_master) if youtube_master is not None else None
    clip_entries = []
    thumbnails: dict[str, list[str]] = {}
    for clip in clips:
        for obj in clip.objects():
            adopt(obj)
        outputs = _outputs_entries([(v.platforms, v.obj.key, v.width, v.height, v.duration) for v in clip.videos])
        thumbnails[clip.plan.id] = [clip.extras[k].key for k in sorted(clip.extras) if k.startswith("thumb")]
        meta_json = to_json(clip.metadata)
        meta_key = clip_metadata_key(prefix, clip.plan.id, hashlib.sha256(meta_json).hexdigest())
        put_bytes(meta_key, meta_json, "application/json", {"clip": clip.plan.id, "platform": ",".join(clip.metadata)})
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
                "captions": {fmt: o.key for fmt, o in clip.captions.items()},
                "metadata_key": meta_key,
                "metadata": clip.metadata,
                "cover": clip.extras["cover"].key if "cover" in clip.extras else "",
                "thumbnails": thumbnails[clip.plan.id],
            }
        )

    def document(listed: Sequence[StoredObject], review: str = "") -> dict[str, Any]:
        speakers = speaker_summary(transcript, inputs.episode.speakers, inputs.episode.guest)
        return build_manifest(
            series=inputs.series,
            episode=inputs.episode,
            source={
                "key": master_obj.key,
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
                **({"speakers": speakers} if speakers else {}),
            },
            clips=clip_entries,
            metadata=episode_metadata,
            youtube_master=(
                {"key": youtube.key, "width": MASTER_WIDTH, "height": MASTER_HEIGHT, **tkeys}
                if youtube is not None
                else None
            ),
            review=review,
            objects=listed,
            decisions=decisions,
            shoot=inputs.shoot or None,
        )

    # The review page shows the manifest's content (not its date, so an unchanged re-run keeps it
    # byte-identical); named by its bytes, it is stored before the manifest, which lists it. Its
    # links are relative, so the same from any version folder.
    page = build_review_html(
        {k: v for k, v in document(objects).items() if k not in ("generated_at", "schema")},
        thumbnails=thumbnails,
        page_key=review_depth_key(prefix),
        words=review_words(transcript, [c.plan for c in clips], episode_vocabulary(inputs)),
    )
    rkey = review_key(prefix, hashlib.sha256(page).hexdigest())
    put_bytes(rkey, page, "text/html; charset=utf-8")
    if proposal_inputs is not None:
        pobj = store.put_bytes(
            proposal_key(prefix),
            to_json(as_proposal(document(objects, rkey), proposal_inputs)),
            "application/json",
            tags,
        )
        # On S3 this stores the page's signed copy (proposal.html) beside the proposal.
        link = review_link(
            store, prefix, proposal=True, page_key=rkey, expires_in=links_expire_in, tags=tags, logger=logger
        )
        logger.info(
            "Proposed %s for review: %d objects, %d sent (%d bytes); nothing published changed. Review page: %s",
            inputs.episode.episode_id, len(objects), sent[0], sent[1], link,
        )  # fmt: skip
        return store.location(pobj.key)
    # The commit point, written last.
    previous = read_current(store, prefix)
    mobj = commit_manifest(
        store, prefix, document(objects, rkey), previous, tags=tags, logger=logger, expires_in=links_expire_in
    )
    if store.exists(proposal_key(prefix)):
        store.delete(proposal_key(prefix))  # approved (or overtaken by a publish): no longer pending
        store.delete(review_pointer_key(prefix, proposal=True))  # its signed review page, if any
    location = store.location(mobj.key)
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
