"""A real shoot made into one footage file: two cameras (one split on its card) placed by their
sound on the mics' timeline and cut by who speaks (the multicam program) under the mics' mix, or
the host's camera alone; bad shoots refused in one sentence naming the file."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from media_fixtures import SHOOT_RATE, ShootFixture, camera_files, frame_numbers, make_shoot, silent_video
from touktouk.config import MulticamSettings, RenderSettings, load_episode
from touktouk.errors import MediaError
from touktouk.render.probe import probe
from touktouk.shoot.assemble import AssembledShoot, assemble_shoot
from touktouk.shoot.conform import Conform, conform, fit_filter, switch_commands
from touktouk.shoot.decode import decode_mono, mix
from touktouk.shoot.parts import read_part
from touktouk.shoot.sync import MIN_CONFIDENCE, Placement, place

FAST = RenderSettings(preset="ultrafast", crf=30)


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> ShootFixture:
    return make_shoot(tmp_path_factory.mktemp("shoot"))


@pytest.fixture(scope="module")
def assembled(shoot: ShootFixture, tmp_path_factory: pytest.TempPathFactory) -> AssembledShoot:
    episode = load_episode(shoot.episode)
    assert episode.shoot is not None
    return assemble_shoot(episode.shoot, shoot.folder, FAST, cache_dir=tmp_path_factory.mktemp("cache"))


def sources(made: AssembledShoot) -> dict[str, dict]:
    return {s["name"]: s for s in made.record["sources"]}


def test_every_camera_is_placed_within_10_ms_and_10_ppm(shoot: ShootFixture, assembled: AssembledShoot) -> None:
    found = sources(assembled)
    for camera, (offset, drift) in shoot.truth.items():
        s = found[camera]
        assert abs(s["offset_s"] - offset) < 0.010, camera
        assert abs(s["drift_ppm"] - drift) < 10, camera
        assert s["drift_corrected"] and s["placed_by"] == "sound"
        assert s["confidence"] >= MIN_CONFIDENCE
    assert found["host-cam"]["files"] == ["A001/C0001.MOV", "A001/C0002.MOV"]
    assert (found["host"]["kind"], found["host"]["offset_s"], found["host"]["confidence"]) == ("mic", 0.0, None)
    assert assembled.record["timeline"] == "mics"
    assert assembled.record["footage_camera"] == "host-cam"


def expected_frames(count: int, offset: float, drift_ppm: float, rate: int = 25) -> np.ndarray:
    """The camera frame each timeline frame should show: camera time (T - offset) x (1 + drift)."""
    return np.round((np.arange(count) / rate - offset) * (1 + drift_ppm * 1e-6) * rate).astype(int)


def camera_shown(shown: np.ndarray, truth: dict[str, tuple[float, float]]) -> list[str | None]:
    """Per frame, the camera whose frame it shows at that timeline time (None: none of them)."""
    expected = {name: expected_frames(len(shown), *placed) for name, placed in truth.items()}
    return [next((k for k, e in expected.items() if abs(int(f) - e[i]) <= 1), None) for i, f in enumerate(shown)]


def test_the_multicam_program_shows_the_speakers_camera_and_the_right_frame_at_every_frame(
    shoot: ShootFixture, assembled: AssembledShoot
) -> None:
    info = probe(assembled.footage)
    assert abs(info.duration - shoot.duration) < 0.04
    shown = np.array(frame_numbers(assembled.footage))
    assert len(shown) == round(shoot.duration * 25)
    shots = assembled.record["cut"]["shots"]
    assert shots[0]["start"] == 0 and abs(shots[-1]["end"] - len(shown) / 25) < 1e-6
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(shots))
    assert all(s["end"] - s["start"] >= 2.0 for s in shots)
    # Every frame is the frame the named camera shot at that moment (drift corrected, ±1 frame),
    # and the cut switches exactly on its frames: no black, no frame of the other camera.
    cut = np.empty(len(shown), dtype=object)
    for s in shots:
        cut[round(s["start"] * 25) : round(s["end"] * 25)] = s["camera"]
    on = camera_shown(shown, shoot.truth)
    assert [i for i, (a, b) in enumerate(zip(on, cut, strict=True)) if a != b] == []
    # The speaker's camera through each turn longer than 4 s (the guest has only the wide).
    frames_of = {"host": "host-cam", "guest": "wide"}
    long_turns = [t for t in shoot.turns if t[2] - t[1] > 4]
    right = [
        who for who, a, b in long_turns
        if on[round(a * 25) : round(b * 25)].count(frames_of[who]) > 0.5 * (round(b * 25) - round(a * 25))
    ]  # fmt: skip
    assert len(long_turns) >= 3 and len(right) >= 0.9 * len(long_turns), (long_turns, shots)
    # The wide started 3.7 s after the mics and stopped 2 s before them: never shown then.
    wide = next(s for s in assembled.record["sources"] if s["name"] == "wide")
    assert all(s["start"] >= wide["offset_s"] - 0.04 for s in shots if s["camera"] == "wide")


def test_with_the_multicam_cut_off_the_footage_is_the_hosts_camera(shoot: ShootFixture, tmp_path: Path) -> None:
    episode = load_episode(shoot.episode)
    assert episode.shoot is not None
    made = assemble_shoot(episode.shoot, shoot.folder, FAST, MulticamSettings(enabled=False), cache_dir=tmp_path)
    assert "cut" not in made.record
    shown = np.array(frame_numbers(made.footage))
    offset, drift = shoot.truth["host-cam"]
    # Drift corrected: at the end of the file the camera is 9 ms (a quarter frame) ahead; every
    # frame is the one the camera shot at that moment, give or take the rounding of one frame.
    assert np.abs(shown - expected_frames(len(shown), offset, drift)).max() <= 1
    assert (np.diff(shown) >= 0).all()


def test_the_program_fits_square_pixels_and_switches_half_a_frame_early() -> None:
    from fractions import Fraction

    assert fit_filter((1920, 1080), Fraction(1)).startswith("setsar=1,scale=w=1920:h=1080")
    anamorphic = fit_filter((1920, 1080), Fraction(4, 3))
    assert anamorphic.startswith("scale=w=2*trunc(iw*4/3/2):h=ih,setsar=1,") and "pad=w=1920:h=1080" in anamorphic
    cuts = [(0, 50, "a"), (50, 100, "b"), (100, 150, "a")]
    assert switch_commands(cuts, ["a", "b"], Fraction(25)) == (
        "1.980000 streamselect@cut map 1;3.980000 streamselect@cut map 0"
    )


def test_the_conformed_sound_is_the_mics_mix_untouched(shoot: ShootFixture, assembled: AssembledShoot) -> None:
    mics = mix([decode_mono(shoot.folder / "audio" / f"{who}.wav") for who in ("host", "guest")])
    heard = place(mics, decode_mono(assembled.footage))
    assert abs(heard.offset_s) < 0.001 and abs(heard.drift_ppm) < 5


def test_a_second_run_takes_the_conformed_footage_from_the_cache(
    shoot: ShootFixture, assembled: AssembledShoot, caplog: pytest.LogCaptureFixture
) -> None:
    episode = load_episode(shoot.episode)
    assert episode.shoot is not None
    before = assembled.footage.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="touktouk.shoot"):
        again = assemble_shoot(episode.shoot, shoot.folder, FAST, cache_dir=assembled.footage.parents[1])
    assert again.footage == assembled.footage and again.footage.stat().st_mtime_ns == before
    assert again.record == json.loads(json.dumps(assembled.record))
    assert "taken from the cache" in caplog.text


def test_a_camera_that_started_late_is_padded_with_black(
    shoot: ShootFixture, assembled: AssembledShoot, tmp_path: Path
) -> None:
    wide = shoot.folder / "B001" / "WIDE0001.MP4"
    s = sources(assembled)["wide"]
    placement = Placement(s["offset_s"], s["drift_ppm"], s["confidence"], s["drift_corrected"])
    mics = tuple(shoot.folder / "audio" / f"{who}.wav" for who in ("host", "guest"))
    part = read_part(wide, "wide")
    out = conform(
        Conform(wide, part.origin, part.rate, placement, mics, shoot.duration, "ultrafast", 30), tmp_path / "w.mp4"
    )
    shown = np.array(frame_numbers(out))
    lead = round(s["offset_s"] * 25)
    assert (shown[:lead] == -1).all() and (shown[lead:] >= 0).any()
    offset, drift = shoot.truth["wide"]
    playing = shown >= 0
    assert np.abs(shown[playing] - expected_frames(len(shown), offset, drift)[playing]).max() <= 1
    assert (shown[-10:] == -1).all()  # the wide stopped two seconds before the mics


# --- bad shoots: one sentence naming the file ---

SHOOT = """season = 1
number = 8
slug = "mauvais-tournage"
title = "Un tournage qui ne va pas"
{cameras}
[[shoot.mics]]
speaker = "host"
file = "audio/host.wav"

[[shoot.mics]]
speaker = "guest"
file = "{guest}"
"""


def camera(name: str, files: list[str], extra: str = "") -> str:
    listed = ", ".join(f'"{f}"' for f in files)
    return f'[[shoot.cameras]]\nname = "{name}"\nfiles = [{listed}]\nshows = ["host"]\n{extra}\n'


def one_sentence(message: str, names: str) -> None:
    assert names in message, message
    assert message.endswith(".") and ". " not in message, message


def assemble(shoot: ShootFixture, text: str, cache: Path) -> AssembledShoot:
    path = shoot.folder / "bad.toml"
    path.write_text(text, encoding="utf-8")
    episode = load_episode(path)
    assert episode.shoot is not None
    return assemble_shoot(episode.shoot, shoot.folder, FAST, cache_dir=cache)


@pytest.mark.parametrize(
    ("cameras", "guest", "names", "says"),
    [
        (camera("host-cam", ["A001/C0001.MOV", "A001/C0003.MOV"]), "audio/guest.wav", "A001/C0003.MOV",
         "part 2 of camera 'host-cam' not found"),
        (camera("host-cam", ["A001/C0002.MOV", "A001/C0001.MOV"]), "audio/guest.wav", "A001/C0001.MOV",
         "part 2 of camera 'host-cam' does not follow on from C0002.MOV"),
        (camera("host-cam", ["A001/C0001.MOV"]), "audio/invite.wav", "audio/invite.wav",
         "the mic of speaker 'guest' not found"),
    ],
)  # fmt: skip
def test_a_bad_shoot_is_one_sentence_naming_the_file(
    shoot: ShootFixture, tmp_path: Path, cameras: str, guest: str, names: str, says: str
) -> None:
    with pytest.raises(MediaError) as caught:
        assemble(shoot, SHOOT.format(cameras=cameras, guest=guest), tmp_path)
    one_sentence(str(caught.value), names)
    assert says in str(caught.value)
    assert not list(tmp_path.iterdir())  # refused before anything is written


def test_a_camera_without_sound_needs_its_offset_by_hand(shoot: ShootFixture, tmp_path: Path) -> None:
    (shoot.folder / "D001").mkdir(exist_ok=True)
    silent_video(shoot.folder / "D001" / "MUTE.MP4")
    text = SHOOT.format(cameras=camera("mute", ["D001/MUTE.MP4"]), guest="audio/guest.wav")
    with pytest.raises(MediaError) as caught:
        assemble(shoot, text, tmp_path)
    one_sentence(str(caught.value), "D001/MUTE.MP4")
    assert "has no sound to sync on; set its offset by hand" in str(caught.value)
    # Set by hand, it is honoured: the camera's first frame plays 1.5 s into the timeline.
    made = assemble(shoot, SHOOT.format(cameras=camera("mute", ["D001/MUTE.MP4"], 'offset = "00:00:01.5"'),
                                        guest="audio/guest.wav"), tmp_path)  # fmt: skip
    s = sources(made)["mute"]
    assert (s["offset_s"], s["placed_by"], s["confidence"]) == (1.5, "hand", None)
    shown = np.array(frame_numbers(made.footage))
    assert (shown[:37] == -1).all() and (shown[38:88] >= 0).all()  # black until 1.5 s (frame 37.5), then 2 s of it


def test_a_camera_from_another_shoot_cannot_be_placed(shoot: ShootFixture, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    other = (0.05 * rng.standard_normal(SHOOT_RATE * 20)).astype(np.float32)  # a room with no one talking
    camera_files(other, shoot.folder / "E001", "OTHER", size="160x90")
    text = SHOOT.format(cameras=camera("other", ["E001/OTHER0001.MOV"]), guest="audio/guest.wav")
    with pytest.raises(MediaError) as caught:
        assemble(shoot, text, tmp_path)
    one_sentence(str(caught.value), "E001/OTHER0001.MOV")
    assert "camera 'other' cannot be placed on the shoot's timeline by its sound" in str(caught.value)
