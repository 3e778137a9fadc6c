"""A re-publish with changes (one more pick, a new caption setting) into a folder store, killed
with SIGKILL at several points: during transcription, during a clip render, during the uploads
and right before the manifest is replaced. After each kill the live manifest is still the
previous one and every object it lists still matches its checksum; the run that completes
publishes the same manifest as a fresh publish of the same inputs into an empty store.

Real `touktouk publish` processes against one `prefect server` for the module; the kill points
are observed from outside (output lines, ffmpeg children), never through a hook in the code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crash_helpers import (
    REPUBLISH_PREFIX,
    Republish,
    check_live,
    without_date,
)

pytestmark = pytest.mark.slow


def test_republish_killed_anywhere_keeps_the_live_manifest_true(tmp_path: Path, prefect_api: str) -> None:
    store = tmp_path / "store"
    scenario = Republish(tmp_path, prefect_api, str(store))

    def read(key: str, root: Path = store) -> bytes | None:
        path = root / key
        return path.read_bytes() if path.is_file() else None

    scenario.publish().wait_ok()
    first = read(f"{REPUBLISH_PREFIX}/manifest.json")
    assert first is not None and len(json.loads(first)["clips"]) == 1
    check_live(read, first)
    scenario.change()

    scenario.kill_while_transcribing_then_rendering(lambda: check_live(read, first))

    run = scenario.publish()
    run.kill_when(lambda: run.saw(f"Stored {REPUBLISH_PREFIX}/clips/"), "the clip uploads")
    check_live(read, first)

    # The last line before the manifest is replaced; the kill lands just before or just after
    # the replace, and either way the live manifest is whole.
    run = scenario.publish()
    run.kill_when(lambda: run.saw("Kept the replaced manifest"), "the manifest write")
    live = check_live(read)
    assert len(live["clips"]) in (1, 2)

    scenario.publish().wait_ok()
    final = check_live(read)
    assert len(final["clips"]) == 2
    # The first manifest is in the history, its objects all still there: a rollback could restore it.
    history = sorted((store / REPUBLISH_PREFIX / "history").iterdir())
    assert first in [p.read_bytes() for p in history]

    # A fresh publish of the same inputs into an empty store publishes the same manifest.
    fresh = tmp_path / "fresh-store"
    scenario.publish_fresh(str(fresh))
    again = check_live(lambda k: read(k, fresh))
    assert without_date(again) == without_date(final)
    for clip in final["clips"]:
        for key in clip["captions"].values():
            assert read(key) == read(key, fresh), key
