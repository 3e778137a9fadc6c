"""Store room: put and get finished files in a local folder or an S3 bucket.

Keys are relative, '/'-separated names (see `validate_key`). A store is opened from a url
with `open_store`: a folder path, `file:///abs/path`, `s3://bucket` or `s3://bucket/prefix`.
Every failure surfaces as `StoreError` with one sentence: what failed, where, and the fix.
"""

from __future__ import annotations

import base64
import hashlib
import io
import mimetypes
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable
from urllib.parse import quote, unquote, urlencode, urlsplit

from touktouk.errors import ToukToukError

__all__ = [
    "DEFAULT_LINK_EXPIRY_S",
    "LocalStore",
    "ObjectInfo",
    "S3Store",
    "Store",
    "StoreError",
    "StoredObject",
    "cache_control_for",
    "guess_content_type",
    "object_tags",
    "open_store",
    "validate_key",
]

_CHUNK = 1024 * 1024
_TMP_SUFFIX = ".touktouk-tmp"  # temp files carry this so list_keys can skip a crashed write
_KEY_PART = re.compile(r"[A-Za-z0-9._-]+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ACCEPTED_FORMS = "a folder path, file:///absolute/path, s3://bucket or s3://bucket/prefix"
_META_VALUE = re.compile(r"[ -~]*")  # S3 user metadata travels in HTTP headers: printable ASCII only
SHA256_META = "sha256"  # user metadata holding the hex SHA-256 of the whole object
INPUTS_META = "inputs-sha256"  # optional: hash of what produced the object (e.g. render inputs)
# Metadata also set as S3 object tags, which lifecycle rules, IAM conditions and cost reports can use.
TAGGED_META = ("episode", "clip", "platform")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")  # what AWS allows in a tag value
# SigV4 presigned URLs live at most 7 days.
DEFAULT_LINK_EXPIRY_S = 7 * 24 * 3600
MAX_LINK_EXPIRY_S = 7 * 24 * 3600
# Keys are stable names, not content addresses (a re-publish may change clips/c01/1080x1920.mp4),
# so caches may keep media a day; the manifest and links must always be revalidated.
MEDIA_CACHE_CONTROL = "private, max-age=86400"
INDEX_CACHE_CONTROL = "no-cache"
_INDEX_NAMES = ("manifest.json", "links.json")
_THROTTLED = ("SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable")

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
    ) -> StoredObject:
        """Store `path` at `key` unless an identical object is already there (then uploaded=False)."""
        ...

    def put_bytes(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
    ) -> StoredObject:
        """Store `data` at `key` unless an identical object is already there (then uploaded=False)."""
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
    """Default Cache-Control: manifest.json and links.json always revalidated, the rest private."""
    return INDEX_CACHE_CONTROL if key.rsplit("/", 1)[-1] in _INDEX_NAMES else MEDIA_CACHE_CONTROL


def _object_metadata(key: str, metadata: Mapping[str, str] | None, sha256: str) -> dict[str, str]:
    """Caller metadata plus the sha256; names lower-case (S3 lower-cases them), values ASCII."""
    out: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        if not _KEY_PART.fullmatch(name) or not _META_VALUE.fullmatch(str(value)):
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


def _tagging(metadata: Mapping[str, str]) -> str:
    """The x-amz-tagging header value (URL query form) for `object_tags(metadata)`."""
    return urlencode(object_tags(metadata), quote_via=quote)


def _unchanged(
    existing: ObjectInfo | None, sha256: str, size: int, content_type: str, metadata: Mapping[str, str]
) -> ObjectInfo | None:
    """The existing object when it can stand for the new one, else None.

    Identical bytes (same sha256 and size) with the same content type qualify; so does an object
    made from the same inputs (same `inputs-sha256` metadata), whose own sha256 is then the truth.
    Metadata is compared where the store keeps it (S3), so a changed tag is re-written.
    """
    if existing is None or existing.sha256 is None or existing.content_type != content_type:
        return None
    if existing.metadata:
        same_meta = {k: v for k, v in existing.metadata.items() if k != SHA256_META} == {
            k: v for k, v in metadata.items() if k != SHA256_META
        }
        if not same_meta:
            return None
        inputs = metadata.get(INPUTS_META)
        if inputs and existing.metadata.get(INPUTS_META) == inputs:
            return existing
    if existing.sha256 == sha256 and existing.bytes == size:
        return existing
    return None


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


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class LocalStore:
    """Objects as files under a root folder; writes are atomic (temp file + os.replace)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # Resolve once so location() is absolute even if the cwd changes later.
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)

    def __repr__(self) -> str:
        return f"LocalStore({self.url!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def location(self, key: str) -> str:
        return str(self._path(key))

    def _write(self, key: str, target: Path, source: BinaryIO, content_type: str) -> StoredObject:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Temp file in the same folder so os.replace is an atomic rename, never a copy.
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=_TMP_SUFFIX)
        except OSError as exc:
            raise StoreError(
                f"could not create folder for key {key!r} in local store {self.url} "
                f"({exc.strerror}); check that the folder is writable and not a file"
            ) from exc
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; stored files should be shareable
            os.replace(tmp_name, target)
        except OSError as exc:
            Path(tmp_name).unlink(missing_ok=True)
            raise StoreError(
                f"could not write key {key!r} to local store {self.url} ({exc.strerror}); "
                "check free disk space and permissions, and that no folder has the same name"
            ) from exc
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        self._fsync_dir(target.parent)
        return StoredObject(key=key, bytes=size, sha256=digest.hexdigest(), content_type=content_type)

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        # Persist the rename itself; without this a crash can lose the new directory entry.
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass  # some filesystems refuse fsync on directories; the data is already synced
        finally:
            os.close(dir_fd)

    def _same_file(self, key: str, sha256: str, size: int, content_type: str) -> StoredObject | None:
        """The existing file at `key` when its bytes are identical (sizes first, then hashes)."""
        target = self._path(key)
        try:
            if not target.is_file() or target.stat().st_size != size:
                return None
            existing, _ = _sha256_file(target)
        except OSError:
            return None  # unreadable: let the write report the problem
        if existing != sha256:
            return None
        return StoredObject(key=key, bytes=size, sha256=sha256, content_type=content_type, uploaded=False)

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
    ) -> StoredObject:
        """Copy `path` to `key` unless the file there is identical.

        Metadata and Cache-Control are checked and accepted for API parity but a folder keeps
        neither: `stat` recomputes the sha256 on demand instead.
        """
        target = self._path(key)
        content_type = content_type or guess_content_type(key)
        try:
            sha256, size = _sha256_file(Path(path))
            _object_metadata(key, metadata, sha256)
            same = self._same_file(key, sha256, size, content_type)
            if same is not None:
                return same
            with Path(path).open("rb") as source:
                return self._write(key, target, source, content_type)
        except StoreError:
            raise
        except OSError as exc:
            raise StoreError(
                f"could not read local file {path} to store as {key!r} in {self.url} "
                f"({exc.strerror}); check that the file exists and is readable"
            ) from exc

    def put_bytes(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
    ) -> StoredObject:
        """Write `data` to `key` atomically, unless the file there is identical."""
        sha256 = hashlib.sha256(data).hexdigest()
        _object_metadata(key, metadata, sha256)
        same = self._same_file(key, sha256, len(data), content_type)
        if same is not None:
            return same
        return self._write(key, self._path(key), io.BytesIO(data), content_type)

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            sha256, size = _sha256_file(path)
        except OSError as exc:
            raise StoreError(
                f"could not read key {key!r} from local store {self.url} ({exc.strerror}); check the file permissions"
            ) from exc
        return ObjectInfo(key, size, sha256, guess_content_type(key), cache_control_for(key))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(
                f"could not delete key {key!r} from local store {self.url} ({exc.strerror}); "
                "check the folder permissions"
            ) from exc
        # Drop folders the delete emptied, never the root itself.
        folder = path.parent
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def link(self, key: str, expires_in: int = DEFAULT_LINK_EXPIRY_S) -> str:
        """A file:// URL (local files need no signature and do not expire)."""
        return self._path(key).as_uri()

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"no object {key!r} in local store {self.url}; check the key or write it first") from exc
        except OSError as exc:
            raise StoreError(
                f"could not read key {key!r} from local store {self.url} ({exc.strerror}); check the file permissions"
            ) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def last_modified(self, key: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                f"could not read key {key!r} from local store {self.url} ({exc.strerror}); check the file permissions"
            ) from exc

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys starting with `prefix` (a plain string prefix, as in S3)."""
        keys: list[str] = []
        for folder, _dirs, files in os.walk(self.root):
            rel = Path(folder).relative_to(self.root)
            for name in files:
                if name.endswith(_TMP_SUFFIX):
                    continue
                key = (rel / name).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)


def _safe_endpoint(url: str | None) -> str:
    """Endpoint for messages, with any user:password@ removed."""
    if not url:
        return "AWS S3"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url


def _find_botocore_error(exc: BaseException) -> BaseException:
    """Dig the botocore error out of boto3/s3transfer wrappers (S3UploadFailedError etc.)."""
    from botocore.exceptions import BotoCoreError, ClientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ClientError, BotoCoreError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


class S3Store:
    """Objects in an S3 bucket under an optional prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_attempts: int = 5,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            validate_key(self.prefix)
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        # A fresh Session reads the environment now; boto3's shared default session caches
        # the first credentials it found for the life of the process.
        # endpoint_url=None lets boto3 apply AWS_ENDPOINT_URL / profile endpoint itself.
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(
                signature_version="s3v4",
                # Standard retries: 500/502/503/504, SlowDown and other throttling, resets and
                # timeouts are retried with jittered exponential backoff (and a retry quota).
                retries={"mode": "standard", "max_attempts": max_attempts},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            ),
        )
        self._endpoint = _safe_endpoint(endpoint_url or self.client.meta.endpoint_url)

    def __repr__(self) -> str:
        return f"S3Store({self.url!r}, endpoint={self._endpoint!r})"

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _error(self, exc: BaseException, action: str, key: str | None) -> StoreError:
        """Translate a boto error into one sentence with a fix; never includes secrets."""
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
            ReadTimeoutError,
        )

        where = self.location(key) if key is not None else self.url
        what = f"could not {action} {where} at {self._endpoint}"
        err = _find_botocore_error(exc)
        if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
            return StoreError(
                f"{what}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "or a profile (AWS_PROFILE)"
            )
        if isinstance(err, (EndpointConnectionError, ConnectTimeoutError)):
            return StoreError(
                f"{what}: the endpoint cannot be reached; check AWS_ENDPOINT_URL (or the "
                "endpoint_url setting) and that the S3 server is running"
            )
        if isinstance(err, (ConnectionClosedError, ReadTimeoutError)):
            return StoreError(
                f"{what}: the connection dropped after retries; check the network and AWS_ENDPOINT_URL, then retry"
            )
        if isinstance(err, ClientError):
            code = str(err.response.get("Error", {}).get("Code", ""))
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                return StoreError(
                    f"{what}: bucket {self.bucket!r} does not exist; create the bucket "
                    f"(e.g. aws s3 mb s3://{self.bucket}) or fix the store url"
                )
            if code in ("NoSuchKey", "404", "NotFound"):
                return StoreError(f"{what}: no such object; check the key or write it first")
            if code == "InvalidAccessKeyId":
                return StoreError(
                    f"{what}: the access key is unknown to this endpoint; set "
                    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile for it, and check "
                    "AWS_ENDPOINT_URL"
                )
            if code == "SignatureDoesNotMatch":
                return StoreError(
                    f"{what}: the request signature was rejected (wrong secret key); fix "
                    "AWS_SECRET_ACCESS_KEY or the profile, and check AWS_ENDPOINT_URL"
                )
            if code in ("AccessDenied", "403", "Forbidden") or status == 403:
                return StoreError(
                    f"{what}: access denied; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a "
                    f"profile allowed to use bucket {self.bucket!r}"
                )
            if code in _THROTTLED or (isinstance(status, int) and status >= 500):
                return StoreError(
                    f"{what}: the server kept failing ({status} {code}) after retries; try again later: "
                    "objects already stored are kept and a re-run sends only what is missing"
                )
            if code in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"):
                return StoreError(
                    f"{what}: the server saw corrupted data ({code}); retry the upload and "
                    "check any proxy between here and the endpoint"
                )
            return StoreError(
                f"{what}: the server answered {code or status}; check the bucket, the credentials and AWS_ENDPOINT_URL"
            )
        # Only the exception type: str() of unknown errors could echo request details.
        return StoreError(f"{what}: {type(err).__name__}; check AWS_ENDPOINT_URL, the credentials and the network")

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
    ) -> StoredObject:
        """Upload `path` with the transfer manager (multipart for big files, retried parts),
        unless the bucket already holds it (HEAD: sha256 metadata), then check what landed."""
        full_key = self._key(key)
        content_type = content_type or guess_content_type(key)
        try:
            sha256, size = _sha256_file(Path(path))
        except OSError as exc:
            raise StoreError(
                f"could not read local file {path} to store as {self.location(key)} "
                f"({exc.strerror}); check that the file exists and is readable"
            ) from exc
        meta = _object_metadata(key, metadata, sha256)
        same = _unchanged(self.stat(key), sha256, size, content_type, meta)
        if same is not None and same.sha256 is not None:
            return StoredObject(key, same.bytes, same.sha256, content_type, uploaded=False)
        extra: dict[str, Any] = {
            "ContentType": content_type,
            "CacheControl": cache_control or cache_control_for(key),
            # The server verifies every part against this, so corruption in flight is caught.
            # Multipart objects only get a composite checksum, hence the whole-object sha256
            # in the metadata, which later runs compare without downloading.
            "ChecksumAlgorithm": "SHA256",
            "Metadata": meta,
        }
        if tagging := _tagging(meta):
            extra["Tagging"] = tagging  # on the single PUT or on CreateMultipartUpload
        try:
            self.client.upload_file(str(path), self.bucket, full_key, ExtraArgs=extra)
        except Exception as exc:
            raise self._error(exc, "upload to", key) from exc
        landed = self.stat(key)
        if landed is None or landed.bytes != size or landed.sha256 != sha256:
            raise StoreError(
                f"upload to {self.location(key)} at {self._endpoint} did not verify (the server holds "
                f"{landed.bytes if landed else 'no'} bytes, expected {size}); retry the publish"
            )
        return StoredObject(key=key, bytes=size, sha256=sha256, content_type=content_type)

    def put_bytes(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
    ) -> StoredObject:
        """Upload `data` in one PUT that the server checks against its SHA-256, unless the
        bucket already holds identical bytes."""
        full_key = self._key(key)
        digest = hashlib.sha256(data).digest()
        meta = _object_metadata(key, metadata, digest.hex())
        same = _unchanged(self.stat(key), digest.hex(), len(data), content_type, meta)
        if same is not None and same.sha256 is not None:
            return StoredObject(key, same.bytes, same.sha256, content_type, uploaded=False)
        tagging = _tagging(meta)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=full_key,
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control or cache_control_for(key),
                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
                Metadata=meta,
                **({"Tagging": tagging} if tagging else {}),
            )
        except Exception as exc:
            raise self._error(exc, "upload to", key) from exc
        return StoredObject(key=key, bytes=len(data), sha256=digest.hex(), content_type=content_type)

    def stat(self, key: str) -> ObjectInfo | None:
        """HEAD the object: size, content type and the sha256 ToukTouk stored in its metadata."""
        head = self._head_or_none(key)
        if head is None:
            return None
        metadata = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
        sha256 = metadata.get(SHA256_META)
        if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256):
            sha256 = None
        return ObjectInfo(
            key=key,
            bytes=int(head.get("ContentLength", 0)),
            sha256=sha256,
            content_type=str(head.get("ContentType", "")),
            cache_control=str(head.get("CacheControl", "")),
            metadata=metadata,
        )

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._error(exc, "delete", key) from exc

    def link(self, key: str, expires_in: int = DEFAULT_LINK_EXPIRY_S) -> str:
        """A presigned GET URL (SigV4: at most 7 days). It carries the access key id and a
        signature, never the secret key."""
        if not 1 <= expires_in <= MAX_LINK_EXPIRY_S:
            raise StoreError(
                f"link expiry {expires_in} s for {self.location(key)} is out of range; "
                f"use 1 to {MAX_LINK_EXPIRY_S} seconds (7 days, the SigV4 maximum)"
            )
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires_in
            )
        except Exception as exc:
            raise self._error(exc, "sign a link to", key) from exc
        return url

    def get_bytes(self, key: str) -> bytes:
        """Download with the transfer manager, which retries truncated bodies."""
        buffer = io.BytesIO()
        try:
            self.client.download_fileobj(self.bucket, self._key(key), buffer)
        except Exception as exc:
            raise self._error(exc, "download", key) from exc
        return buffer.getvalue()

    def _head_or_none(self, key: str) -> dict[str, Any] | None:
        """head_object's answer, or None when the key is missing (a missing bucket raises)."""
        from botocore.exceptions import ClientError

        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise self._error(exc, "check", key) from exc
        except Exception as exc:
            raise self._error(exc, "check", key) from exc
        else:
            return head
        # HEAD has no body, so a missing bucket is the same bare 404 as a missing key; ask the
        # bucket so a caller that writes after "not exists" learns now, not after hours of work.
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                exc.response.setdefault("Error", {})["Code"] = "NoSuchBucket"
            raise self._error(exc, "check", key) from exc
        except Exception as exc:
            raise self._error(exc, "check", key) from exc
        return None

    def exists(self, key: str) -> bool:
        return self._head_or_none(key) is not None

    def last_modified(self, key: str) -> datetime | None:
        head = self._head_or_none(key)
        modified = head.get("LastModified") if head else None
        return modified.astimezone(UTC) if isinstance(modified, datetime) else None

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys (relative to the store prefix) starting with `prefix`."""
        base = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix)
            for page in pages:
                keys.extend(item["Key"][len(base) :] for item in page.get("Contents", []))
        except Exception as exc:
            raise self._error(exc, f"list keys starting with {prefix!r} in", None) from exc
        return sorted(keys)


def _display_url(url: str) -> str:
    """The url without any user:password@ part, safe for messages."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", r"\1", url)


def open_store(url: str, *, endpoint_url: str | None = None) -> Store:
    """Open a store from a folder path, file:///abs/path, s3://bucket or s3://bucket/prefix.

    `endpoint_url` only applies to s3:// urls; without it boto3 honours AWS_ENDPOINT_URL.
    """
    if not url or not url.strip():
        raise StoreError(f"store url {url!r} is empty; use {_ACCEPTED_FORMS}")
    match = _SCHEME.match(url)
    # A one-letter "scheme" is a Windows drive (C:\...), i.e. a plain path.
    if match is None or len(match.group(1)) == 1:
        return LocalStore(url)
    scheme = match.group(1).lower()
    parts = urlsplit(url)
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StoreError(
                f"store url {_display_url(url)!r} is not a local absolute file url; use file:///absolute/path "
                f"or one of: {_ACCEPTED_FORMS}"
            )
        return LocalStore(unquote(parts.path))
    if scheme == "s3":
        bucket = parts.netloc
        if "@" in bucket or not _BUCKET.fullmatch(bucket):
            # Don't echo the url: a user:secret@ form would leak into logs.
            raise StoreError(
                "store url has an invalid S3 bucket name; use s3://bucket or "
                "s3://bucket/prefix with a 3-63 character lowercase bucket name and put "
                "credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, not in the url"
            )
        prefix = unquote(parts.path).strip("/")
        try:
            return S3Store(bucket, prefix, endpoint_url=endpoint_url)
        except ValueError as exc:
            raise StoreError(
                f"store url s3://{bucket}/{prefix} has an invalid prefix ({exc}); use "
                "'/'-separated parts of [A-Za-z0-9._-]"
            ) from exc
    raise StoreError(f"store url {_display_url(url)!r} has an unsupported scheme {scheme!r}; use {_ACCEPTED_FORMS}")


# --- footage by URL: verified downloads into a content-addressed cache ----------------------

FOOTAGE_CACHE_ENV = "TOUKTOUK_FOOTAGE_CACHE"  # folder of downloaded footage, by SHA-256
DOWNLOAD_ATTEMPTS = 3  # whole-file downloads tried before a checksum mismatch is reported


class ChecksumMismatchError(StoreError):
    """A download never matched the checksum the store holds for it (after retries)."""


def footage_cache_dir() -> Path:
    """Where downloaded footage is kept: $TOUKTOUK_FOOTAGE_CACHE or ~/.cache/touktouk/footage."""
    raw = os.environ.get(FOOTAGE_CACHE_ENV, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "touktouk" / "footage"


def is_remote(url: str) -> bool:
    """True for an s3:// URL (footage or inbox that must be listed or downloaded through S3)."""
    return url.strip().lower().startswith("s3://")


def split_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key or prefix) of an s3:// URL; the key part may be empty."""
    parts = urlsplit(url.strip())
    bucket = parts.netloc
    if parts.scheme.lower() != "s3" or "@" in bucket or not _BUCKET.fullmatch(bucket):
        raise StoreError(
            "footage url has an invalid S3 bucket name; use s3://bucket/path/to/footage.mp4 with a 3-63 character "
            "lowercase bucket name and put credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, not in the url"
        )
    key = unquote(parts.path).lstrip("/")
    if key:
        try:
            validate_key(key.rstrip("/"))
        except ValueError as exc:
            raise StoreError(
                f"s3://{bucket}/{key} is not a usable object name ({exc}); rename the object with "
                "[A-Za-z0-9._-] parts separated by '/'"
            ) from exc
    return bucket, key


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


def _hash_file(path: Path) -> tuple[str, str, int]:
    """(sha256, md5, size) in one read."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), md5.hexdigest(), size


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
        err = store._error(exc, "check", key)
        if "no such object" in str(err):
            err = StoreError(f"{text}: no such object at {store._endpoint}; check the footage URL and the bucket")
        raise err from exc
    remote = _remote_file(head)
    name = key.rsplit("/", 1)[-1]
    root = (cache_dir or footage_cache_dir()).expanduser()
    index = root / "by-etag" / hashlib.sha256(f"{store._endpoint}|{bucket}|{key}|{remote.etag}".encode()).hexdigest()
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
        fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".download-", suffix=_TMP_SUFFIX)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                store.client.download_file(bucket, key, tmp_name)
            except Exception as exc:
                raise store._error(exc, "download", key) from exc
            sha256, md5, size = _hash_file(tmp)
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


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is a network or server-side failure that a later try
    may not meet: dropped or refused connections, timeouts, 5xx answers and throttling. User
    errors (bad config, bad media, missing bucket, wrong credentials) are not transient."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    seen: BaseException | None = exc
    while seen is not None:
        dropped = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)
        if isinstance(seen, (*dropped, ResponseStreamingError)):
            return True
        if isinstance(seen, ClientError):
            code = str(seen.response.get("Error", {}).get("Code", ""))
            status = seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return code in _THROTTLED or (isinstance(status, int) and status >= 500)
        if isinstance(seen, (ConnectionError, TimeoutError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
