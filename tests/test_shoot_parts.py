"""Card-split camera files: joined in order by stream copy, every frame once, sound and picture
the sum of the parts; parts that are missing or do not follow on are refused, naming the file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from media_fixtures import SHOOT_RATE, camera_files, frame_numbers
from touktouk.errors import MediaError
from touktouk.shoot.parts import check_follow_on, join_parts, read_part, timecode_frames


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    rng = np.random.default_rng(2)
    sound = (0.1 * rng.standard_normal(SHOOT_RATE * 9)).astype(np.float32)
    return camera_files(sound, tmp_path_factory.mktemp("A001"), "C", split_at=4.0)


def packet_md5s(path: Path) -> list[str]:
    """The MD5 of every picture packet, as stored (no decoding)."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def test_card_parts_join_in_order_without_reencoding_gap_or_repeat(card: list[Path], tmp_path: Path) -> None:
    parts = [read_part(p, f"part {n}") for n, p in enumerate(card, 1)]
    check_follow_on(parts, "host-cam")
    joined = join_parts(parts, tmp_path / "host-cam.mov", "host-cam")
    whole = read_part(joined, "the join")
    assert whole.frames == sum(p.frames for p in parts) == 9 * 25
    assert abs(whole.video_seconds - 9.0) < 0.04
    assert abs(whole.audio_seconds - whole.video_seconds) < 0.04  # picture and sound still in step
    assert frame_numbers(joined) == list(range(9 * 25))  # every camera frame once, in order
    assert packet_md5s(joined) == packet_md5s(card[0]) + packet_md5s(card[1])  # the same packets: no re-encode


def test_a_single_file_is_used_as_it_is(card: list[Path], tmp_path: Path) -> None:
    part = read_part(card[0], "part 1")
    assert join_parts([part], tmp_path / "x.mov", "cam") == card[0]


def test_parts_out_of_order_are_refused_naming_the_file(card: list[Path]) -> None:
    parts = [read_part(card[1], "part 1"), read_part(card[0], "part 2")]
    with pytest.raises(MediaError, match=r"C0001\.MOV: part 2 of camera 'host-cam' does not follow on from C0002"):
        check_follow_on(parts, "host-cam")


def test_a_part_from_another_camera_is_refused(card: list[Path], tmp_path: Path) -> None:
    other = camera_files(np.zeros(SHOOT_RATE * 2, np.float32), tmp_path, "B", size="256x144", timecode="10:00:04:00")
    parts = [read_part(card[0], "part 1"), read_part(other[0], "part 2")]
    with pytest.raises(MediaError, match=r"B0001\.MOV: part 2 of camera 'cam' does not follow on .*picture differs"):
        check_follow_on(parts, "cam")


def test_a_missing_part_is_named(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"C0003\.MOV: part 3 of camera 'cam' not found"):
        read_part(tmp_path / "A001" / "C0003.MOV", "part 3 of camera 'cam'")


def test_timecodes_count_frames_drop_frame_included() -> None:
    from fractions import Fraction

    assert timecode_frames("10:00:04:00", Fraction(25)) == (36000 + 4) * 25
    assert timecode_frames("00:01:00;02", Fraction(30000, 1001)) == 1800  # frames 0 and 1 of minute 1 are dropped
    assert timecode_frames("", Fraction(25)) is None
