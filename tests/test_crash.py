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
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from typer.testing import CliRunner

from faultproxy import FaultProxy, Seen
from media_fixtures import SHARED_MEDIA, espeak_episode, ffmpeg, have_shared
from pipeline_helpers import check_objects, write_series
from s3server import S3Server
from touktouk.cli import app
from touktouk.orchestration.serve import api_url, free_port, prefect_env, start_server, stop
from touktouk.store.gc import format_age, parse_age, split_by_age

BUCKET = "crash-safety"
STORE = f"s3://{BUCKET}/shows"
PREFIX = "touktouk/s01/e07-crash-test"
MANIFEST = f"shows/{PREFIX}/manifest.json"
CLIP = f"{PREFIX}/clips/c01/1080x1920.mp4"
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


# --- a proxy that can hold one request while the test kills the client ---------------------


class HoldingProxy(FaultProxy):
    """The counting proxy, plus `hold`: once the server has stored the first PUT whose path ends
    with `suffix`, its answer waits until `release`. The test kills the publish meanwhile, so the
    object is complete in the store but the publish never learnt it."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self._suffix: str | None = None
        self.reached = threading.Event()
        self._released = threading.Event()

    def hold(self, suffix: str) -> None:
        self._suffix = suffix
        self.reached.clear()
        self._released.clear()

    def release(self) -> None:
        self._suffix = None
        self._released.set()

    def _record(self, seen: Seen) -> None:
        super()._record(seen)
        suffix = self._suffix
        if suffix and seen.forwarded and seen.method == "PUT" and seen.path.endswith(suffix):
            self.reached.set()
            self._released.wait(120)


# --- the `touktouk publish` process ----------------------------------------------------------


class Publish:
    """`touktouk publish` in its own process group, its output collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "touktouk.cli", "publish", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # the group holds ffmpeg children too
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def kill_when(self, reached: Callable[[], bool], what: str, timeout: float = 300) -> None:
        """SIGKILL the whole process group as soon as `reached()` is true."""
        deadline = time.monotonic() + timeout
        while not reached():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"publish ended (exit {self.proc.returncode}) before {what}:\n{self.output[-4000:]}"
                )
            if time.monotonic() > deadline:
                os.killpg(self.proc.pid, signal.SIGKILL)
                raise AssertionError(f"no {what} within {timeout:.0f} s:\n{self.output[-4000:]}")
            time.sleep(0.02)
        os.killpg(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(30) == -signal.SIGKILL
        self._reader.join(10)

    def wait_ok(self, timeout: float = 300) -> str:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(f"publish still running after {timeout:.0f} s:\n{self.output[-4000:]}") from None
        self._reader.join(10)
        assert code == 0, self.output[-4000:]
        return self.output

    def rendering(self) -> bool:
        """True while an ffmpeg child is writing the clip's 1080x1920 file."""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return False
        for child in children:
            try:
                cmd = child.cmdline()
            except psutil.Error:
                continue
            if cmd and Path(cmd[0]).name == "ffmpeg" and any(a.endswith("1080x1920.mp4") for a in cmd):
                return True
        return False


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `prefect server` for the module, so each publish starts its flow at once."""
    tmp = tmp_path_factory.mktemp("crash-prefect")
    port = free_port()
    api = api_url("127.0.0.1", port)
    env = prefect_env(api, PREFECT_HOME=str(tmp / "home"))
    proc = start_server("127.0.0.1", port, env, log=tmp / "server.log")
    try:
        yield api
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 10 s of French speech over a small test picture (a FLEURS clip, or espeak-ng)."""
    folder = tmp_path_factory.mktemp("crash-footage")
    if not have_shared("fleurs-fr-003.ogg"):
        return espeak_episode(folder / "episode.mp4").path
    out = folder / "episode.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-i", str(SHARED_MEDIA / "fleurs-fr-003.ogg"), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", str(out),
    )  # fmt: skip
    return out


@pytest.fixture
def proxy(s3_env: S3Server) -> Iterator[HoldingProxy]:
    with HoldingProxy(s3_env.endpoint_url) as p:
        try:
            yield p
        finally:
            p.release()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the crash test ----------------------------------------------------------------------------


@pytest.mark.slow
def test_publish_killed_at_any_point_then_rerun_completes_without_duplicates(
    tmp_path: Path,
    footage: Path,
    prefect_api: str,
    s3_env: S3Server,
    proxy: HoldingProxy,
) -> None:
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

    # 1. Killed while Whisper transcribes: nothing stored, no transcript cached half-way.
    run = publish()
    run.kill_when(lambda: run.saw("Transcribing:"), "transcription")
    assert not run.saw("Transcript:"), "the kill came after the transcription"
    assert puts() == {} and stored() == {}
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
    proxy.hold("/" + CLIP)
    run = publish()
    run.kill_when(proxy.reached.is_set, "the clip upload")
    proxy.release()
    assert CLIP in puts() and MANIFEST not in stored()
    assert_stored_objects_complete()
    orphans = sorted(k.removeprefix("shows/") for k in stored())
    assert CLIP in orphans and f"{PREFIX}/master/footage.mp4" in orphans

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
    assert proxy.writes()[-1].path.endswith("/manifest.json"), "the manifest is written last"
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
