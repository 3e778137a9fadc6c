"""Storage keys of an episode's objects (pure).

Every object but the pointer files lives in a folder named by its content: 16 hex
characters of `content_version`, the SHA-256 over the (name, SHA-256) pairs of the files in that
folder. A key that exists therefore always holds the same bytes, and a re-publish that changes
anything writes new keys beside the old ones, which the live manifest still lists until the
new manifest replaces it. The pointers (`POINTER_NAMES`: `manifest.json`, the commit point, and
the files derived from it) are the only keys ever rewritten; each replaced manifest is kept
under `history/`.

    <series>/sNN/eNN-<slug>/manifest.json                     pointer, replaced last
    <series>/sNN/eNN-<slug>/links.json                        pointer, rewritten after it
    <series>/sNN/eNN-<slug>/proposal.json                     pointer: what awaits approval
    <series>/sNN/eNN-<slug>/review.html, proposal.html        pointers (S3): the review page, links presigned
    <series>/sNN/eNN-<slug>/history/<time>-<sha16>.json       every replaced manifest
    <series>/sNN/eNN-<slug>/master/<v>/footage.mp4            the footage as given
    <series>/sNN/eNN-<slug>/master/<v>/youtube-1920x1080.mp4
    <series>/sNN/eNN-<slug>/transcript/<v>/transcript.{json,srt,vtt}
    <series>/sNN/eNN-<slug>/clips/<clip-id>/<v>/{WxH.mp4,captions.*,cover.jpg,thumbs/NN.jpg}
    <series>/sNN/eNN-<slug>/clips/<clip-id>/<v>/metadata.json
    <series>/sNN/eNN-<slug>/review/<v>/index.html
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from touktouk.config import EpisodeConfig, SeriesConfig

# A key's episode folder: <series_slug>/sNN/eNN-<slug>, anywhere below the store root.
EPISODE_PREFIX = re.compile(r"^((?:[^/]+/)*?[a-z0-9-]+/s\d{2,}/e\d{2,}-[a-z0-9-]+)/")
_SAFE_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")
VERSION_CHARS = 16
# The keys a publish rewrites: the manifest, its presigned links, the proposal, and the signed
# copies of the review page (`review_pointer_key`). gc keeps those beside a live manifest.
POINTER_NAMES = ("manifest.json", "links.json", "proposal.json", "review.html", "proposal.html")


def episode_prefix(series: SeriesConfig, episode: EpisodeConfig) -> str:
    return f"{series.series_slug}/s{episode.season:02d}/e{episode.number:02d}-{episode.slug}"


def content_version(files: Mapping[str, str]) -> str:
    """The folder name of a set of files: 16 hex characters of the SHA-256 over their sorted
    (name, SHA-256) pairs. It changes when any file's bytes or name change."""
    listing = "".join(f"{name}\0{sha}\n" for name, sha in sorted(files.items()))
    return hashlib.sha256(listing.encode()).hexdigest()[:VERSION_CHARS]


def footage_name(footage_suffix: str) -> str:
    ext = footage_suffix.lower()
    return f"footage{ext if _SAFE_EXT.fullmatch(ext) else '.bin'}"


def master_key(prefix: str, footage_suffix: str, sha256: str) -> str:
    name = footage_name(footage_suffix)
    return f"{prefix}/master/{content_version({name: sha256})}/{name}"


YOUTUBE_MASTER_NAME = "youtube-1920x1080.mp4"


def youtube_master_key(prefix: str, sha256: str) -> str:
    """The YouTube-ready master of the whole episode (16:9, loudness-normalised)."""
    return f"{prefix}/master/{content_version({YOUTUBE_MASTER_NAME: sha256})}/{YOUTUBE_MASTER_NAME}"


def transcript_names(formats: Sequence[str]) -> dict[str, str]:
    """File names of the transcript formats: "json" → transcript.json, "en.srt" → transcript.en.srt."""
    names = {}
    for fmt in formats:
        lang, _, ext = fmt.rpartition(".")
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise ValueError(f"translation language must be a two-letter code, not {lang!r}")
        if ext not in ("json", "srt", "vtt"):
            raise ValueError(f"transcript format must be json, srt or vtt, not {fmt!r}")
        names[fmt] = f"transcript.{fmt}"
    return names


def transcript_keys(prefix: str, shas: Mapping[str, str]) -> dict[str, str]:
    """Keys of the transcript files by format ("json", "srt", "vtt", "en.srt"…), from their SHA-256s."""
    names = transcript_names(list(shas))
    version = content_version({names[fmt]: sha for fmt, sha in shas.items()})
    return {fmt: f"{prefix}/transcript/{version}/{name}" for fmt, name in names.items()}


def clip_file_names(sizes: Sequence[tuple[int, int]], captions: Sequence[str], extras: Sequence[str]) -> dict[str, str]:
    """Names inside a clip's folder: "WxH" → WxH.mp4, "srt" → captions.srt, "cover" → cover.jpg,
    "thumb01" → thumbs/01.jpg."""
    names = {f"{w}x{h}": f"{w}x{h}.mp4" for w, h in sizes}
    names |= {fmt: f"captions.{fmt}" for fmt in captions}
    for extra in extras:
        if extra == "cover":
            names[extra] = "cover.jpg"
        elif re.fullmatch(r"thumb\d{2}", extra):
            names[extra] = f"thumbs/{extra[5:]}.jpg"
        else:
            raise ValueError(f"unknown clip image {extra!r}")
    return names


def clip_folder(prefix: str, clip_id: str, files: Mapping[str, str]) -> str:
    """The folder of one version of a clip's files, `files` mapping name in it → SHA-256."""
    return f"{prefix}/clips/{clip_id}/{content_version(files)}"


def clip_cover_key(prefix: str, clip_id: str, sha256: str) -> str:
    """A clip's cover in a version folder of its own: a new title changes it and nothing else."""
    return f"{prefix}/clips/{clip_id}/{content_version({'cover.jpg': sha256})}/cover.jpg"


def clip_metadata_key(prefix: str, clip_id: str, sha256: str) -> str:
    return f"{prefix}/clips/{clip_id}/{content_version({'metadata.json': sha256})}/metadata.json"


def review_key(prefix: str, sha256: str) -> str:
    """The review page: a version folder of its own (its links are relative to it)."""
    return f"{prefix}/review/{content_version({'index.html': sha256})}/index.html"


def review_depth_key(prefix: str) -> str:
    """A key at the review page's depth: its relative links are the same from any version."""
    return f"{prefix}/review/{'0' * VERSION_CHARS}/index.html"


def manifest_key(prefix: str) -> str:
    return f"{prefix}/manifest.json"


def proposal_key(prefix: str) -> str:
    """What `touktouk publish --review` stored for the producer to approve (a pointer, like the manifest)."""
    return f"{prefix}/proposal.json"


def links_key(prefix: str) -> str:
    return f"{prefix}/links.json"


def review_pointer_key(prefix: str, *, proposal: bool = False) -> str:
    """The signed copy of the review page on S3 (`publish.pointer.review_link`): the content-named
    page with every link presigned, for the published episode (review.html) or the proposal
    (proposal.html). A pointer: rewritten when its links are re-signed."""
    return f"{prefix}/{'proposal' if proposal else 'review'}.html"


def history_folder(prefix: str) -> str:
    return f"{prefix}/history"


def history_key(prefix: str, generated_at: str, sha256: str) -> str:
    """Where a replaced manifest is kept: named by when it was made, then by its bytes."""
    try:
        stamp = datetime.fromisoformat(generated_at).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    except ValueError:
        stamp = "undated"
    return f"{history_folder(prefix)}/{stamp}-{sha256[:VERSION_CHARS]}.json"


def is_pointer(key: str) -> bool:
    """An episode's manifest.json, links.json, proposal.json or signed review page: the only keys a publish rewrites."""
    return key.rsplit("/", 1)[-1] in POINTER_NAMES
