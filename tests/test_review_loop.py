"""The producer's loop on the command line, with real parts (`touktouk` processes, a `prefect
server`, real Whisper, real renders, a folder store): `publish --review` proposes and publishes
nothing; `approve` with a word fix, a title and a drop publishes exactly those decisions, every
output carries the fixed words, and only what a decision changes is rendered again (renders
counted from the run's own log lines)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crash_helpers import short_speech
from pipeline_helpers import write_series

pytestmark = pytest.mark.slow
PREFIX = "touktouk/s01/e09-revue"
EPISODE = """
season = 1
number = 9
slug = "revue"
title = "À relire"

[[picks]]
start = 0.5
end = 4.5
title = "Premier"

[[picks]]
start = 5
end = 9.5
title = "Second"
"""


def rendered(output: str) -> list[str]:
    return re.findall(r"Rendered clip (\S+) ", output)


def covers(output: str) -> list[str]:
    return re.findall(r"Rendered cover of clip (\S+) ", output)


def test_propose_then_fix_retitle_drop_and_approve(tmp_path: Path, prefect_api: str) -> None:
    import os
    import subprocess
    import sys

    footage = short_speech(tmp_path)
    store = tmp_path / "store"
    series = write_series(tmp_path / "touktouk.toml", store=str(store), auto_clips=0, platforms=("youtube_shorts",))
    episode = tmp_path / "episode.toml"
    episode.write_text(EPISODE, encoding="utf-8")
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "TOUKTOUK_CACHE_DIR": str(tmp_path / "transcripts"),
    }

    def touktouk(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "touktouk.cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        return output

    def read(key: str) -> dict:
        return json.loads((store / key).read_bytes())

    # 1. The proposal: everything rendered, nothing published.
    out = touktouk("publish", str(footage), "--episode", str(episode), "--config", str(series), "--review")
    assert not (store / PREFIX / "manifest.json").exists()
    proposal = read(f"{PREFIX}/proposal.json")
    assert proposal["schema"] == "touktouk.proposal/1"
    first, second = proposal["clips"]
    assert (first["id"], second["id"]) == ("c00m00.5s", "c00m05.0s")
    assert sorted(rendered(out)) == [first["id"], second["id"]]
    text = " ".join(out.split())
    assert "Review page:" in text and f"touktouk approve s01e09-revue --store {store}" in text
    assert (store / proposal["review"]).is_file()

    # A word said once, inside the first clip only: the fix must reach it and nothing else.
    words = [w for s in read(proposal["transcript"]["json"])["segments"] for w in s["words"]]
    counts: dict[str, int] = {}
    for w in words:
        key = re.sub(r"^\W+|\W+$", "", w["text"]).casefold()
        counts[key] = counts.get(key, 0) + 1
    target = next(
        w for w in words
        if first["start"] <= (w["start"] + w["end"]) / 2 < first["end"]
        and len(re.sub(r"\W", "", w["text"])) >= 4 and counts[re.sub(r"^\W+|\W+$", "", w["text"]).casefold()] == 1
    )  # fmt: skip
    wrong = re.sub(r"^\W+|\W+$", "", target["text"])

    # 2. A fix that matches nothing is refused, naming it; nothing is published.
    bad = subprocess.run(
        [sys.executable, "-m", "touktouk.cli", "approve", "s01e09-revue", "--store", str(store), "--fix", "Zzyzx=Zut"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "'Zzyzx' → 'Zut' matches no words" in " ".join((bad.stdout + bad.stderr).split())
    assert not (store / PREFIX / "manifest.json").exists()

    # 3. Approve with a fix in the first clip: only that clip is rendered again.
    out = touktouk("approve", "s01e09-revue", "--store", str(store), "--fix", f"{wrong}=Toukfix")
    assert rendered(out) == [first["id"]], out[-3000:]
    manifest = read(f"{PREFIX}/manifest.json")
    assert not (store / PREFIX / "proposal.json").exists(), "approved: no longer pending"
    clips = {c["id"]: c for c in manifest["clips"]}
    assert set(clips) == {first["id"], second["id"]}
    assert clips[second["id"]]["outputs"] == second["outputs"], "the second clip keeps its files"
    assert "Toukfix" in clips[first["id"]]["text"] and wrong not in clips[first["id"]]["text"].split()
    for key in (*clips[first["id"]]["captions"].values(), manifest["transcript"]["srt"], manifest["transcript"]["vtt"]):
        body = (store / key).read_text(encoding="utf-8")
        assert "Toukfix" in body, key
    assert {"wrong": wrong, "right": "Toukfix"} in manifest["decisions"]["fixes"]

    # 4. A new proposal of the same episode keeps the recorded fix (nothing rendered: all cached);
    # approving it with a drop renders nothing and publishes without that clip.
    out = touktouk("publish", str(footage), "--episode", str(episode), "--config", str(series), "--review")
    assert rendered(out) == []
    again = read(f"{PREFIX}/proposal.json")
    assert [c["outputs"] for c in again["clips"]] == [c["outputs"] for c in manifest["clips"]]
    out = touktouk("approve", "s01e09-revue", "--store", str(store), "--drop", second["id"])
    assert rendered(out) == []
    final = read(f"{PREFIX}/manifest.json")
    assert [c["id"] for c in final["clips"]] == [first["id"]]
    assert "Toukfix" in final["clips"][0]["text"]
    assert final["decisions"]["drop"] == [second["id"]]
    history = list((store / PREFIX / "history").iterdir())
    assert len(history) == 1, "the first approval's manifest is kept"

    # 5. A new title redoes the cover and the metadata of that clip only, no video.
    touktouk("publish", str(footage), "--episode", str(episode), "--config", str(series), "--review")
    out = touktouk("approve", "s01e09-revue", "--store", str(store), "--title", f"{first['id']}=Le bon titre")
    assert rendered(out) == [] and covers(out) == [first["id"]], out[-3000:]
    retitled = read(f"{PREFIX}/manifest.json")["clips"][0]
    assert retitled["title"] == "Le bon titre"
    assert retitled["outputs"] == final["clips"][0]["outputs"], "the video is kept"
    assert retitled["captions"] == final["clips"][0]["captions"]
    assert retitled["cover"] != final["clips"][0]["cover"] and (store / retitled["cover"]).is_file()
    assert retitled["metadata_key"] != final["clips"][0]["metadata_key"]
    assert "Le bon titre" in (store / retitled["metadata_key"]).read_text(encoding="utf-8")
