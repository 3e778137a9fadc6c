"""Progress of a long step (transcription, the master encode, clip renders): percent done and
ETA, logged at a bounded rate to the Prefect run's log (or this module's), hence the terminal."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from touktouk.runlog import LoggerLike, run_logger

log = logging.getLogger(__name__)

Progress = Callable[[float, float], None]  # (seconds done, seconds in all): of speech, or of media
# Progress logging: at most one line per PROGRESS_STEP percent, or when PROGRESS_INTERVAL seconds
# passed since the last line, and always the 100 % line.
PROGRESS_STEP = 5.0
PROGRESS_INTERVAL = 30.0


def format_duration(seconds: float) -> str:
    """'1 h 05 min', '3 min 07 s', '42 s'."""
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def format_progress(
    done: float, total: float, elapsed: float, label: str = "Transcribing", of: str = "of speech"
) -> str:
    """One progress line: percent done (of the speech transcribed, of the media encoded) and the
    time left at the pace so far."""
    share = 1.0 if total <= 0 else min(1.0, max(0.0, done / total))
    if share >= 1.0:
        eta = "done"
    elif done <= 0 or elapsed <= 0:
        eta = "ETA unknown"
    else:
        eta = "ETA " + format_duration(elapsed * (1 - share) / share)
    return (
        f"{label}: {100 * share:3.0f}% ({format_duration(min(done, total))} of "
        f"{format_duration(total)} {of}, {format_duration(elapsed)} elapsed, {eta})"
    )


class ProgressLog:
    """A `Progress` callback logging `format_progress` lines at a bounded rate: when the percent
    moved by `step` or `interval` seconds passed since the last line, and once at 100 %."""

    def __init__(
        self,
        logger: LoggerLike | None = None,
        *,
        step: float = PROGRESS_STEP,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        label: str = "Transcribing",
        of: str = "of speech",
    ) -> None:
        self.logger = logger if logger is not None else run_logger(log)
        self.label, self.of = label, of
        self.step, self.interval, self.clock = step, interval, clock
        self.start = self.last_time = clock()
        self.last_percent: float | None = None
        self.finished = False

    def __call__(self, done: float, total: float) -> None:
        if self.finished:
            return
        now = self.clock()
        if self.last_percent is None:  # the pace counts from the first call, when decoding starts
            self.start = self.last_time = now
        # done >= total first: 100 * x / x is 99.99999999999999 for some x (25.28 s)
        percent = 100.0 if total <= 0 or done >= total else 100 * done / total
        due = (
            self.last_percent is None
            or percent >= 100.0
            or percent - self.last_percent >= self.step
            or now - self.last_time >= self.interval
        )
        if due:
            self.logger.info("%s", format_progress(done, total, now - self.start, self.label, self.of))
            self.last_percent, self.last_time, self.finished = percent, now, percent >= 100.0
