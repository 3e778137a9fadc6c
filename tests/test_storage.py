"""Tests for touktouk.storage: local folder store, S3 store (real SeaweedFS and moto)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

import touktouk.store.local
from s3server import S3Server
from touktouk.store.base import Store, StoreError, guess_content_type, object_tags, validate_key
from touktouk.store.local import LocalStore
from touktouk.store.s3 import S3Store
from touktouk.store.url import open_store


def _bucket_name() -> str:
    return "tt-" + secrets.token_hex(6)


def _tmp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".touktouk-tmp")]


# --- keys and content types -------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs.mp4",
        "../escape.mp4",
        "a/../../b.mp4",
        "a/./b.mp4",
        ".",
        "..",
        "a//b.mp4",
        "a/",
        "with space.mp4",
        "back\\slash.mp4",
        "ünicode.mp4",
        "semi;colon",
        "q?x=1",
    ],
)
def test_validate_key_rejects(key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)


@pytest.mark.parametrize("key", ["clip.mp4", "ep-01/clips/clip_003.v2.mp4", ".hidden", "a..b"])
def test_validate_key_accepts(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a/b.MP4", "video/mp4"),
        ("x.srt", "application/x-subrip"),
        ("x.ass", "text/x-ssa"),
        ("x.mkv", "video/x-matroska"),
        ("x.html", "text/html; charset=utf-8"),
        ("notes.md", "text/plain; charset=utf-8"),
        ("data.bin-unknown-ext", "application/octet-stream"),
        ("noext", "application/octet-stream"),
    ],
)
def test_guess_content_type(key: str, expected: str) -> None:
    assert guess_content_type(key) == expected


# --- LocalStore ---------------------------------------------------------------------------


def test_local_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "src.mp4"
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several copy chunks, odd tail
    src.write_bytes(payload)
    store = LocalStore(tmp_path / "store")

    obj = store.put_file("ep1/clips/a.mp4", src, metadata={"episode": "ep1"})

    assert obj.key == "ep1/clips/a.mp4"
    assert obj.bytes == len(payload)
    assert obj.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert obj.content_type == "video/mp4"
    target = Path(store.location("ep1/clips/a.mp4"))
    assert target.is_absolute() and target == tmp_path / "store" / "ep1" / "clips" / "a.mp4"
    assert target.read_bytes() == payload
    assert store.get_bytes("ep1/clips/a.mp4") == payload
    assert store.exists("ep1/clips/a.mp4")
    assert not store.exists("ep1/clips/b.mp4")
    assert _tmp_leftovers(tmp_path) == []


def test_local_overwrite_and_list(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("ep1/a.json", b'{"v": 1}', "application/json")
    obj = store.put_bytes("ep1/a.json", b'{"v": 2}', "application/json")
    store.put_bytes("ep1/sub/b.srt", b"1\n", "application/x-subrip")
    store.put_bytes("ep2/c.txt", b"c", "text/plain")

    assert store.get_bytes("ep1/a.json") == b'{"v": 2}'
    assert obj.sha256 == hashlib.sha256(b'{"v": 2}').hexdigest()
    assert store.list_keys() == ["ep1/a.json", "ep1/sub/b.srt", "ep2/c.txt"]
    assert store.list_keys("ep1/") == ["ep1/a.json", "ep1/sub/b.srt"]
    assert store.list_keys("nope") == []
    assert _tmp_leftovers(tmp_path) == []


def test_local_failed_write_keeps_old_object_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("a.txt", b"old", "text/plain")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(touktouk.store.local.os, "replace", broken_replace)
    with pytest.raises(StoreError, match=r"a\.txt"):
        store.put_bytes("a.txt", b"new", "text/plain")
    monkeypatch.undo()

    assert store.get_bytes("a.txt") == b"old"
    assert _tmp_leftovers(tmp_path) == []
    assert store.list_keys() == ["a.txt"]


def test_local_errors(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(StoreError, match=r"missing\.mp4"):
        store.get_bytes("missing.mp4")
    with pytest.raises(StoreError, match="does-not-exist"):
        store.put_file("x.mp4", tmp_path / "does-not-exist.mp4")
    with pytest.raises(ValueError):
        store.put_bytes("../escape.txt", b"x", "text/plain")
    assert not (tmp_path.parent / "escape.txt").exists()


# --- open_store ---------------------------------------------------------------------------


@pytest.fixture
def clean_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_open_store_local_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rel = open_store("out/store")
    assert isinstance(rel, LocalStore)
    assert rel.location("k.mp4") == str(tmp_path / "out" / "store" / "k.mp4")

    absolute = open_store(str(tmp_path / "abs"))
    assert isinstance(absolute, LocalStore)
    assert absolute.url == str(tmp_path / "abs")

    file_url = open_store(f"file://{tmp_path}/via%20url")
    assert isinstance(file_url, LocalStore)
    assert file_url.location("k.mp4") == str(tmp_path / "via url" / "k.mp4")
    assert isinstance(file_url, Store)


def test_open_store_s3_forms(clean_aws_env: None) -> None:
    bare = open_store("s3://my-bucket")
    assert isinstance(bare, S3Store)
    assert (bare.bucket, bare.prefix, bare.url) == ("my-bucket", "", "s3://my-bucket")
    assert bare.location("ep1/a.mp4") == "s3://my-bucket/ep1/a.mp4"

    prefixed = open_store("s3://my-bucket/some/prefix/", endpoint_url="http://127.0.0.1:9")
    assert isinstance(prefixed, S3Store)
    assert prefixed.prefix == "some/prefix"
    assert prefixed.url == "s3://my-bucket/some/prefix"
    assert prefixed.location("a.mp4") == "s3://my-bucket/some/prefix/a.mp4"
    assert prefixed.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert isinstance(prefixed, Store)


def test_open_store_honours_aws_endpoint_url(clean_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999")
    store = open_store("s3://my-bucket")
    assert isinstance(store, S3Store)
    assert store.client.meta.endpoint_url == "http://127.0.0.1:9999"


@pytest.mark.parametrize("url", ["gs://bucket/x", "http://example.com/x", "ftp://h/p"])
def test_open_store_unknown_scheme(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    message = str(info.value)
    assert url in message
    assert "s3://bucket" in message and "file:///" in message


@pytest.mark.parametrize("url", ["", "s3://", "s3://UPPER", "file://otherhost/x", "s3://bucket/../x"])
def test_open_store_bad_urls(url: str, clean_aws_env: None) -> None:
    with pytest.raises(StoreError):
        open_store(url)


def test_open_store_never_echoes_credentials_in_url() -> None:
    with pytest.raises(StoreError) as info:
        open_store("s3://AKIDEXAMPLE:topsecret123@bucket/x")
    assert "topsecret123" not in str(info.value)
    with pytest.raises(StoreError) as info:
        open_store("gs://user:topsecret123@bucket/x")
    assert "topsecret123" not in str(info.value)


# --- S3Store against a real SeaweedFS ----------------------------------------------------


@pytest.mark.slow  # real SeaweedFS server
def test_s3_round_trip_multipart(s3_env: S3Server, tmp_path: Path) -> None:
    bucket = s3_env.make_bucket(_bucket_name())
    # 9 MiB > boto3's 8 MiB multipart threshold, so this goes through multipart upload.
    src = tmp_path / "big.mp4"
    src.write_bytes(os.urandom(9 * 1024 * 1024 + 123))
    store = open_store(f"s3://{bucket}/runs/r1")  # endpoint only from AWS_ENDPOINT_URL

    obj = store.put_file("ep1/big.mp4", src, metadata={"episode": "ep1"})

    expected = hashlib.sha256(src.read_bytes()).hexdigest()
    assert obj.sha256 == expected
    assert obj.bytes == src.stat().st_size
    assert obj.content_type == "video/mp4"
    assert store.location("ep1/big.mp4") == f"s3://{bucket}/runs/r1/ep1/big.mp4"
    downloaded = store.get_bytes("ep1/big.mp4")
    assert hashlib.sha256(downloaded).hexdigest() == expected

    head = s3_env.client().head_object(Bucket=bucket, Key="runs/r1/ep1/big.mp4")
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {"episode": "ep1", "sha256": expected}  # whole-object sha256 beside the composite
    assert head["ContentLength"] == obj.bytes
    assert head["ETag"].strip('"').endswith("-2")  # really was a 2-part multipart upload
    # Tags are set on CreateMultipartUpload, so the multipart object carries them too.
    tags = s3_env.client().get_object_tagging(Bucket=bucket, Key="runs/r1/ep1/big.mp4")["TagSet"]
    assert tags == [{"Key": "episode", "Value": "ep1"}]


@pytest.mark.slow  # real SeaweedFS server
def test_s3_put_bytes_checksum_list_exists(s3_env: S3Server) -> None:
    bucket = s3_env.make_bucket(_bucket_name())
    store = S3Store(bucket, "pre")
    data = b'{"clips": []}'
    obj = store.put_bytes("ep1/plan.json", data, "application/json")
    store.put_bytes("ep1/sub/a.srt", b"1\n", "application/x-subrip")
    store.put_bytes("ep2/b.vtt", b"WEBVTT\n", "text/vtt")
    s3_env.client().put_object(Bucket=bucket, Key="outside.txt", Body=b"x")

    assert obj.sha256 == hashlib.sha256(data).hexdigest()
    head = s3_env.client().head_object(Bucket=bucket, Key="pre/ep1/plan.json", ChecksumMode="ENABLED")
    assert head["ContentType"] == "application/json"
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert store.get_bytes("ep1/plan.json") == data
    assert store.list_keys() == ["ep1/plan.json", "ep1/sub/a.srt", "ep2/b.vtt"]
    assert store.list_keys("ep1/") == ["ep1/plan.json", "ep1/sub/a.srt"]
    assert store.list_keys("zzz") == []
    assert store.exists("ep1/plan.json")
    assert not store.exists("ep1/nope.json")
    with pytest.raises(StoreError, match="no such object"):
        store.get_bytes("ep1/nope.json")


@pytest.mark.slow  # real SeaweedFS server
def test_s3_missing_bucket(s3_env: S3Server, tmp_path: Path) -> None:
    src = tmp_path / "a.mp4"
    src.write_bytes(b"x" * 1000)
    store = S3Store("tt-no-such-bucket")
    with pytest.raises(StoreError) as info:
        store.put_file("a.mp4", src)
    assert "tt-no-such-bucket" in str(info.value)
    assert "create the bucket" in str(info.value)
    with pytest.raises(StoreError, match="create the bucket"):
        store.put_bytes("a.json", b"{}", "application/json")
    with pytest.raises(StoreError, match="create the bucket"):
        store.list_keys()
    # HEAD gives a bare 404 for a missing bucket too; exists() must not answer False.
    with pytest.raises(StoreError, match="create the bucket"):
        store.exists("a.mp4")


@pytest.mark.slow  # real SeaweedFS server
def test_s3_wrong_secret_never_leaks(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_env.make_bucket(_bucket_name())
    wrong = "WrongSecret" + secrets.token_hex(12)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    store = S3Store(bucket)
    for call in (
        lambda: store.put_bytes("a.json", b"{}", "application/json"),
        lambda: store.get_bytes("a.json"),
        lambda: store.exists("a.json"),
        lambda: store.list_keys(),
    ):
        with pytest.raises(StoreError) as info:
            call()
        message = str(info.value)
        assert wrong not in message and s3_env.secret_key not in message
        assert "AWS_SECRET_ACCESS_KEY" in message
    assert wrong not in repr(store) and wrong not in store.url


@pytest.mark.slow  # real SeaweedFS server
def test_s3_unknown_access_key(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_env.make_bucket(_bucket_name())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "TTUNKNOWNKEY0000")
    with pytest.raises(StoreError) as info:
        S3Store(bucket).put_bytes("a.json", b"{}", "application/json")
    assert "AWS_ACCESS_KEY_ID" in str(info.value)
    assert s3_env.secret_key not in str(info.value)


def test_s3_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # Point every credential source somewhere empty so the chain finds nothing.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = S3Store("some-bucket", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(StoreError, match="AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile"):
        store.put_bytes("a.json", b"{}", "application/json")


@pytest.mark.slow  # real SeaweedFS server
def test_s3_unreachable_endpoint(s3_env: S3Server) -> None:
    store = S3Store("some-bucket", endpoint_url="http://127.0.0.1:9")
    # One attempt only: the production retry policy would back off for seconds here.
    store.client = boto3.client("s3", endpoint_url="http://127.0.0.1:9", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(StoreError) as info:
        store.exists("a.json")
    assert "AWS_ENDPOINT_URL" in str(info.value)
    assert "127.0.0.1:9" in str(info.value)


# --- S3Store against moto (fast, no signature/checksum checks) ---------------------------


def test_s3_put_get_with_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import mock_aws

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="moto-bucket")
        store = open_store("s3://moto-bucket/p")
        obj = store.put_bytes("x/a.json", b'{"a": 1}', "application/json", {"k": "v"})
        assert obj.sha256 == hashlib.sha256(b'{"a": 1}').hexdigest()
        assert store.get_bytes("x/a.json") == b'{"a": 1}'
        assert store.list_keys() == ["x/a.json"]
        head = boto3.client("s3").head_object(Bucket="moto-bucket", Key="p/x/a.json")
        assert head["ContentType"] == "application/json"
        assert head["Metadata"] == {"k": "v", "sha256": obj.sha256}
        with pytest.raises(StoreError, match="create the bucket"):
            open_store("s3://moto-missing").put_bytes("a", b"", "text/plain")


# --- object tags and ages --------------------------------------------------------------------


def test_object_tags_keep_episode_clip_and_platform_with_tag_safe_values() -> None:
    meta = {"episode": "s01e07-idem", "clip": "c01", "platform": "tiktok,instagram_reels", "sha256": "ab"}
    assert object_tags(meta) == {"episode": "s01e07-idem", "clip": "c01", "platform": "tiktok instagram_reels"}
    assert object_tags({"sha256": "ab"}) == {}


@pytest.mark.slow  # real SeaweedFS server
def test_s3_objects_carry_episode_clip_and_platform_tags(s3_env: S3Server, tmp_path: Path) -> None:
    bucket = s3_env.make_bucket(_bucket_name())
    store = S3Store(bucket, "shows")
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"small clip")
    meta = {"episode": "s01e07-idem", "clip": "c01", "platform": "tiktok,x"}
    store.put_file("ep/clips/c01/1080x1920.mp4", src, metadata=meta)
    store.put_bytes("ep/clips/c01/metadata.json", b"{}", "application/json", {"episode": "s01e07-idem", "clip": "c01"})
    store.put_bytes("ep/manifest.json", b"{}", "application/json")
    client = s3_env.client()

    def tags(key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}

    assert tags("shows/ep/clips/c01/1080x1920.mp4") == {"episode": "s01e07-idem", "clip": "c01", "platform": "tiktok x"}
    assert tags("shows/ep/clips/c01/metadata.json") == {"episode": "s01e07-idem", "clip": "c01"}
    assert tags("shows/ep/manifest.json") == {}
    # Metadata keeps the exact values beside the tags.
    head = client.head_object(Bucket=bucket, Key="shows/ep/clips/c01/1080x1920.mp4")
    assert head["Metadata"]["platform"] == "tiktok,x"
    modified = store.last_modified("ep/manifest.json")
    assert modified is not None and modified.tzinfo is not None
    assert abs((datetime.now(UTC) - modified).total_seconds()) < 300
    assert store.last_modified("ep/none.json") is None


def test_local_last_modified(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("a/b.json", b"{}", "application/json")
    old = datetime(2020, 1, 2, tzinfo=UTC)
    os.utime(tmp_path / "a" / "b.json", (old.timestamp(), old.timestamp()))
    assert store.last_modified("a/b.json") == old
    assert store.last_modified("a/none.json") is None
