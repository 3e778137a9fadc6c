"""ffmpeg argument escaping for filter graphs (an argument list, no shell)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import ffmpeg

from touktouk.errors import MediaError
from touktouk.progress import Progress


def escape_filter_path(path: str | Path) -> str:
    """Escape a path for a filter option value inside a filtergraph (two levels).

    First the option value (\\ ' :), then the filtergraph (\\ ' [ ] , ;), as measured in
    VERIFIED.md; for an argument list passed without a shell.
    """
    s = str(path)
    for ch in ("\\", "'", ":"):
        s = s.replace(ch, "\\" + ch)
    for ch in ("\\", "'", "[", "]", ",", ";"):
        s = s.replace(ch, "\\" + ch)
    return s


def subtitles_filter(ass_path: str | Path, fontsdir: str | Path | None = None) -> str:
    """The `subtitles=` filter for an .ass file, escaped for a -vf / -filter_complex value."""
    f = f"subtitles=filename={escape_filter_path(ass_path)}"
    if fontsdir is not None:
        f += f":fontsdir={escape_filter_path(fontsdir)}"
    return f


def ffmpeg_message(exc: ffmpeg.Error) -> str:
    err = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return err[-1] if err else "ffmpeg failed"


def input_path(path: Path | str) -> str:
    """The path as ffmpeg must see it: absolute, so a name such as 'interview:1.mp4' is never
    taken for a protocol ('interview:')."""
    return str(Path(path).absolute())


def progress_seconds(line: str) -> float | None:
    """The output time of one `-progress` line (`out_time_us=12345678`), None for other lines."""
    key, _, value = line.strip().partition("=")
    if key in ("out_time_us", "out_time_ms"):  # both are microseconds (out_time_ms is misnamed)
        try:
            return max(0.0, int(value) / 1e6)
        except ValueError:
            return None  # "N/A" before the first frame
    return None


def run_ffmpeg(
    cmd: list[str], what: str, *, duration: float = 0.0, on_progress: Progress | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an ffmpeg command; a failure is a MediaError naming `what` with ffmpeg's last line.

    With `on_progress` and the output's `duration`, ffmpeg reports its progress on a pipe
    (`-progress pipe:1`), read as it encodes: on_progress(seconds written, duration), and
    (duration, duration) at the end. stderr goes to a temporary file, so neither pipe can fill."""
    if on_progress is None or duration <= 0:
        done = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    else:
        full = [cmd[0], "-progress", "pipe:1", "-nostats", *cmd[1:]]
        with tempfile.TemporaryFile(mode="w+", errors="replace") as err:
            with subprocess.Popen(full, stdout=subprocess.PIPE, stderr=err, text=True, errors="replace") as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    at = progress_seconds(line)
                    if at is not None:
                        on_progress(min(at, duration), duration)
                code = proc.wait()
            err.seek(0)
            done = subprocess.CompletedProcess(full, code, "", err.read())
        if code == 0:
            on_progress(duration, duration)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise MediaError(f"{what} failed ({lines[-1] if lines else 'ffmpeg failed'}).")
    return done
