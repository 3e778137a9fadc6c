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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from touktouk.errors import ToukToukError

__all__ = [
    "LocalStore",
    "S3Store",
    "Store",
    "StoreError",
    "StoredObject",
    "guess_content_type",
    "open_store",
    "validate_key",
]

_CHUNK = 1024 * 1024
_TMP_SUFFIX = ".touktouk-tmp"  # temp files carry this so list_keys can skip a crashed write
_KEY_PART = re.compile(r"[A-Za-z0-9._-]+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ACCEPTED_FORMS = "a folder path, file:///absolute/path, s3://bucket or s3://bucket/prefix"

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
    """What was written: the key, its size in bytes, hex sha256 and content type."""

    key: str
    bytes: int
    sha256: str
    content_type: str


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
    ) -> StoredObject: ...

    def put_bytes(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject: ...

    def get_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str = "") -> list[str]: ...

    def location(self, key: str) -> str: ...


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

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        """Copy `path` to `key`; metadata is accepted for API parity and not stored locally."""
        target = self._path(key)
        try:
            with Path(path).open("rb") as source:
                return self._write(key, target, source, content_type or guess_content_type(key))
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
    ) -> StoredObject:
        """Write `data` to `key` atomically."""
        return self._write(key, self._path(key), io.BytesIO(data), content_type)

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

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None) -> None:
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
                retries={"mode": "standard", "max_attempts": 5},
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
    ) -> StoredObject:
        """Upload `path` with the transfer manager (multipart for big files, retried parts)."""
        full_key = self._key(key)
        content_type = content_type or guess_content_type(key)
        try:
            sha256, size = _sha256_file(Path(path))
        except OSError as exc:
            raise StoreError(
                f"could not read local file {path} to store as {self.location(key)} "
                f"({exc.strerror}); check that the file exists and is readable"
            ) from exc
        extra: dict[str, Any] = {
            "ContentType": content_type,
            # The server verifies every part against this, so corruption in flight is caught.
            "ChecksumAlgorithm": "SHA256",
            "Metadata": dict(metadata or {}),
        }
        try:
            self.client.upload_file(str(path), self.bucket, full_key, ExtraArgs=extra)
        except Exception as exc:
            raise self._error(exc, "upload to", key) from exc
        return StoredObject(key=key, bytes=size, sha256=sha256, content_type=content_type)

    def put_bytes(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        """Upload `data` in one PUT that the server checks against its SHA-256."""
        full_key = self._key(key)
        digest = hashlib.sha256(data).digest()
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=full_key,
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
                Metadata=dict(metadata or {}),
            )
        except Exception as exc:
            raise self._error(exc, "upload to", key) from exc
        return StoredObject(key=key, bytes=len(data), sha256=digest.hex(), content_type=content_type)

    def get_bytes(self, key: str) -> bytes:
        """Download with the transfer manager, which retries truncated bodies."""
        buffer = io.BytesIO()
        try:
            self.client.download_fileobj(self.bucket, self._key(key), buffer)
        except Exception as exc:
            raise self._error(exc, "download", key) from exc
        return buffer.getvalue()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise self._error(exc, "check", key) from exc
        except Exception as exc:
            raise self._error(exc, "check", key) from exc
        else:
            return True
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
        return False

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
