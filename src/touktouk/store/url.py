"""Store URLs: a folder, file:// or s3://bucket/prefix, opened as the right backend."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from touktouk.store.base import Store, StoreError, validate_key
from touktouk.store.local import LocalStore
from touktouk.store.s3 import S3Store

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ACCEPTED_FORMS = "a folder path, file:///absolute/path, s3://bucket or s3://bucket/prefix"


def display_url(url: str) -> str:
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
                f"store url {display_url(url)!r} is not a local absolute file url; use file:///absolute/path "
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
    raise StoreError(f"store url {display_url(url)!r} has an unsupported scheme {scheme!r}; use {_ACCEPTED_FORMS}")


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
