"""Crash safety (issue 6, item 3): `touktouk publish` killed with SIGKILL, then run again.

Real subprocesses of the `touktouk` command against a `prefect server` started by this module,
publishing to SeaweedFS through the counting proxy of tests/faultproxy.py. Each run is killed at
a point observed from outside, never through a hook in the code: during transcription (its
progress line), during the clip render (an ffmpeg child writing the 1080x1920 file), and in the
middle of the uploads (the server has stored the clip, but the proxy holds its answer until the
process is dead). After every kill no manifest is published and what was stored is whole; the
run that completes publishes a manifest whose every object exists with its SHA-256, and no
object is ever sent twice. `touktouk gc` lists what an interrupted run left and keeps it while
young. (A kill while a re-publish writes its manifest leaves the previous one: the manifest is
one PUT; see tests/test_idempotent.py for a publish failing there.)

The pure gc age helpers are tested here too.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crash_helpers import HoldingProxy, Publish, short_speech
from pipeline_helpers import check_objects, write_series
from s3server import S3Server
from touktouk.cli import app
from touktouk.store.gc import format_age, parse_age, split_by_age

BUCKET = "crash-safety"
STORE = f"s3://{BUCKET}/shows"
PREFIX = "touktouk/s01/e07-crash-test"
MANIFEST = f"shows/{PREFIX}/manifest.json"
CLIP_FILE = "/1080x1920.mp4"  # the clip's 9:16 file, in its content-named folder
EPISODE = """
season = 1
number = 7
slug = "crash-test"
title = "Avant la coupure"

[[picks]]
start = 1
end = 4.5
title = "Bienvenue"
"""


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 10 s of French speech over a small test picture (a FLEURS clip, or espeak-ng)."""
    return short_speech(tmp_path_factory.mktemp("crash-footage"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the crash test ----------------------------------------------------------------------------


@pytest.mark.slow
def test_publish_killed_at_any_point_then_rerun_completes_without_duplicates(
    tmp_path: Path,
    footage: Path,
    prefect_api: str,
    s3_env: S3Server,
    holding_proxy: HoldingProxy,
) -> None:
    proxy = holding_proxy
    s3 = s3_env.client()
    s3.create_bucket(Bucket=BUCKET)
    series = write_series(tmp_path / "touktouk.toml", store=STORE, auto_clips=0, platforms=("youtube_shorts",))
    episode = tmp_path / "episode.toml"
    episode.write_text(EPISODE, encoding="utf-8")
    cache = tmp_path / "transcripts"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),  # the client's task result cache
        "TOUKTOUK_CACHE_DIR": str(cache),
        "TMPDIR": str(tmp_path),  # work folders a killed run cannot remove stay in the test's folder
        "AWS_ENDPOINT_URL": proxy.url,
    }
    args = [str(footage), "--episode", str(episode), "--config", str(series)]

    def publish() -> Publish:
        return Publish(args, env, tmp_path)

    def puts() -> collections.Counter[str]:
        return collections.Counter(r.path.removeprefix(f"/{BUCKET}/shows/") for r in proxy.writes())

    def stored() -> dict[str, bytes]:
        found = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in found}

    def assert_stored_objects_complete() -> None:
        """What a killed run left is whole: each object matches the SHA-256 it was stored with."""
        for key, data in stored().items():
            head = s3.head_object(Bucket=BUCKET, Key=key)
            assert head["Metadata"]["sha256"] == _sha256(data), key

    # 1. Killed while Whisper transcribes: no transcript cached half-way. The footage is stored
    # beside the transcription (and the YouTube master made from it), so those may be there, whole;
    # nothing else is.
    run = publish()
    run.kill_when(lambda: run.saw("Transcribing:"), "transcription")
    assert not run.saw("Transcript:"), "the kill came after the transcription"
    assert all(k.startswith(f"shows/{PREFIX}/master/") for k in stored()), sorted(stored())
    assert_stored_objects_complete()
    assert not list(cache.rglob("*.json")), "no transcript may be cached from a killed run"

    # 2. Killed while ffmpeg renders the clip: no manifest; what was stored is complete.
    run = publish()
    run.kill_when(run.rendering, "clip render")
    assert not run.saw("Rendered clip"), "the kill came after the render"
    assert run.saw("Transcript:") and not run.saw("from the cache"), "run 1 left no transcript to reuse"
    assert list(cache.rglob("*.json")), "the finished transcription is cached (where run 1 had nothing)"
    assert MANIFEST not in stored()
    assert_stored_objects_complete()

    # 3. Killed in the middle of the uploads: the clip reached the server, its answer never came back.
    proxy.hold(CLIP_FILE)
    run = publish()
    run.kill_when(proxy.reached.is_set, "the clip upload")
    proxy.release()
    (clip,) = [k for k in puts() if k.endswith(CLIP_FILE)]
    assert clip.startswith(f"{PREFIX}/clips/c00m01.0s/") and MANIFEST not in stored()
    assert_stored_objects_complete()
    orphans = sorted(k.removeprefix("shows/") for k in stored())
    assert clip in orphans and any(k.startswith(f"{PREFIX}/master/") and k.endswith("/footage.mp4") for k in orphans)

    # gc lists what the interrupted run left; young objects are kept even with --delete.
    runner = CliRunner()  # in-process, straight to the server (s3_env's AWS_ENDPOINT_URL)
    listed = runner.invoke(app, ["gc", STORE])
    assert listed.exit_code == 0, listed.output
    text = " ".join(listed.output.split())
    for key in orphans:
        assert f"unreferenced s3://{BUCKET}/shows/{key} (kept: written" in text, text
    assert f"Found {len(orphans)} unreferenced object(s)" in text and "0 older than 24h" in text
    kept = runner.invoke(app, ["gc", STORE, "--delete"])
    assert kept.exit_code == 0 and f"Deleted 0 unreferenced object(s) in {STORE}; {len(orphans)} younger" in " ".join(
        kept.output.split()
    )
    assert sorted(k.removeprefix("shows/") for k in stored()) == orphans, "a publish in progress keeps its objects"

    # 4. The re-run completes; nothing already complete is sent again.
    out = publish().wait_ok()
    assert "Transcribing:" not in out, "the transcript of run 2 is reused"
    published = json.loads(s3.get_object(Bucket=BUCKET, Key=MANIFEST)["Body"].read())
    check_objects(published, lambda key: s3.get_object(Bucket=BUCKET, Key=f"shows/{key}")["Body"].read())
    assert {o["key"] for o in published["objects"]} >= set(orphans)
    assert all(n == 1 for n in puts().values()), f"sent twice: {puts()}"
    names = [r.path.rsplit("/", 1)[-1] for r in proxy.writes()]
    after = names[len(names) - 1 - names[::-1].index("manifest.json") + 1 :]
    # The commit point, then only its pointers: the links, and the review page's signed copy.
    assert after[:1] == ["links.json"] and set(after) <= {"links.json", "review.html"}, names[-6:]
    assert runner.invoke(app, ["gc", STORE]).output.count("unreferenced s3://") == 0


# --- gc age guard --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "age"),
    [("24h", timedelta(hours=24)), ("30m", timedelta(minutes=30)), ("7d", timedelta(days=7)),
     ("90s", timedelta(seconds=90)), ("0", timedelta(0)), ("1.5", timedelta(hours=1.5)), (" 2 H ", timedelta(hours=2))],
)  # fmt: skip
def test_parse_age(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["", "h", "-1h", "1w", "24 hours", "1e3"])
def test_parse_age_refuses_what_is_not_an_age(text: str) -> None:
    with pytest.raises(ValueError, match="not an age"):
        parse_age(text)


def test_split_by_age_keeps_young_and_undated_objects() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    modified: dict[str, datetime | None] = {
        "a": now - timedelta(hours=25),
        "b": now - timedelta(hours=24),
        "c": now - timedelta(hours=23, minutes=59),
        "d": None,
        "e": now + timedelta(minutes=5),  # a clock ahead of ours: young
    }
    assert split_by_age(modified, timedelta(hours=24), now) == (["a", "b"], ["c", "d", "e"])
    assert split_by_age(modified, timedelta(0), now) == (["a", "b", "c"], ["d", "e"])


def test_format_age() -> None:
    assert [format_age(timedelta(seconds=s)) for s in (5, 300, 3 * 3600, 5 * 86400, -3)] == [
        "5 s",
        "5 min",
        "3 h",
        "5 d",
        "0 s",
    ]


def _interrupted_store(root: Path, age: timedelta) -> Any:
    """A folder store holding a finished episode and the leftovers of an interrupted one."""
    from touktouk.store.local import LocalStore

    store = LocalStore(root)
    done = "touktouk/s01/e01-fini"
    store.put_bytes(f"{done}/master/footage.mp4", b"master", "video/mp4")
    store.put_bytes(
        f"{done}/manifest.json",
        json.dumps({"objects": [{"key": f"{done}/master/footage.mp4"}]}).encode(),
        "application/json",
    )
    for key in ("touktouk/s01/e02-coupe/master/footage.mp4", "touktouk/s01/e02-coupe/clips/c01/1080x1920.mp4"):
        store.put_bytes(key, b"left by a killed run", "video/mp4")
        when = (datetime.now(UTC) - age).timestamp()
        os.utime(root / key, (when, when))
    return store


def test_gc_deletes_only_orphans_older_than_the_guard(tmp_path: Path) -> None:
    store = _interrupted_store(tmp_path, timedelta(hours=2))
    runner = CliRunner()
    young = runner.invoke(app, ["gc", str(tmp_path), "--delete"])
    assert young.exit_code == 0, young.output
    text = " ".join(young.output.split())
    assert "Deleted 0 unreferenced object(s)" in text and "2 younger than 24h kept" in text
    assert "(kept: written 2 h ago, younger than 24h; a publish may still be writing it)" in text
    assert len(store.list_keys()) == 4

    old = runner.invoke(app, ["gc", str(tmp_path), "--delete", "--older-than", "1h"])
    assert old.exit_code == 0, old.output
    assert "Deleted 2 unreferenced object(s)" in " ".join(old.output.split())
    assert store.list_keys() == ["touktouk/s01/e01-fini/manifest.json", "touktouk/s01/e01-fini/master/footage.mp4"]


def test_gc_refuses_a_bad_age(tmp_path: Path) -> None:
    _interrupted_store(tmp_path, timedelta(days=3))
    result = CliRunner().invoke(app, ["gc", str(tmp_path), "--delete", "--older-than", "a while"])
    assert result.exit_code == 2
    assert "--older-than 'a while' is not an age" in " ".join(result.output.split())
    assert len(list(tmp_path.rglob("footage.mp4"))) == 2
