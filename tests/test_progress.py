"""Progress of long ffmpeg steps: read from ffmpeg's own `-progress` pipe while it encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from touktouk.errors import MediaError
from touktouk.progress import ProgressLog, format_progress
from touktouk.render.ffmpeg import progress_seconds, run_ffmpeg


def test_progress_lines_are_read_as_seconds_written() -> None:
    assert progress_seconds("out_time_us=2500000\n") == 2.5
    assert progress_seconds("out_time_ms=1000000") == 1.0, "ffmpeg's out_time_ms is in microseconds too"
    assert progress_seconds("out_time_us=N/A") is None
    assert progress_seconds("frame=12") is None
    assert progress_seconds("out_time_us=-23000") == 0.0


def test_a_real_encode_reports_its_progress_as_it_goes(tmp_path: Path) -> None:
    seen: list[tuple[float, float]] = []
    out = tmp_path / "out.mp4"
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=6"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-threads", "1", str(out)]
    run_ffmpeg(cmd, "test encode", duration=6.0, on_progress=lambda done, total: seen.append((done, total)))
    assert out.stat().st_size > 0
    assert len(seen) >= 3, seen
    assert all(total == 6.0 for _, total in seen)
    dones = [d for d, _ in seen]
    assert dones == sorted(dones), "progress never goes back"
    assert dones[-1] == 6.0 and any(0 < d < 6.0 for d in dones), dones


def test_a_failed_encode_with_progress_is_one_sentence_with_ffmpegs_reason(tmp_path: Path) -> None:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-y", "-i", str(tmp_path / "absent.mp4"), str(tmp_path / "o.mp4")]
    seen: list[float] = []
    with pytest.raises(MediaError, match=r"test encode failed \(.*No such file or directory\)"):
        run_ffmpeg(cmd, "test encode", duration=5.0, on_progress=lambda done, total: seen.append(done))
    assert 5.0 not in seen, "a failed encode never reports 100 %"


def test_render_progress_lines_name_the_step() -> None:
    line = format_progress(30, 120, 10, "Encoding the master", "of video")
    assert line == "Encoding the master:  25% (30 s of 2 min 00 s of video, 10 s elapsed, ETA 30 s)"
    lines: list[str] = []

    class Logger:
        def info(self, fmt: str, *args: object) -> None:
            lines.append(fmt % args)

    clock = iter([0.0, 0.0, 1.0, 2.0, 3.0]).__next__
    progress = ProgressLog(Logger(), step=50, clock=clock, label="Rendering clip c00m05.0s", of="of video")
    for done in (0.0, 10.0, 30.0, 40.0):
        progress(done, 40.0)
    assert [line.split(":")[0] for line in lines] == ["Rendering clip c00m05.0s"] * 3
    assert lines[-1].startswith("Rendering clip c00m05.0s: 100%")


def test_the_end_is_100_percent_even_where_floating_point_says_99_999() -> None:
    total = 25.279999999999998  # a clip's length, as end - start gave it
    assert 100 * total / total < 100.0
    lines: list[str] = []

    class Logger:
        def info(self, fmt: str, *args: object) -> None:
            lines.append(fmt % args)

    progress = ProgressLog(Logger(), step=25, label="Rendering clip c00m28.4s", of="of video")
    progress(20.0, total)
    progress(total, total)
    assert lines[-1].startswith("Rendering clip c00m28.4s: 100%") and lines[-1].endswith("done)"), lines
