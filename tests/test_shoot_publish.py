"""Publishing a real shoot: no footage argument, the episode file's cameras and mics; through the
Prefect flow to a folder store, the manifest recording where each source sits on the timeline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from media_fixtures import make_shoot
from pipeline_helpers import check_objects, load_json, write_series
from touktouk.config import load_episode
from touktouk.errors import ConfigError
from touktouk.pipeline.inputs import load_inputs

ROOT = Path(__file__).resolve().parents[1]


def test_a_shoot_is_read_from_the_episode_file(tmp_path: Path) -> None:
    episode = tmp_path / "e.toml"
    episode.write_text(
        'number = 1\nslug = "a"\ntitle = "A"\n[shoot]\nrecorder = "audio/mix.wav"\n'
        '[[shoot.cameras]]\nname = "host-cam"\nfiles = ["A001/C0001.MP4", "A001/C0002.MP4"]\nshows = ["host"]\n'
        '[[shoot.cameras]]\nname = "wide"\nfiles = ["B/W.MP4"]\nshows = ["host", "guest"]\noffset = "-00:00:04.25"\n'
        '[[shoot.mics]]\nspeaker = "host"\nfile = "audio/host.wav"\n',
        encoding="utf-8",
    )
    shoot = load_episode(episode).shoot
    assert shoot is not None
    assert [c.files for c in shoot.cameras] == [("A001/C0001.MP4", "A001/C0002.MP4"), ("B/W.MP4",)]
    assert shoot.cameras[1].offset == -4.25 and shoot.cameras[0].offset is None
    assert shoot.recorder == "audio/mix.wav" and shoot.mics[0].speaker == "host"


def test_two_cameras_with_one_name_are_refused_naming_the_file(tmp_path: Path) -> None:
    episode = tmp_path / "e.toml"
    cam = '[[shoot.cameras]]\nname = "cam"\nfiles = ["x.mp4"]\n'
    episode.write_text('number = 1\nslug = "a"\ntitle = "A"\n' + cam + cam, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"e\.toml: .*two cameras are named 'cam'"):
        load_episode(episode)


def test_no_footage_and_no_shoot_is_one_sentence(tmp_path: Path) -> None:
    episode = tmp_path / "e.toml"
    episode.write_text('number = 1\nslug = "a"\ntitle = "A"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"e\.toml: no footage given and the episode file describes no shoot"):
        load_inputs("", str(episode), str(tmp_path / "store"), None)
    done = subprocess.run(
        [sys.executable, "-m", "touktouk.cli", "publish", "--store", str(tmp_path / "store")],
        capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "No footage given: give the footage file, or an episode file (--episode)" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_shoot_publishes_without_a_footage_argument(
    tmp_path: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from touktouk.orchestration.flow import publish_episode

    monkeypatch.setenv("TOUKTOUK_SHOOT_CACHE", str(tmp_path / "shoots"))
    shoot = make_shoot(tmp_path / "episodes" / "tournage", slug="tournage-publie")
    store = tmp_path / "store"
    series = write_series(tmp_path / "touktouk.toml", store=str(store), auto_clips=1, platforms=("x",))
    location = publish_episode("", str(shoot.episode), None, str(series))
    manifest = load_json(Path(location).read_bytes())
    check_objects(manifest, lambda key: (store / key).read_bytes())
    found = {s["name"]: s for s in manifest["shoot"]["sources"]}
    assert set(found) == {"host", "guest", "host-cam", "wide"}
    for camera, (offset, drift) in shoot.truth.items():
        assert abs(found[camera]["offset_s"] - offset) < 0.010
        assert abs(found[camera]["drift_ppm"] - drift) < 10
        assert found[camera]["confidence"] >= 8
    assert found["host-cam"]["files"] == ["A001/C0001.MOV", "A001/C0002.MOV"]
    assert manifest["shoot"]["footage_camera"] == "host-cam"
    assert abs(manifest["source"]["duration"] - shoot.duration) < 0.05  # the timeline's length
    assert manifest["clips"] and manifest["transcript"]["words"] > 20
    # Who speaks: each word on the speaker of the mic that led while it was said.
    document = load_json((store / manifest["transcript"]["json"]).read_bytes())
    words = [w for s in document["segments"] for w in s["words"]]
    said = [(w, who) for w in words for who, a, b in shoot.turns if a <= (w["start"] + w["end"]) / 2 < b]
    right = sum(w.get("speaker") == who for w, who in said)
    assert len(said) >= 0.9 * len(words) and right >= 0.95 * len(said), (right, len(said), len(words))
    speakers = manifest["transcript"]["speakers"]
    assert {k: v["name"] for k, v in speakers.items()} == {"host": "Camille Martin", "guest": "Awa Diallo"}
    assert sum(v["words"] for v in speakers.values()) == sum(1 for w in words if w.get("speaker"))
    # The multicam cut, on the transcript's clock: each cut lands between two words, never inside
    # one. Whisper's word edges run up to 0.3 s into the pauses around them (and the base model
    # sometimes stretches one "word" over a silence of seconds): 0.15 s of edge, words under 1.5 s.
    cuts = [s["start"] for s in manifest["shoot"]["cut"]["shots"][1:]]
    assert cuts and {s["camera"] for s in manifest["shoot"]["cut"]["shots"]} == {"host-cam", "wide"}
    spoken = [w for w in words if w["end"] - w["start"] < 1.5]
    inside = [(c, w["text"]) for c in cuts for w in spoken if w["start"] + 0.15 < c < w["end"] - 0.15]
    assert inside == [], inside
