"""The `Store` protocol and what every backend shares: stored-object records, metadata, cache headers, key rules.

Keys are relative, '/'-separated names (see `validate_key`). A store is opened from a url
with `store.url.open_store`: a folder path, `file:///abs/path`, `s3://bucket` or
`s3://bucket/prefix`. Every failure surfaces as `StoreError` with one sentence: what failed,
where, and the fix.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote, urlencode

from touktouk.errors import ToukToukError
from touktouk.hashing import file_digests
from touktouk.store.keys import POINTER_NAMES

CHUNK = 1024 * 1024
TMP_SUFFIX = ".touktouk-tmp"  # temp files carry this so list_keys can skip a crashed write
_KEY_PART = re.compile(r"[A-Za-z0-9._-]+")
META_VALUE = re.compile(r"[ -~]*")  # S3 user metadata travels in HTTP headers: printable ASCII only
SHA256_META = "sha256"  # user metadata holding the hex SHA-256 of the whole object
INPUTS_META = "inputs-sha256"  # optional: hash of what produced the object (e.g. render inputs)
# Metadata also set as S3 object tags, which lifecycle rules, IAM conditions and cost reports can use.
TAGGED_META = ("episode", "clip", "platform")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")  # what AWS allows in a tag value
# SigV4 presigned URLs live at most 7 days.
DEFAULT_LINK_EXPIRY_S = 7 * 24 * 3600
MAX_LINK_EXPIRY_S = 7 * 24 * 3600
# Every key but the pointer files names its content (store.keys), so caches may keep it for a
# year; the manifest and links must always be revalidated.
MEDIA_CACHE_CONTROL = "public, max-age=31536000, immutable"
INDEX_CACHE_CONTROL = "no-cache"

_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".ass": "text/x-ssa",
    ".wav": "audio/wav",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}


class StoreError(ToukToukError):
    """A store operation failed; the message names the store url/key and the fix."""


class StoreConflict(StoreError):
    """A conditional write found another object than expected (another writer got there first)."""


@dataclass(frozen=True)
class StoredObject:
    """What the store holds after a put: key, size in bytes, hex sha256 and content type.

    `uploaded` is False when the store already held an identical object and nothing was sent.
    """

    key: str
    bytes: int
    sha256: str
    content_type: str
    uploaded: bool = field(default=True, compare=False)


@dataclass(frozen=True)
class ObjectInfo:
    """What the store says about an existing object, without downloading it.

    `sha256` is None when unknown (an S3 object not written by ToukTouk). A local store keeps no
    metadata: it computes the sha256 on demand and reports an empty `metadata`.
    """

    key: str
    bytes: int
    sha256: str | None
    content_type: str
    cache_control: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Store(Protocol):
    """A place that holds objects by key."""

    url: str  # display url, never contains credentials

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
        immutable: bool = False,
    ) -> StoredObject:
        """Store `path` at `key` unless an identical object is already there (then uploaded=False).

        With `immutable`, a key that holds other bytes is never overwritten: StoreError."""
        ...

    def put_bytes(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
        immutable: bool = False,
    ) -> StoredObject:
        """Store `data` at `key` unless an identical object is already there (then uploaded=False).

        With `immutable`, a key that holds other bytes is never overwritten: StoreError."""
        ...

    def replace(
        self,
        key: str,
        data: bytes,
        content_type: str,
        expected_sha256: str | None,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        """Replace the object at `key` in one atomic step, only if it still holds the bytes whose
        SHA-256 is `expected_sha256` (None: only if nothing is there); else raise StoreConflict."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def stat(self, key: str) -> ObjectInfo | None:
        """What is stored at `key`, or None when nothing is."""
        ...

    def exists(self, key: str) -> bool: ...

    def last_modified(self, key: str) -> datetime | None:
        """When the object at `key` was last written (UTC), or None when nothing is stored there."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""
        ...

    def list_keys(self, prefix: str = "") -> list[str]: ...

    def location(self, key: str) -> str: ...

    def link(self, key: str, expires_in: int = DEFAULT_LINK_EXPIRY_S) -> str:
        """A URL that reads `key` without credentials: presigned GET (S3) or file:// (local)."""
        ...


def cache_control_for(key: str) -> str:
    """Default Cache-Control: manifest.json and links.json always revalidated, the rest (named
    by its content) cached for a year."""
    return INDEX_CACHE_CONTROL if key.rsplit("/", 1)[-1] in POINTER_NAMES else MEDIA_CACHE_CONTROL


def object_metadata(key: str, metadata: Mapping[str, str] | None, sha256: str) -> dict[str, str]:
    """Caller metadata plus the sha256; names lower-case (S3 lower-cases them), values ASCII."""
    out: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        if not _KEY_PART.fullmatch(name) or not META_VALUE.fullmatch(str(value)):
            raise ValueError(
                f"metadata {name!r} of store key {key!r} must have a [A-Za-z0-9._-] name and a printable ASCII value"
            )
        out[name.lower()] = str(value)
    out[SHA256_META] = sha256
    return out


def object_tags(metadata: Mapping[str, str]) -> dict[str, str]:
    """The episode, clip and platform of `metadata` as S3 object tags.

    Tag values allow fewer characters than metadata: a platform list "tiktok,x" becomes "tiktok x".
    """
    return {name: _TAG_UNSAFE.sub(" ", str(metadata[name]))[:256] for name in TAGGED_META if metadata.get(name)}


def tagging_header(metadata: Mapping[str, str]) -> str:
    """The x-amz-tagging header value (URL query form) for `object_tags(metadata)`."""
    return urlencode(object_tags(metadata), quote_via=quote)


def unchanged(
    existing: ObjectInfo | None,
    sha256: str,
    size: int,
    content_type: str,
    metadata: Mapping[str, str],
    *,
    metadata_too: bool = True,
) -> ObjectInfo | None:
    """The existing object when it can stand for the new one, else None: identical bytes (same
    sha256 and size) with the same content type, and, with `metadata_too`, the same metadata where
    the store keeps it (S3), so a changed tag is re-written. A content-named (immutable) key is
    never re-written for its metadata: the first writer's provenance stands."""
    if existing is None or existing.sha256 is None or existing.content_type != content_type:
        return None
    if existing.metadata and metadata_too:
        same_meta = {k: v for k, v in existing.metadata.items() if k != SHA256_META} == {
            k: v for k, v in metadata.items() if k != SHA256_META
        }
        if not same_meta:
            return None
    if existing.sha256 == sha256 and existing.bytes == size:
        return existing
    return None


def refuse_overwrite(location: str, existing: ObjectInfo | None, sha256: str, size: int) -> None:
    """An immutable key already holding other bytes (or bytes of unknown checksum) is an error,
    never an overwrite: the live manifest may list it."""
    if existing is None or (existing.sha256 == sha256 and existing.bytes == size):
        return
    raise StoreError(
        f"{location} already holds other bytes ({existing.bytes} bytes, SHA-256 "
        f"{(existing.sha256 or 'unknown')[:16]}) than its content-named key says ({size} bytes, {sha256[:16]}); "
        "something outside ToukTouk changed it: delete that object and publish again"
    )


def conflict(location: str, expected_sha256: str | None, found: str | None) -> StoreConflict:
    """The one sentence for a pointer that changed under a writer (see `Store.replace`)."""
    if expected_sha256 is None:
        what = "appeared"
    elif found is None:
        what = "disappeared"
    else:
        what = "was replaced"
    return StoreConflict(
        f"{location} {what} while this run worked (another publish or rollback of the same episode "
        "finished first); nothing was lost: run again, it reuses every object already stored"
    )


def guess_content_type(key: str) -> str:
    """Content type for a key from its extension; application/octet-stream if unknown."""
    suffix = os.path.splitext(key)[1].lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(key, strict=False)
    return guessed or "application/octet-stream"


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative '/'-separated key, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"store key {key!r} is empty; use a relative name like 'episode/clip.mp4'")
    if key.startswith("/"):
        raise ValueError(f"store key {key!r} starts with '/'; keys must be relative")
    for part in key.split("/"):
        # '.' and '..' would escape the root of a local store or alias another key.
        if part in (".", "..") or not _KEY_PART.fullmatch(part):
            raise ValueError(
                f"store key {key!r} has an invalid part {part!r}; each '/'-separated part "
                "must match [A-Za-z0-9._-]+ and must not be '.' or '..'"
            )
    return key


def sha256_and_size(path: Path) -> tuple[str, int]:
    """The SHA-256 (hex) and size of a file, in one read."""
    (sha256,), size = file_digests(path, "sha256")
    return sha256, size
