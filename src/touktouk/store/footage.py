"""Footage given as s3:// URLs: downloaded once, checksum verified, into a local cache."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from touktouk.hashing import file_digests
from touktouk.store.base import SHA256_META, TMP_SUFFIX, StoreError
from touktouk.store.s3 import S3Store
from touktouk.store.url import is_remote, split_s3_url

FOOTAGE_CACHE_ENV = "TOUKTOUK_FOOTAGE_CACHE"  # folder of downloaded footage, by SHA-256
DOWNLOAD_ATTEMPTS = 3  # whole-file downloads tried before a checksum mismatch is reported


class ChecksumMismatchError(StoreError):
    """A download never matched the checksum the store holds for it (after retries)."""


def footage_cache_dir() -> Path:
    """Where downloaded footage is kept: $TOUKTOUK_FOOTAGE_CACHE or ~/.cache/touktouk/footage."""
    raw = os.environ.get(FOOTAGE_CACHE_ENV, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "touktouk" / "footage"


@dataclass(frozen=True)
class RemoteFile:
    """What a HEAD says about an object to download: size and whatever checksum it carries."""

    bytes: int
    sha256: str | None  # ToukTouk's metadata, or a full-object ChecksumSHA256
    md5: str | None  # the ETag when it is a plain MD5 (single-part upload without SSE-KMS)
    etag: str


def _remote_file(head: Mapping[str, Any]) -> RemoteFile:
    metadata = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
    sha256 = metadata.get(SHA256_META)
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256):
        sha256 = None
    checksum = str(head.get("ChecksumSHA256") or "")
    if sha256 is None and checksum and "-" not in checksum and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        try:
            raw = base64.b64decode(checksum, validate=True)
        except ValueError:
            raw = b""
        if len(raw) == 32:
            sha256 = raw.hex()
    etag = str(head.get("ETag") or "").strip('"')
    md5 = etag if re.fullmatch(r"[0-9a-f]{32}", etag) else None
    return RemoteFile(int(head.get("ContentLength", 0)), sha256, md5, etag)


def _cached(folder: Path, name: str, size: int) -> Path | None:
    path = folder / name
    return path if path.is_file() and path.stat().st_size == size else None


def fetch_footage(
    url: str,
    *,
    endpoint_url: str | None = None,
    cache_dir: Path | None = None,
    attempts: int = DOWNLOAD_ATTEMPTS,
    log: Any = None,
) -> Path:
    """A local file for footage given as a path, a file:// URL or an s3:// URL.

    An S3 object is downloaded into `cache_dir/<sha256>/<name>` (default `footage_cache_dir()`)
    and checked against the SHA-256 the store holds (ToukTouk's `sha256` metadata or a
    full-object ChecksumSHA256), else against the size and the MD5 ETag. A mismatch is retried,
    then reported; nothing unverified is ever left in the cache. A later call finds the verified
    file from one HEAD and downloads nothing.
    """
    text = url.strip()
    if text.lower().startswith("file://"):
        return Path(unquote(urlsplit(text).path))
    if not is_remote(text):
        return Path(url).expanduser()
    bucket, key = split_s3_url(text)
    if not key or key.endswith("/"):
        raise StoreError(f"{text}: names a folder, not a footage file; give the full object URL (s3://bucket/path.mp4)")
    store = S3Store(bucket, "", endpoint_url=endpoint_url)
    try:
        head: dict[str, Any] = store.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except Exception as exc:
        err = store.store_error(exc, "check", key)
        if "no such object" in str(err):
            err = StoreError(f"{text}: no such object at {store.endpoint}; check the footage URL and the bucket")
        raise err from exc
    remote = _remote_file(head)
    name = key.rsplit("/", 1)[-1]
    root = (cache_dir or footage_cache_dir()).expanduser()
    index = root / "by-etag" / hashlib.sha256(f"{store.endpoint}|{bucket}|{key}|{remote.etag}".encode()).hexdigest()
    known = remote.sha256
    if known is None and index.is_file():
        known = index.read_text(encoding="ascii").strip() or None
    if known is not None and (hit := _cached(root / known, name, remote.bytes)) is not None:
        if log is not None:
            log.info("Footage %s: already downloaded and verified (%s)", text, hit)
        return hit
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"could not create the footage cache {root} ({exc.strerror}); set {FOOTAGE_CACHE_ENV} to a writable folder"
        ) from exc
    problem = ""
    for attempt in range(1, max(1, attempts) + 1):
        fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".download-", suffix=TMP_SUFFIX)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                store.client.download_file(bucket, key, tmp_name)
            except Exception as exc:
                raise store.store_error(exc, "download", key) from exc
            (sha256, md5), size = file_digests(tmp, "sha256", "md5")
            if size != remote.bytes:
                problem = f"{size} bytes received, {remote.bytes} expected"
            elif remote.sha256 is not None and sha256 != remote.sha256:
                problem = f"SHA-256 {sha256[:12]}… received, {remote.sha256[:12]}… stored"
            elif remote.sha256 is None and remote.md5 is not None and md5 != remote.md5:
                problem = f"MD5 {md5} received, ETag {remote.md5} stored"
            else:
                folder = root / sha256
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / name
                os.replace(tmp, target)
                if remote.sha256 is None:
                    index.parent.mkdir(parents=True, exist_ok=True)
                    index.write_text(sha256, encoding="ascii")
                if log is not None:
                    log.info("Footage %s: downloaded %d bytes, checksum verified, into %s", text, size, target)
                return target
        finally:
            tmp.unlink(missing_ok=True)
        if log is not None:
            log.warning("Footage %s: download %d of %d did not verify (%s)", text, attempt, attempts, problem)
    raise ChecksumMismatchError(
        f"{text}: downloaded {attempts} times but the content never matched the store's checksum ({problem}); "
        "upload the footage again and check any proxy between here and the endpoint"
    )


def list_footage(url: str, suffixes: set[str], *, endpoint_url: str | None = None) -> list[str]:
    """s3:// URLs of the objects directly under the prefix `url` whose name ends with one of
    `suffixes` (lower-case, with the dot), sorted."""
    bucket, prefix = split_s3_url(url)
    prefix = f"{prefix.rstrip('/')}/" if prefix else ""
    store = S3Store(bucket, "", endpoint_url=endpoint_url)
    found = []
    for key in store.list_keys(prefix):
        rest = key[len(prefix) :]
        if rest and "/" not in rest and os.path.splitext(rest)[1].lower() in suffixes:
            found.append(f"s3://{bucket}/{key}")
    return found
