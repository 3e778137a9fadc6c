"""The `touktouk` command as a producer runs it: real subprocesses, real ffmpeg."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from media_fixtures import espeak_episode, not_media, silent_video
from pipeline_helpers import load_json, write_episode, write_series


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PREFECT_HOME": str(cwd / ".prefect"), **(env or {})}
    full_env.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "touktouk.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: not_media(d / "interview.mp4"), "not a media file"),
        (lambda d: silent_video(d / "muet.mp4"), "has no audio stream"),
        (lambda d: d / "absent.mp4", "file not found"),
    ],
    ids=["not-media", "no-audio", "missing"],
)
def test_bad_footage_is_one_clear_sentence_and_nothing_is_stored(tmp_path: Path, make, problem: str) -> None:
    footage = make(tmp_path)
    store = tmp_path / "store"
    result = run_cli("publish", str(footage), "--store", str(store), cwd=tmp_path)
    assert_clean_error(result, str(footage), problem)
    assert not store.exists()


def test_bad_episode_file_names_the_file_and_field(tmp_path: Path) -> None:
    footage = silent_video(tmp_path / "v.mp4")
    episode = write_episode(tmp_path / "bad.toml", slug="Marie Dupont")
    result = run_cli("publish", str(footage), "--episode", str(episode), cwd=tmp_path)
    assert_clean_error(result, str(episode), "'slug'")


def test_unknown_store_scheme_is_refused_before_any_work(tmp_path: Path) -> None:
    footage = espeak_episode(tmp_path / "e.mp4").path
    result = run_cli("publish", str(footage), "--store", "ftp://example/x", cwd=tmp_path)
    assert_clean_error(result, "ftp://example/x")


@pytest.mark.parametrize(
    ("flag", "needle"),
    [
        (("--platforms", "tiktok,snapchat"), "--platforms: no platform 'snapchat'; choose among youtube_shorts"),
        (("--auto-clips", "25"), "--auto-clips 25: give a number of clips from 0 to 20."),
        (("--caption-style", "fancy"), "--caption-style fancy: choose karaoke or plain."),
    ],
    ids=["platform", "auto-clips", "caption-style"],
)
def test_bad_publish_options_are_one_sentence(tmp_path: Path, flag: tuple[str, str], needle: str) -> None:
    footage = espeak_episode(tmp_path / "demo.mp4")
    result = run_cli("publish", str(footage.path), "--store", str(tmp_path / "s"), *flag, cwd=tmp_path)
    assert_clean_error(result, needle)
    assert not (tmp_path / "s").exists(), "nothing is stored"


def test_models_list_shows_the_offline_base_model() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "touktouk.cli", "models", "list"], capture_output=True, text=True, check=True
    )
    line = next(line for line in result.stdout.splitlines() if "base" in line)
    assert "faster-whisper" in line and "yes" in line


@pytest.mark.slow
def test_publish_command_publishes_project_made_french_footage(tmp_path: Path) -> None:
    footage = espeak_episode(tmp_path / "demo.mp4")
    series = write_series(tmp_path / "touktouk.toml", store="published", platforms=("youtube_shorts",))
    episode = write_episode(tmp_path / "ep.toml", slug="demo-cli")
    result = run_cli(
        "publish",
        str(footage.path),
        "--episode",
        str(episode),
        "--config",
        str(series),
        # The flow's run-form options: they win over the series config.
        "--platforms",
        "tiktok",
        "--auto-clips",
        "1",
        "--caption-style",
        "plain",
        cwd=tmp_path,
        env={"TOUKTOUK_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manifest_path = tmp_path / "published/touktouk/s01/e07-demo-cli/manifest.json"
    assert str(manifest_path.relative_to(tmp_path)) in " ".join(result.stdout.split())
    manifest = load_json(manifest_path.read_bytes())
    assert manifest["clips"] and all(o["platform"] == "tiktok" for c in manifest["clips"] for o in c["outputs"])
    assert [c["source"] for c in manifest["clips"]].count("auto") == 1
    for clip in manifest["clips"]:
        ass = (tmp_path / "published" / clip["captions"]["ass"]).read_text(encoding="utf-8")
        assert "{\\r}" not in ass, "plain captions carry no per-word karaoke highlight"
    assert "Transcribing" in result.stdout + result.stderr, "progress is shown in the terminal"
    terminal = " ".join((result.stdout + result.stderr).split())
    for clip in manifest["clips"]:
        assert f"Rendering clip {clip['id']}: 100%" in terminal, terminal[-6000:]
    # Where the time went: one row per stage (runs, wall, span, CPU, cores), then the run's totals.
    rows = {
        m["name"]: m
        for m in re.finditer(
            r"^(?P<name>[a-zA-Z][\w -]*?)\s+(?P<runs>\d+)\s+(?P<wall>[\d.]+)\s+(?P<span>[\d.]+)\s+(?P<cpu>[\d.]+)",
            result.stdout,
            re.M,
        )
    }
    assert {"Prefect start-up", "transcribe", "render clip", "store footage", "publish"} <= set(rows), result.stdout
    assert int(rows["render clip"]["runs"]) == len(manifest["clips"])
    # The renders' CPU is ffmpeg's (child processes), the transcription's Whisper's (native threads):
    # CPU seconds are work, whatever the load, and far more than the tasks' own Python threads do.
    assert float(rows["render clip"]["cpu"]) >= 2.0 * len(manifest["clips"]), rows["render clip"].group(0)
    assert float(rows["transcribe"]["cpu"]) >= 3.0, rows["transcribe"].group(0)
    busy = re.search(r"the cores were busy (\d+) % of the wall time", result.stdout)
    assert busy and 5 <= int(busy[1]) <= 100, result.stdout[-2000:]
