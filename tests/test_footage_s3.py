"""Footage given as an s3:// URL: downloaded once into the content-addressed footage cache,
checked against the store's SHA-256 (or the ETag), retried when corrupt, then refused with one
clear sentence; and the Prefect retry rule (transient failures only) on the real fetch task.
Requests are counted by tests/faultproxy.py in front of the session's SeaweedFS server."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from faultproxy import FaultProxy
from pipeline_helpers import write_series
from s3server import S3Server
from touktouk.errors import ConfigError, MediaError
from touktouk.orchestration.tasks import fetch_footage_task
from touktouk.pipeline.inputs import load_inputs
from touktouk.store.base import StoreError
from touktouk.store.footage import ChecksumMismatchError, fetch_footage
from touktouk.store.s3 import S3Store, is_transient
from touktouk.store.url import split_s3_url

pytestmark = pytest.mark.slow  # a real S3 server; about 25 s in all (the retry test waits out backoffs)

BODY = secrets.token_bytes(300_000)
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def proxy(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with FaultProxy(s3_env.endpoint_url) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL", p.url)
        yield p


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "footage-cache"
    monkeypatch.setenv("TOUKTOUK_FOOTAGE_CACHE", str(folder))
    return folder


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    return s3_env.make_bucket("foot-" + secrets.token_hex(5))


def gets(proxy: FaultProxy, key: str) -> int:
    return sum(1 for r in proxy.requests if r.method == "GET" and r.path.endswith("/" + key))


def test_footage_is_downloaded_once_verified_and_reused(
    proxy: FaultProxy, cache: Path, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "interview.mp4"
    source.write_bytes(BODY)
    S3Store(bucket).put_file("inbox/interview.mp4", source)  # writes the sha256 metadata
    url = f"s3://{bucket}/inbox/interview.mp4"

    proxy.reset()
    local = fetch_footage(url)
    assert local == cache / SHA / "interview.mp4"
    assert local.read_bytes() == BODY
    assert gets(proxy, "inbox/interview.mp4") == 1

    proxy.reset()
    assert fetch_footage(url) == local  # one HEAD, no download
    assert gets(proxy, "inbox/interview.mp4") == 0
    assert [r.method for r in proxy.requests] == ["HEAD"]
    assert not [p for p in cache.rglob("*") if p.name.endswith(".touktouk-tmp")]


def test_object_without_checksum_metadata_is_checked_by_etag_and_cached_by_content(
    s3_env: S3Server, proxy: FaultProxy, cache: Path, bucket: str
) -> None:
    s3_env.client().put_object(Bucket=bucket, Key="raw/plain.mov", Body=BODY)  # not written by ToukTouk
    url = f"s3://{bucket}/raw/plain.mov"
    local = fetch_footage(url)
    assert local == cache / SHA / "plain.mov" and local.read_bytes() == BODY
    proxy.reset()
    assert fetch_footage(url) == local
    assert gets(proxy, "raw/plain.mov") == 0


def test_corrupt_download_is_retried_then_reported(
    s3_env: S3Server, proxy: FaultProxy, cache: Path, bucket: str
) -> None:
    # The stored checksum does not match the bytes: every download fails verification.
    s3_env.client().put_object(Bucket=bucket, Key="bad.mp4", Body=BODY, Metadata={"sha256": "0" * 64})
    proxy.reset()
    with pytest.raises(ChecksumMismatchError) as caught:
        fetch_footage(f"s3://{bucket}/bad.mp4", attempts=3)
    message = str(caught.value)
    assert message.startswith(f"s3://{bucket}/bad.mp4: downloaded 3 times")
    assert "upload the footage again" in message
    assert gets(proxy, "bad.mp4") == 3
    assert not [p for p in cache.rglob("*") if p.is_file()]  # nothing unverified is kept
    assert not is_transient(caught.value)


def test_truncated_transfer_is_completed(proxy: FaultProxy, cache: Path, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "cut.mp4"
    source.write_bytes(BODY)
    S3Store(bucket).put_file("cut.mp4", source)
    proxy.reset()
    proxy.inject("truncate", method="GET", path_contains="cut.mp4")
    local = fetch_footage(f"s3://{bucket}/cut.mp4")
    assert hashlib.sha256(local.read_bytes()).hexdigest() == SHA
    assert gets(proxy, "cut.mp4") >= 2


def test_missing_object_and_bad_urls_are_user_errors(proxy: FaultProxy, cache: Path, bucket: str) -> None:
    with pytest.raises(StoreError, match="no such object") as caught:
        fetch_footage(f"s3://{bucket}/nope.mp4")
    assert f"s3://{bucket}/nope.mp4" in str(caught.value)
    assert not is_transient(caught.value)
    with pytest.raises(StoreError, match="folder, not a footage file"):
        fetch_footage(f"s3://{bucket}/inbox/")
    with pytest.raises(StoreError, match="invalid S3 bucket name"):
        split_s3_url("s3://AKIA:secret@bucket/x.mp4")
    assert split_s3_url(f"s3://{bucket}/a/b.mp4") == (bucket, "a/b.mp4")


def test_transient_classes() -> None:
    def client_error(status: int, code: str) -> ClientError:
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")

    def wrapped(cause: BaseException) -> StoreError:
        try:
            raise cause
        except BaseException as exc:
            err = StoreError("could not download s3://b/k")
            err.__cause__ = exc
            return err

    assert is_transient(wrapped(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")))
    assert is_transient(wrapped(client_error(503, "SlowDown")))
    assert is_transient(wrapped(client_error(500, "InternalError")))
    assert is_transient(ConnectionResetError())
    assert not is_transient(wrapped(client_error(403, "AccessDenied")))
    assert not is_transient(wrapped(client_error(404, "NoSuchBucket")))
    assert not is_transient(ConfigError("touktouk.toml: field 'x' is wrong; fix it."))
    assert not is_transient(MediaError("a.mp4: not a media file; export it again."))
    assert not is_transient(ValueError("a bug"))


def test_fetch_task_retries_transient_failures_only(
    proxy: FaultProxy,
    cache: Path,
    bucket: str,
    tmp_path: Path,
    prefect_harness: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Real flow runs of the real fetch task: a user error (missing object) runs it once; a
    server failing longer than boto3's own attempts (1 + 5 retries) is retried by Prefect, then succeeds."""
    from prefect import flow

    source = tmp_path / "retry.mp4"
    source.write_bytes(BODY)
    S3Store(bucket).put_file("retry.mp4", source)
    series = write_series(tmp_path / "touktouk.toml", store=str(tmp_path / "store"))

    @flow
    def fetch(url: str) -> Path:
        return fetch_footage_task(load_inputs(url, None, None, str(series))).footage

    proxy.reset()
    with pytest.raises(StoreError, match="no such object"):
        fetch(f"s3://{bucket}/missing.mp4")
    heads = [r for r in proxy.requests if r.method == "HEAD" and r.path.endswith("/missing.mp4")]
    assert len(heads) == 1  # one try: not retried by boto3, nor by Prefect

    proxy.reset()
    proxy.inject("503", method="HEAD", path_contains="retry.mp4", times=6)  # all of boto3's attempts
    with caplog.at_level(logging.WARNING):
        local = fetch(f"s3://{bucket}/retry.mp4")
    assert local.read_bytes() == BODY
    heads = [r for r in proxy.requests if r.method == "HEAD" and r.path.endswith("/retry.mp4")]
    # boto3's 6 attempts failed, Prefect retried the task, whose HEAD passed (the download adds its own).
    assert [r.status for r in heads][:7] == [503] * 6 + [200]
    assert "Transient failure, retrying" in caplog.text
    assert os.environ["TOUKTOUK_FOOTAGE_CACHE"] == str(cache)
