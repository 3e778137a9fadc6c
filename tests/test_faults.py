"""S3 faults survived: a fault-injecting proxy in front of a real SeaweedFS server."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from faultproxy import FaultProxy
from s3server import S3Server
from touktouk.store.base import StoreError
from touktouk.store.s3 import S3Store

pytestmark = pytest.mark.slow  # real SeaweedFS server


@pytest.fixture
def proxy(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The proxy in front of the test server; boto3's default chain points at the proxy."""
    with FaultProxy(s3_env.endpoint_url) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL", p.url)
        yield p


def _bucket(server: S3Server) -> str:
    return server.make_bucket("tt-" + secrets.token_hex(6))


def _direct_sha256(server: S3Server, bucket: str, key: str) -> str:
    return hashlib.sha256(server.client().get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def test_proxy_relays_and_counts(s3_env: S3Server, proxy: FaultProxy) -> None:
    bucket = _bucket(s3_env)
    store = S3Store(bucket, "p")
    obj = store.put_bytes("a/b.json", b'{"x": 1}', "application/json")
    assert store.get_bytes("a/b.json") == b'{"x": 1}'
    assert [(r.method, r.path) for r in proxy.writes()] == [("PUT", f"/{bucket}/p/a/b.json")]
    assert proxy.uploaded_bytes() == obj.bytes
    # Identical content: a HEAD, no upload.
    again = store.put_bytes("a/b.json", b'{"x": 1}', "application/json")
    assert not again.uploaded and again.sha256 == obj.sha256
    assert len(proxy.writes()) == 1


def test_put_bytes_survives_500_503_and_resets(s3_env: S3Server, proxy: FaultProxy) -> None:
    bucket = _bucket(s3_env)
    for action in ("500", "503", "reset", "reset-after"):
        proxy.inject(action, method="PUT")
    data = os.urandom(50_000)
    obj = S3Store(bucket).put_bytes("ep/x.bin", data, "application/octet-stream")
    faults = [r.fault for r in proxy.requests if r.method == "PUT"]
    assert faults == ["500", "503", "reset", "reset-after", None]
    assert _direct_sha256(s3_env, bucket, "ep/x.bin") == obj.sha256 == hashlib.sha256(data).hexdigest()


def test_multipart_upload_survives_part_faults(s3_env: S3Server, proxy: FaultProxy, tmp_path: Path) -> None:
    bucket = _bucket(s3_env)
    src = tmp_path / "big.mp4"
    src.write_bytes(os.urandom(9 * 1024 * 1024 + 7))  # above the 8 MiB multipart threshold
    proxy.inject("503", method="PUT", query_contains="partNumber=2")
    proxy.inject("reset", method="PUT", query_contains="partNumber=1")
    proxy.inject("500", method="POST", query_contains="uploadId")  # CompleteMultipartUpload
    obj = S3Store(bucket).put_file("ep/big.mp4", src, metadata={"episode": "s01e01-x"})
    assert {f.times for f in proxy.faults} == {0}, "every fault was hit"
    assert obj.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert _direct_sha256(s3_env, bucket, "ep/big.mp4") == obj.sha256
    head = s3_env.client().head_object(Bucket=bucket, Key="ep/big.mp4")
    assert head["Metadata"]["sha256"] == obj.sha256
    assert head["ETag"].strip('"').endswith("-2")


def test_download_retries_truncated_body(s3_env: S3Server, proxy: FaultProxy) -> None:
    bucket = _bucket(s3_env)
    data = os.urandom(200_000)
    s3_env.client().put_object(Bucket=bucket, Key="t.bin", Body=data)
    proxy.inject("truncate", method="GET", times=2)
    assert S3Store(bucket).get_bytes("t.bin") == data
    assert [r.fault for r in proxy.requests if r.method == "GET"] == ["truncate", "truncate", None]


def test_slow_answer_beyond_read_timeout_is_retried(s3_env: S3Server, proxy: FaultProxy) -> None:
    bucket = _bucket(s3_env)
    store = S3Store(bucket, read_timeout=1.0)
    proxy.inject("delay", method="PUT", delay_s=2.5)
    proxy.inject("delay", method="GET", delay_s=2.5)
    obj = store.put_bytes("slow.json", b"{}", "application/json")
    assert store.get_bytes("slow.json") == b"{}"
    assert [r.fault for r in proxy.requests if r.method in ("PUT", "GET")] == ["delay", None, "delay", None]
    assert obj.uploaded


def test_permanent_failure_is_one_clear_error_and_keeps_the_old_object(s3_env: S3Server, proxy: FaultProxy) -> None:
    bucket = _bucket(s3_env)
    store = S3Store(bucket, "show", max_attempts=3)
    store.put_bytes("ep/manifest.json", b'{"v": 1}', "application/json")
    proxy.inject("503", method="PUT", times=-1)
    with pytest.raises(StoreError) as info:
        store.put_bytes("ep/manifest.json", b'{"v": 2}', "application/json")
    message = str(info.value)
    assert "s3://" + bucket + "/show/ep/manifest.json" in message
    assert "503" in message and "SlowDown" in message and "after retries" in message
    assert "re-run" in message
    assert s3_env.secret_key not in message
    assert [r.fault for r in proxy.requests if r.method == "PUT"][-3:] == ["503"] * 3
    assert store.get_bytes("ep/manifest.json") == b'{"v": 1}'
