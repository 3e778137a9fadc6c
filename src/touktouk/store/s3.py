"""S3-compatible storage through boto3: SHA-256 checksums, skip-if-identical, conditional replace, presigned links
(errors translated in `store.s3_errors`)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from touktouk.store.base import (
    DEFAULT_LINK_EXPIRY_S,
    MAX_LINK_EXPIRY_S,
    SHA256_META,
    ObjectInfo,
    StoredObject,
    StoreError,
    cache_control_for,
    conflict,
    guess_content_type,
    object_metadata,
    refuse_overwrite,
    sha256_and_size,
    tagging_header,
    unchanged,
    validate_key,
)
from touktouk.store.s3_errors import is_transient, s3_error, safe_endpoint

__all__ = ["S3Store", "is_transient"]  # is_transient: re-exported for callers that know S3Store


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
        self.endpoint = safe_endpoint(endpoint_url or self.client.meta.endpoint_url)  # for messages: no credentials

    def __repr__(self) -> str:
        return f"S3Store({self.url!r}, endpoint={self.endpoint!r})"

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def store_error(self, exc: BaseException, action: str, key: str | None) -> StoreError:
        """Translate a boto error into one sentence with a fix; never includes secrets."""
        where = self.location(key) if key is not None else self.url
        return s3_error(exc, action, where, self.endpoint, self.bucket)

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
        """Upload `path` with the transfer manager (multipart for big files, retried parts),
        unless the bucket already holds it (HEAD: sha256 metadata), then check what landed."""
        full_key = self._key(key)
        content_type = content_type or guess_content_type(key)
        try:
            sha256, size = sha256_and_size(Path(path))
        except OSError as exc:
            raise StoreError(
                f"could not read local file {path} to store as {self.location(key)} "
                f"({exc.strerror}); check that the file exists and is readable"
            ) from exc
        meta = object_metadata(key, metadata, sha256)
        existing = self.stat(key)
        same = unchanged(existing, sha256, size, content_type, meta, metadata_too=not immutable)
        if same is not None and same.sha256 is not None:
            return StoredObject(key, same.bytes, same.sha256, content_type, uploaded=False)
        if immutable:
            refuse_overwrite(self.location(key), existing, sha256, size)
        extra: dict[str, Any] = {
            "ContentType": content_type,
            "CacheControl": cache_control or cache_control_for(key),
            # The server verifies every part against this, so corruption in flight is caught.
            # Multipart objects only get a composite checksum, hence the whole-object sha256
            # in the metadata, which later runs compare without downloading.
            "ChecksumAlgorithm": "SHA256",
            "Metadata": meta,
        }
        if tagging := tagging_header(meta):
            extra["Tagging"] = tagging  # on the single PUT or on CreateMultipartUpload
        try:
            self.client.upload_file(str(path), self.bucket, full_key, ExtraArgs=extra)
        except Exception as exc:
            raise self.store_error(exc, "upload to", key) from exc
        landed = self.stat(key)
        if landed is None or landed.bytes != size or landed.sha256 != sha256:
            raise StoreError(
                f"upload to {self.location(key)} at {self.endpoint} did not verify (the server holds "
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
        immutable: bool = False,
    ) -> StoredObject:
        """Upload `data` in one PUT that the server checks against its SHA-256, unless the
        bucket already holds identical bytes."""
        full_key = self._key(key)
        digest = hashlib.sha256(data).digest()
        meta = object_metadata(key, metadata, digest.hex())
        existing = self.stat(key)
        same = unchanged(existing, digest.hex(), len(data), content_type, meta, metadata_too=not immutable)
        if same is not None and same.sha256 is not None:
            return StoredObject(key, same.bytes, same.sha256, content_type, uploaded=False)
        if immutable:
            refuse_overwrite(self.location(key), existing, digest.hex(), len(data))
        try:
            self.client.put_object(
                **self._put_args(full_key, data, content_type, meta, cache_control or cache_control_for(key))
            )
        except Exception as exc:
            raise self.store_error(exc, "upload to", key) from exc
        return StoredObject(key=key, bytes=len(data), sha256=digest.hex(), content_type=content_type)

    def _put_args(
        self, full_key: str, data: bytes, content_type: str, meta: Mapping[str, str], cache_control: str
    ) -> dict[str, Any]:
        """put_object's arguments for one checked PUT of `data` (the server verifies its SHA-256)."""
        tagging = tagging_header(meta)
        return {
            "Bucket": self.bucket,
            "Key": full_key,
            "Body": data,
            "ContentType": content_type,
            "CacheControl": cache_control,
            "ChecksumSHA256": base64.b64encode(hashlib.sha256(data).digest()).decode("ascii"),
            "Metadata": dict(meta),
            **({"Tagging": tagging} if tagging else {}),
        }

    def replace(
        self,
        key: str,
        data: bytes,
        content_type: str,
        expected_sha256: str | None,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        """One PUT, conditional on the object the caller read: `If-Match` its ETag, or
        `If-None-Match: *` when there was none. S3, MinIO and SeaweedFS (checked with 4.48) refuse
        the PUT with 412 when another writer replaced it meanwhile: StoreConflict. A server that
        does not implement conditional writes (501 NotImplemented) gets a plain PUT right after
        the check, so two writers can then race within one round trip."""
        from botocore.exceptions import ClientError

        sha256 = hashlib.sha256(data).hexdigest()
        meta = object_metadata(key, metadata, sha256)
        head = self._head_or_none(key)
        current = None
        if head is not None:
            found = str((head.get("Metadata") or {}).get(SHA256_META, "")).lower()
            current = found if re.fullmatch(r"[0-9a-f]{64}", found) else "unknown"
        if current != expected_sha256:
            raise conflict(self.location(key), expected_sha256, current)
        if current == sha256:
            return StoredObject(key, len(data), sha256, content_type, uploaded=False)
        args = self._put_args(self._key(key), data, content_type, meta, cache_control_for(key))
        condition = {"IfMatch": head["ETag"]} if head is not None else {"IfNoneMatch": "*"}
        try:
            try:
                self.client.put_object(**args, **condition)
            except ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise conflict(self.location(key), expected_sha256, "changed") from None
                if status != 501 and code != "NotImplemented":
                    raise
                self.client.put_object(**args)
        except StoreError:
            raise
        except Exception as exc:
            raise self.store_error(exc, "upload to", key) from exc
        return StoredObject(key=key, bytes=len(data), sha256=sha256, content_type=content_type)

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
            raise self.store_error(exc, "delete", key) from exc

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
            raise self.store_error(exc, "sign a link to", key) from exc
        return url

    def get_bytes(self, key: str) -> bytes:
        """Download with the transfer manager, which retries truncated bodies."""
        buffer = io.BytesIO()
        try:
            self.client.download_fileobj(self.bucket, self._key(key), buffer)
        except Exception as exc:
            raise self.store_error(exc, "download", key) from exc
        return buffer.getvalue()

    def _head_or_none(self, key: str) -> dict[str, Any] | None:
        """head_object's answer, or None when the key is missing (a missing bucket raises)."""
        from botocore.exceptions import ClientError

        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise self.store_error(exc, "check", key) from exc
        except Exception as exc:
            raise self.store_error(exc, "check", key) from exc
        else:
            return head
        # HEAD has no body, so a missing bucket is the same bare 404 as a missing key; ask the
        # bucket so a caller that writes after "not exists" learns now, not after hours of work.
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                exc.response.setdefault("Error", {})["Code"] = "NoSuchBucket"
            raise self.store_error(exc, "check", key) from exc
        except Exception as exc:
            raise self.store_error(exc, "check", key) from exc
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
            raise self.store_error(exc, f"list keys starting with {prefix!r} in", None) from exc
        return sorted(keys)
