"""Idempotent publish: unchanged re-runs send nothing, links.json, object metadata, secrets, gc.

Most tests drive the path the flow takes, with small synthetic files: `pipeline.master.store_footage`
(the store-footage task), `pipeline.clips.store_rendered_clip` (the end of each render task), then
`publish.publish_outputs` (the publish task) with the stored clips. Requests are counted at the
server by tests/faultproxy.py in front of SeaweedFS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from faultproxy import FaultProxy
from s3server import S3Server
from touktouk.cli import app
from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.pipeline.clips import store_rendered_clip
from touktouk.pipeline.fingerprints import clip_inputs, hash_parts
from touktouk.pipeline.job import RenderJob
from touktouk.pipeline.master import store_footage
from touktouk.publish.commit import Inputs, RenderedClip, publish_outputs
from touktouk.publish.manifest import build_links, keep_generated_at, links_still_good, to_json
from touktouk.render.encode import OutputSpec
from touktouk.render.probe import MediaInfo
from touktouk.store.base import MEDIA_CACHE_CONTROL, StoreError
from touktouk.store.gc import find_garbage, unreferenced_keys
from touktouk.store.keys import episode_prefix
from touktouk.store.local import LocalStore
from touktouk.store.url import open_store
from touktouk.types import ClipPlan, Transcript

PREFIX = "touktouk/s01/e07-idem"
LOG = logging.getLogger("touktouk.test.publish")


def _render(path: Path, crf: int) -> Path:
    """A 1 s 1080x1920 H.264/AAC file (content differs with crf, like a re-render elsewhere)."""
    args = "-f lavfi -i testsrc2=s=1080x1920:r=10:d=1 -f lavfi -i sine=d=1 -shortest -c:v libx264 -preset ultrafast"
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", *args.split(), "-crf", str(crf), "-c:a", "aac", str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    _render(folder / "render-a.mp4", 30)
    _render(folder / "render-b.mp4", 40)
    (folder / "footage.mp4").write_bytes((folder / "render-a.mp4").read_bytes() + b"master")
    for fmt, text in {"json": '{"segments": []}', "srt": "1\n00:00:00,000 --> 00:00:01,000\nBonjour.\n"}.items():
        (folder / f"transcript.{fmt}").write_text(text, encoding="utf-8")
    (folder / "transcript.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nBonjour.\n", encoding="utf-8")
    for fmt in ("srt", "vtt", "ass"):
        (folder / f"captions.{fmt}").write_text(f"captions {fmt}\n", encoding="utf-8")
    return folder


def _job(media: Path, store_url: str, *, render: str = "render-a.mp4", title: str = "Idempotence") -> dict[str, Any]:
    """Arguments of publish_outputs for a one-clip episode."""
    series = SeriesConfig(store=store_url)
    episode = EpisodeConfig(number=7, slug="idem", title=title, guest="Camille Martin")
    footage = media / "footage.mp4"
    info = MediaInfo(str(footage), "mov,mp4,m4a,3gp,3g2,mj2", 1.0, True, 1080, 1920, 10.0, False, 1, "aac", 0)
    clip = RenderedClip(
        plan=ClipPlan("c01", 0.0, 1.0, "Bonjour.", title="Bonjour", source="pick"),
        videos=[(["tiktok", "instagram_reels"], OutputSpec(media / render, 1080, 1920))],
        caption_files={fmt: media / f"captions.{fmt}" for fmt in ("srt", "vtt", "ass")},
        metadata={"tiktok": {"title": title, "text": f"{title} #ESS"}},
    )
    return {
        "inputs": Inputs(footage, series, episode, "", store_url),
        "info": info,
        "transcript": Transcript("fr", 1.0, (), "base", "test"),
        "transcript_files": {fmt: media / f"transcript.{fmt}" for fmt in ("json", "srt", "vtt")},
        "clips": [clip],
        "episode_metadata": {"youtube": {"title": title}},
    }


def _publish(job: dict[str, Any]) -> str:
    """What the flow does after rendering: store the footage, store each clip's files from its
    render task, then the publish task with those stored clips."""
    inputs: Inputs = job["inputs"]
    master = store_footage(inputs, LOG)
    render_job = RenderJob(
        store_url=inputs.store_url,
        endpoint_url=None,
        prefix=episode_prefix(inputs.series, inputs.episode),
        episode_id=inputs.episode.episode_id,
        master=master,
        footage_hint=str(inputs.footage),
        info=job["info"],
        transcript=job["transcript"],
        series=inputs.series,
    )
    store = open_store(inputs.store_url)
    clips = []
    for rendered in job["clips"]:
        inputs_sha = hash_parts(clip_inputs(rendered.plan, render_job))
        stored = store_rendered_clip(store, render_job, rendered, LOG, inputs_sha)
        stored.metadata = dict(rendered.metadata)  # the describe task fills it in the flow
        clips.append(stored)
    return publish_outputs(
        inputs, job["info"], job["transcript"], job["transcript_files"], clips, job["episode_metadata"],
        logger=LOG, master=master,
    )  # fmt: skip


def _manifest_of(read: Any, key: str = f"{PREFIX}/manifest.json") -> dict[str, Any]:
    return json.loads(read(key))


def _clip_key(manifest: dict[str, Any], name: str) -> str:
    """The key of a clip file ("1080x1920.mp4", "captions.srt", "metadata.json") in a manifest."""
    return next(o["key"] for o in manifest["objects"] if o["key"].endswith(f"/{name}") and "/clips/" in o["key"])


@pytest.fixture
def proxy(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with FaultProxy(s3_env.endpoint_url) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL", p.url)
        yield p


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    return s3_env.make_bucket("tt-" + secrets.token_hex(6))


def _written_keys(proxy: FaultProxy, bucket: str) -> list[str]:
    return sorted(r.path.removeprefix(f"/{bucket}/") for r in proxy.writes())


# --- local store ---------------------------------------------------------------------------


def test_local_rerun_rewrites_nothing(media_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = tmp_path / "store"
    location = Path(_publish(_job(media_dir, str(store))))
    files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file()}
    first = location.read_bytes()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOG.name):
        assert Path(_publish(_job(media_dir, str(store)))) == location
    assert location.read_bytes() == first
    # Not one file replaced (same inode, same mtime): nothing was written.
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file()} == files
    assert "0 sent (0 bytes), manifest unchanged" in caplog.text
    links = json.loads((store / PREFIX / "links.json").read_bytes())
    data = json.loads(first)
    assert set(links["links"]) == {o["key"] for o in data["objects"]} | {f"{PREFIX}/manifest.json"}
    assert links["expires_at"] is None
    for key, url in links["links"].items():
        assert url == (store / key).as_uri()


def test_a_different_render_goes_to_a_new_folder_and_the_old_one_stays(media_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _publish(_job(media_dir, str(store)))
    before = _manifest_of(lambda k: (store / k).read_bytes())
    old_key = _clip_key(before, "1080x1920.mp4")
    old_files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file()}
    _publish(_job(media_dir, str(store), render="render-b.mp4"))
    after = _manifest_of(lambda k: (store / k).read_bytes())
    new_key = _clip_key(after, "1080x1920.mp4")
    assert new_key != old_key and new_key.rsplit("/", 2)[0] == old_key.rsplit("/", 2)[0] == f"{PREFIX}/clips/c01"
    assert (store / new_key).read_bytes() == (media_dir / "render-b.mp4").read_bytes()
    # Every file the old manifest listed is still there, untouched (same inode and mtime).
    for obj in before["objects"]:
        path = store / obj["key"]
        assert old_files[path] == (path.stat().st_ino, path.stat().st_mtime_ns), obj["key"]
    # The old manifest went to the history, byte for byte.
    (kept,) = (store / PREFIX / "history").iterdir()
    assert json.loads(kept.read_bytes()) == before
    # Only the clip's folder changed: its files move together (captions included), the rest stays.
    changed = {o["key"] for o in after["objects"]} - {o["key"] for o in before["objects"]}
    assert {k for k in changed if "/review/" not in k} == {
        k.replace(old_key.rsplit("/", 1)[0], new_key.rsplit("/", 1)[0])
        for k in {o["key"] for o in before["objects"]}
        if k.startswith(old_key.rsplit("/", 1)[0] + "/")
    }


def test_local_stat_computes_sha256_on_demand(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    obj = store.put_bytes("a/manifest.json", b"{}", "application/json", {"episode": "x"})
    info = store.stat("a/manifest.json")
    assert info is not None and (info.sha256, info.bytes, info.cache_control) == (obj.sha256, 2, "no-cache")
    assert store.stat("a/none.json") is None
    again = store.put_bytes("a/manifest.json", b"{}", "application/json")
    assert not again.uploaded and again == obj
    store.delete("a/manifest.json")
    assert not (tmp_path / "a").exists(), "emptied folders go too"
    with pytest.raises(ValueError, match="printable ASCII"):
        store.put_bytes("b.json", b"{}", "application/json", {"episode": "épisode"})


# --- S3: requests counted at the server ----------------------------------------------------


def test_s3_rerun_sends_nothing(media_dir: Path, proxy: FaultProxy, bucket: str, s3_env: S3Server) -> None:
    url = f"s3://{bucket}/shows"
    location = _publish(_job(media_dir, url))
    assert location == f"s3://{bucket}/shows/{PREFIX}/manifest.json"
    first = _written_keys(proxy, bucket)
    assert {f"shows/{PREFIX}/manifest.json", f"shows/{PREFIX}/links.json"} <= set(first)
    paths = [r.path for r in proxy.writes()]
    # Every object first, then the manifest (the commit point), then links.json derived from it.
    assert paths[-2].endswith("/manifest.json") and paths[-1].endswith("/links.json"), paths[-3:]
    client = s3_env.client()
    manifest_bytes = client.get_object(Bucket=bucket, Key=f"shows/{PREFIX}/manifest.json")["Body"].read()
    links_bytes = client.get_object(Bucket=bucket, Key=f"shows/{PREFIX}/links.json")["Body"].read()

    proxy.reset()
    _publish(_job(media_dir, url))
    assert proxy.writes() == [] and proxy.uploaded_bytes() == 0
    assert client.get_object(Bucket=bucket, Key=f"shows/{PREFIX}/manifest.json")["Body"].read() == manifest_bytes
    assert client.get_object(Bucket=bucket, Key=f"shows/{PREFIX}/links.json")["Body"].read() == links_bytes

    # A re-render with other bytes (another machine's x264 threads) goes under new keys: no key
    # the live manifest lists is written, and the old manifest is kept in the history.
    live = {f"shows/{o['key']}" for o in json.loads(manifest_bytes)["objects"]}
    proxy.reset()
    _publish(_job(media_dir, url, render="render-b.mp4"))
    written = set(_written_keys(proxy, bucket))
    assert not written & live, written & live
    assert any(k.startswith(f"shows/{PREFIX}/history/") for k in written)
    assert any(k.endswith("/1080x1920.mp4") for k in written)


def test_s3_changed_field_resends_only_what_depends_on_it(media_dir: Path, proxy: FaultProxy, bucket: str) -> None:
    url = f"s3://{bucket}"
    _publish(_job(media_dir, url))
    proxy.reset()
    _publish(_job(media_dir, url, title="Un autre titre"))
    # The review page shows the titles, so it changes with them; nothing else is sent again but
    # the old manifest into the history, the manifest, then links.json for the new keys.
    written = [r.path.removeprefix(f"/{bucket}/") for r in proxy.writes()]
    assert [k.split("/")[3] if k.count("/") > 3 else k.rsplit("/", 1)[-1] for k in written] == [
        "clips", "review", "history", "manifest.json", "links.json",
    ]  # fmt: skip
    assert written[0].startswith(f"{PREFIX}/clips/c01/") and written[0].endswith("/metadata.json")


def test_s3_object_metadata_and_cache_control(media_dir: Path, s3_env: S3Server, bucket: str) -> None:
    _publish(_job(media_dir, f"s3://{bucket}"))
    client = s3_env.client()
    manifest = _manifest_of(lambda k: client.get_object(Bucket=bucket, Key=k)["Body"].read())
    clip = client.head_object(Bucket=bucket, Key=_clip_key(manifest, "1080x1920.mp4"))
    meta = clip["Metadata"]
    assert meta["sha256"] == hashlib.sha256((media_dir / "render-a.mp4").read_bytes()).hexdigest()
    assert (meta["episode"], meta["clip"], meta["platform"]) == ("s01e07-idem", "c01", "tiktok,instagram_reels")
    assert len(meta["inputs-sha256"]) == 64
    assert clip["ContentType"] == "video/mp4" and clip["CacheControl"] == MEDIA_CACHE_CONTROL
    assert MEDIA_CACHE_CONTROL == "public, max-age=31536000, immutable"
    master = client.head_object(Bucket=bucket, Key=manifest["source"]["key"])
    assert master["Metadata"]["episode"] == "s01e07-idem" and "clip" not in master["Metadata"]
    for name in ("manifest.json", "links.json"):
        head = client.head_object(Bucket=bucket, Key=f"{PREFIX}/{name}")
        assert head["CacheControl"] == "no-cache" and head["ContentType"] == "application/json"
    store = open_store(f"s3://{bucket}")
    info = store.stat(_clip_key(manifest, "metadata.json"))
    assert info is not None and info.metadata["platform"] == "tiktok" and info.sha256 == info.metadata["sha256"]


def test_s3_links_are_presigned_and_objects_private(
    media_dir: Path, s3_env: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOUKTOUK_LINKS_EXPIRY", "3600")
    _publish(_job(media_dir, f"s3://{bucket}"))
    client = s3_env.client()
    links = json.loads(client.get_object(Bucket=bucket, Key=f"{PREFIX}/links.json")["Body"].read())
    expires = datetime.fromisoformat(links["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=58) < expires <= timedelta(hours=1)
    manifest = _manifest_of(lambda k: client.get_object(Bucket=bucket, Key=k)["Body"].read())
    url = links["links"][manifest["transcript"]["srt"]]
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["3600"]
    assert s3_env.secret_key not in json.dumps(links)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == (media_dir / "transcript.srt").read_bytes()
    bare = url.split("?", 1)[0]
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bare, timeout=10)
    assert info.value.code == 403, "objects are private: an unsigned GET is refused"


def test_s3_links_expiry_out_of_range_is_a_clear_error(
    media_dir: Path, bucket: str, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOUKTOUK_LINKS_EXPIRY", "30d")
    with pytest.raises(Exception, match="TOUKTOUK_LINKS_EXPIRY='30d' is not a number of seconds"):
        _publish(_job(media_dir, f"s3://{bucket}"))


def test_secret_never_in_objects_metadata_or_logs(
    media_dir: Path, s3_env: S3Server, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = s3_env.secret_key  # random per server, so any occurrence is a leak
    with caplog.at_level(logging.DEBUG):
        _publish(_job(media_dir, f"s3://{bucket}"))
    client = s3_env.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) >= 10
    for key in keys:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        head = client.head_object(Bucket=bucket, Key=key)
        assert secret.encode() not in body, key
        assert secret not in json.dumps(head["Metadata"]), key
    assert caplog.records and secret not in caplog.text


def test_permanent_failure_keeps_previous_manifest(
    media_dir: Path, proxy: FaultProxy, bucket: str, s3_env: S3Server
) -> None:
    url = f"s3://{bucket}"
    _publish(_job(media_dir, url))
    key = f"{PREFIX}/manifest.json"
    before = s3_env.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    proxy.inject("503", method="PUT", times=-1)
    with pytest.raises(StoreError, match=r"metadata\.json.*503 SlowDown.*after retries"):
        _publish(_job(media_dir, url, title="Un autre titre"))
    assert s3_env.client().get_object(Bucket=bucket, Key=key)["Body"].read() == before
    proxy.reset()
    # Resumable: the re-run completes and sends only what changed.
    _publish(_job(media_dir, url, title="Un autre titre"))
    written = _written_keys(proxy, bucket)
    assert len(written) == 5 and {key, f"{PREFIX}/links.json"} <= set(written)
    assert {k.split("/")[3] for k in written if k.count("/") > 3} == {"clips", "history", "review"}


# --- pure helpers --------------------------------------------------------------------------


def test_keep_generated_at() -> None:
    old = to_json({"schema": "s", "generated_at": "2020-01-01T00:00:00+00:00", "objects": [1]})
    same = keep_generated_at({"schema": "s", "generated_at": "2030-01-01T00:00:00+00:00", "objects": [1]}, old)
    assert to_json(same) == old
    changed = keep_generated_at({"schema": "s", "generated_at": "2030", "objects": [2]}, old)
    assert changed["generated_at"] == "2030"
    assert keep_generated_at({"generated_at": "x"}, b"not json")["generated_at"] == "x"
    assert keep_generated_at({"generated_at": "x"}, None)["generated_at"] == "x"


def test_links_still_good() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    week = 7 * 24 * 3600
    links = to_json(build_links("m.json", {"a": "u", "m.json": "v"}, week, now))
    assert links_still_good(links, ["a", "m.json"], week, now)
    assert links_still_good(links, ["a", "m.json"], week, now + timedelta(days=3))
    assert not links_still_good(links, ["a", "m.json"], week, now + timedelta(days=4)), "half life used"
    assert not links_still_good(links, ["a", "b", "m.json"], week, now), "a new key"
    assert not links_still_good(None, ["a"], week, now)
    assert not links_still_good(b"{", ["a"], week, now)


def test_unreferenced_keys_is_pure() -> None:
    ep = "touktouk/s01/e07-idem"
    keys = [
        f"{ep}/manifest.json",
        f"{ep}/links.json",
        f"{ep}/master/footage.mp4",
        f"{ep}/clips/c02/1080x1920.mp4",  # left by an older publish
        "touktouk/s01/e08-crashed/master/footage.mp4",  # first publish never finished
        "season-one/touktouk/s02/e01-deep/clips/c01/720x1280.mp4",
        "notes/readme.txt",  # not an episode folder: never touched
        "touktouk/s01/readme.txt",
    ]
    manifests = {f"{ep}/manifest.json": {"objects": [{"key": f"{ep}/master/footage.mp4"}]}}
    assert unreferenced_keys(keys, manifests) == [
        "season-one/touktouk/s02/e01-deep/clips/c01/720x1280.mp4",
        f"{ep}/clips/c02/1080x1920.mp4",
        "touktouk/s01/e08-crashed/master/footage.mp4",
    ]
    assert unreferenced_keys([], {}) == []


def test_gc_command_lists_then_deletes(media_dir: Path, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    _publish(_job(media_dir, str(store_dir)))
    store = LocalStore(store_dir)
    store.put_bytes(f"{PREFIX}/clips/c09/1080x1920.mp4", b"old clip", "video/mp4")
    store.put_bytes("elsewhere/keep.txt", b"not ours", "text/plain")
    published = set(store.list_keys()) - {f"{PREFIX}/clips/c09/1080x1920.mp4"}
    runner = CliRunner()

    listed = runner.invoke(app, ["gc", str(store_dir)])
    assert listed.exit_code == 0, listed.output
    assert "clips/c09/1080x1920.mp4" in listed.output and "Found 1 unreferenced" in listed.output
    assert store.exists(f"{PREFIX}/clips/c09/1080x1920.mp4")

    deleted = runner.invoke(app, ["gc", str(store_dir), "--delete", "--older-than", "0"])
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted 1 unreferenced" in deleted.output
    assert set(store.list_keys()) == published
    assert runner.invoke(app, ["gc", str(store_dir)]).output.count("unreferenced") == 1  # "Found 0 …"


def test_gc_refuses_a_broken_manifest(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes(f"{PREFIX}/manifest.json", b"{not json", "application/json")
    store.put_bytes(f"{PREFIX}/master/footage.mp4", b"x", "video/mp4")
    result = CliRunner().invoke(app, ["gc", str(tmp_path), "--delete"])
    assert result.exit_code == 2
    assert "not a valid ToukTouk manifest" in result.output
    assert store.exists(f"{PREFIX}/master/footage.mp4")


def test_s3_gc_deletes(media_dir: Path, s3_env: S3Server, bucket: str) -> None:
    _publish(_job(media_dir, f"s3://{bucket}/p"))
    store = open_store(f"s3://{bucket}/p")
    store.put_bytes(f"{PREFIX}/clips/c09/captions.srt", b"old", "application/x-subrip")
    now = datetime.now(UTC)
    assert find_garbage(store, now=now) == [f"{PREFIX}/clips/c09/captions.srt"]
    store.delete(f"{PREFIX}/clips/c09/captions.srt")
    store.delete(f"{PREFIX}/clips/c09/never-existed.srt")  # not an error
    assert find_garbage(store, now=now) == []
