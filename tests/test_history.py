"""Publishing state: immutable keys, the manifest replaced by one conditional write, the history
of replaced manifests, `touktouk history`, `touktouk rollback` and gc's history retention.

Against a folder store and SeaweedFS (real conditional PUTs: `If-Match` / `If-None-Match`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from s3server import S3Server
from touktouk.cli import app
from touktouk.cli.history import episode_folder
from touktouk.publish.pointer import commit_manifest, read_current
from touktouk.publish.rollback import choose_version
from touktouk.store.base import Store, StoreConflict, StoreError
from touktouk.store.gc import find_garbage
from touktouk.store.history import missing_objects, versions
from touktouk.store.local import LocalStore
from touktouk.store.url import open_store

PREFIX = "touktouk/s01/e03-histoire"
LOG = logging.getLogger("touktouk.test.history")


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    server: S3Server = request.getfixturevalue("s3_env")
    bucket = server.make_bucket(f"hist-{os.urandom(4).hex()}")
    return open_store(f"s3://{bucket}/shows")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the store contract ----------------------------------------------------------------------


def test_replace_is_conditional_on_what_the_writer_read(store: Store) -> None:
    key = f"{PREFIX}/manifest.json"
    first = store.replace(key, b'{"v": 1}', "application/json", None)
    assert first.uploaded and store.get_bytes(key) == b'{"v": 1}'
    # A second writer that also saw "no manifest" loses: the first one's manifest stays.
    with pytest.raises(StoreConflict, match=r"appeared while this run worked.*run again"):
        store.replace(key, b'{"v": 2}', "application/json", None)
    # A writer that read an older manifest loses too.
    with pytest.raises(StoreConflict, match="was replaced while this run worked"):
        store.replace(key, b'{"v": 3}', "application/json", _sha(b'{"v": 0}'))
    assert store.get_bytes(key) == b'{"v": 1}'
    second = store.replace(key, b'{"v": 2}', "application/json", _sha(b'{"v": 1}'))
    assert second.uploaded and store.get_bytes(key) == b'{"v": 2}'
    assert not store.replace(key, b'{"v": 2}', "application/json", _sha(b'{"v": 2}')).uploaded


def test_two_racing_writers_one_wins_the_other_is_told(store: Store) -> None:
    key = f"{PREFIX}/manifest.json"
    store.replace(key, b"base", "application/json", None)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def write(body: bytes) -> None:
        start.wait()
        try:
            store.replace(key, body, "application/json", _sha(b"base"))
            outcomes.append("won")
        except StoreConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=write, args=(b,)) for b in (b"left", b"right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["lost", "won"]
    assert store.get_bytes(key) in (b"left", b"right")


def test_an_immutable_key_is_never_overwritten(store: Store, tmp_path: Path) -> None:
    key = f"{PREFIX}/clips/c00m01.0s/0123456789abcdef/captions.srt"
    store.put_bytes(key, b"one", "application/x-subrip", immutable=True)
    again = store.put_bytes(key, b"one", "application/x-subrip", immutable=True)
    assert not again.uploaded
    with pytest.raises(StoreError, match=r"already holds other bytes.*delete that object and publish again"):
        store.put_bytes(key, b"two", "application/x-subrip", immutable=True)
    other = tmp_path / "other.srt"
    other.write_bytes(b"three")
    with pytest.raises(StoreError, match="already holds other bytes"):
        store.put_file(key, other, "application/x-subrip", immutable=True)
    assert store.get_bytes(key) == b"one"


# --- commit, history, rollback -----------------------------------------------------------------


def _manifest(store: Store, n: int, when: str) -> dict[str, Any]:
    """A manifest listing one object of its own (stored, immutable) and one shared by all."""
    objects = []
    for key, body in ((f"{PREFIX}/master/aaaa/footage.mp4", b"footage"), (f"{PREFIX}/clips/c/{n}/x.srt", b"v%d" % n)):
        obj = store.put_bytes(key, body, "application/octet-stream", immutable=True)
        objects.append({"key": obj.key, "bytes": obj.bytes, "sha256": obj.sha256, "content_type": obj.content_type})
    return {
        "schema": "touktouk.manifest/1",
        "generated_at": when,
        "episode": {"id": "s01e03-histoire"},
        "source": {"key": objects[0]["key"]},
        "clips": [{"id": f"c{i}"} for i in range(n)],
        "objects": objects,
    }


def _commit(store: Store, data: dict[str, Any]) -> None:
    commit_manifest(store, PREFIX, data, read_current(store, PREFIX), tags={"episode": "s01e03-histoire"}, logger=LOG)


def test_history_keeps_every_replaced_manifest_and_rollback_restores_verified(store: Store) -> None:
    _commit(store, _manifest(store, 1, "2026-12-01T10:00:00+00:00"))
    _commit(store, _manifest(store, 2, "2026-12-01T11:00:00+00:00"))
    unchanged = _manifest(store, 2, "2026-12-01T12:00:00+00:00")  # same content, later date
    _commit(store, unchanged)
    found = versions(store, PREFIX)
    assert [(v.generated_at, v.clips, v.current) for v in found] == [
        ("2026-12-01T11:00:00+00:00", 2, True),  # the unchanged re-run kept the manifest and its date
        ("2026-12-01T10:00:00+00:00", 1, False),
    ]
    assert found[1].key.startswith(f"{PREFIX}/history/20261201T100000Z-")
    links = json.loads(store.get_bytes(f"{PREFIX}/links.json"))
    assert set(links["links"]) == {o["key"] for o in unchanged["objects"]} | {f"{PREFIX}/manifest.json"}

    runner = CliRunner()
    listed = runner.invoke(app, ["history", "s01e03-histoire", "--store", store.url])
    assert listed.exit_code == 0, listed.output
    text = " ".join(listed.output.split())
    assert "current 2026-12-01T11:00:00+00:00 2 clip(s) 2 object(s) footage aaaa/footage.mp4" in text
    assert "2026-12-01T10:00:00+00:00 1 clip(s)" in text and "2 manifest(s) of" in text

    rolled = runner.invoke(app, ["rollback", "s01e03-histoire", "--store", store.url])
    assert rolled.exit_code == 0, rolled.output
    assert "the manifest made at 2026-12-01T10:00:00+00:00 is current again (1 clip(s), 2 object(s) verified)" in (
        " ".join(rolled.output.split())
    )
    current = json.loads(store.get_bytes(f"{PREFIX}/manifest.json"))
    assert current["generated_at"] == "2026-12-01T10:00:00+00:00" and len(current["clips"]) == 1
    links = json.loads(store.get_bytes(f"{PREFIX}/links.json"))
    assert set(links["links"]) == {o["key"] for o in current["objects"]} | {f"{PREFIX}/manifest.json"}
    # The manifest it replaced is in the history: rolling forward again by name works.
    forward = runner.invoke(
        app, ["rollback", "s01e03-histoire", "--store", store.url, "--to", "2026-12-01T11:00:00+00:00"]
    )
    assert forward.exit_code == 0, forward.output
    assert len(json.loads(store.get_bytes(f"{PREFIX}/manifest.json"))["clips"]) == 2


def test_rollback_refuses_when_an_object_is_gone_and_changes_nothing(store: Store) -> None:
    old = _manifest(store, 1, "2026-12-01T10:00:00+00:00")
    _commit(store, old)
    _commit(store, _manifest(store, 2, "2026-12-01T11:00:00+00:00"))
    store.delete(old["objects"][1]["key"])  # a hand deletion or an old gc
    before = store.get_bytes(f"{PREFIX}/manifest.json")
    result = CliRunner().invoke(app, ["rollback", "s01e03-histoire", "--store", store.url])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "cannot roll back to 2026-12-01T10:00:00+00:00:" in text and "x.srt is missing" in text
    assert "nothing was changed" in text
    assert store.get_bytes(f"{PREFIX}/manifest.json") == before
    assert missing_objects(store, old) and not missing_objects(store, json.loads(before))


def test_rollback_and_history_explain_bad_requests(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    runner = CliRunner()
    nothing = runner.invoke(app, ["history", "s01e09-absent", "--store", str(tmp_path)])
    assert nothing.exit_code == 2 and "holds no published episode s01e09-absent" in " ".join(nothing.output.split())
    _commit(store, _manifest(store, 1, "2026-12-01T10:00:00+00:00"))
    only = runner.invoke(app, ["rollback", "s01e03-histoire", "--store", str(tmp_path)])
    assert only.exit_code == 2 and "no earlier manifest to roll back to" in " ".join(only.output.split())
    wrong = runner.invoke(app, ["rollback", "s01e03-histoire", "--store", str(tmp_path), "--to", "hier"])
    assert wrong.exit_code == 2 and "has no manifest made at hier; choose one of: 2026-12-01T10:00:00+00:00" in (
        " ".join(wrong.output.split())
    )


def test_episode_folder_is_found_by_id_or_folder() -> None:
    keys = ["a/s01/e03-x/manifest.json", "b/s01/e03-x/history/1.json", "a/s01/e04-y/manifest.json", "z.txt"]
    assert episode_folder("a/s01/e04-y", keys, "here") == "a/s01/e04-y"
    assert episode_folder("s01e04-y", keys, "here") == "a/s01/e04-y"
    with pytest.raises(ValueError, match="in several series"):
        episode_folder("s01e03-x", keys, "here")
    with pytest.raises(ValueError, match="not an episode id"):
        episode_folder("../etc", keys, "here")


def test_choose_version_defaults_to_the_one_before_the_current() -> None:
    from touktouk.store.history import Version

    def v(when: str, current: bool = False) -> Version:
        return Version(f"k/{when}", when, when, 1, "", 1, current)

    found = [v("3"), v("2", current=True), v("1")]  # after a rollback the newest is not current
    assert choose_version(found, None, "here").generated_at == "1"
    assert choose_version(found, "3", "here").generated_at == "3"


# --- gc keeps the history for its retention -------------------------------------------------------


def test_gc_keeps_what_recent_history_lists_and_drops_old_history(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    old = _manifest(store, 1, "2026-10-01T10:00:00+00:00")
    _commit(store, old)
    _commit(store, _manifest(store, 2, "2026-12-01T11:00:00+00:00"))
    only_old = old["objects"][1]["key"]
    (entry,) = store.list_keys(f"{PREFIX}/history/")
    now = datetime.now(UTC)
    assert find_garbage(store, now=now) == [], "the replaced manifest is young: rollback must still work"
    # 40 days later the history entry is past the 30-day retention: it and what only it lists go.
    later = now + timedelta(days=40)
    assert find_garbage(store, now=later) == sorted([entry, only_old])
    assert find_garbage(store, now=later, retention=timedelta(days=60)) == []
    aged = (now - timedelta(days=40)).timestamp()
    for key in (entry, only_old):
        os.utime(tmp_path / key, (aged, aged))
    result = CliRunner().invoke(app, ["gc", str(tmp_path), "--delete", "--keep-history", "30d"])
    assert result.exit_code == 0, result.output
    assert "Deleted 2 unreferenced object(s)" in " ".join(result.output.split())
    assert not store.exists(entry) and not store.exists(only_old)
    assert store.exists(f"{PREFIX}/manifest.json") and store.exists(old["objects"][0]["key"])
