"""Where a run's time goes: each stage's wall and CPU time, and how busy the cores were.

A stage is one task body or step of a run (`with stage("transcribe"):`), timed into the run's
`StageLog` (a context variable: the flow sets it, and Prefect's thread pool carries it into the
tasks it runs; on Dask workers there is none and `stage` does nothing). A stage's CPU time is:

- its thread's own CPU time (`time.thread_time`, exact);
- the CPU time of the processes its thread started while it ran (ffmpeg, ffprobe), read from
  /proc/self/task/<thread>/children every `SAMPLE_S` (Linux; a child's last fraction of a sample
  can be missed, and elsewhere this part is 0; a process the thread started before, such as
  Prefect's temporary server, is not the stage's);
- for a stage that runs native worker threads of its own (Whisper's or the voice encoder's compute
  threads: `native=True`), the CPU time of the process's threads that belong to no stage, while it
  runs (split equally between such stages when two run at once).

The run's own totals are exact: the wall time, and the CPU time of the process and of every
process it started (`resource.getrusage`), from which `busy` = CPU / cores / wall.
"""

from __future__ import annotations

import functools
import os
import resource
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar

SAMPLE_S = 0.5  # a sample costs about 4 ms of CPU with 80 threads
_TICK = 1.0 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
_PROC = Path("/proc/self/task")


@dataclass
class StageRun:
    name: str
    start: float
    tid: int
    native: bool = False
    end: float | None = None
    thread_cpu: float = 0.0
    children: dict[int, float] = field(default_factory=dict)  # pid -> last CPU seconds read
    older: frozenset[int] = frozenset()  # the thread's children from before the stage: not its own
    other_cpu: float = 0.0

    @property
    def cpu(self) -> float:
        return self.thread_cpu + sum(self.children.values()) + self.other_cpu


@dataclass(frozen=True)
class StageRow:
    """One line of the table: every run of one stage."""

    name: str
    runs: int
    wall: float  # the runs' wall times, summed
    span: float  # from the first run's start to the last run's end
    cpu: float


@dataclass(frozen=True)
class RunTimes:
    """A run's stages and totals, as the table shows them."""

    rows: tuple[StageRow, ...]
    wall: float
    cpu: float
    cores: int

    @property
    def busy(self) -> float:
        """The share of the wall time the cores were busy: CPU seconds / cores / wall seconds."""
        return self.cpu / self.cores / self.wall if self.wall > 0 and self.cores else 0.0

    @property
    def unattributed_cpu(self) -> float:
        """CPU time no stage accounts for (Prefect itself, the flow between stages, samples missed)."""
        return max(0.0, self.cpu - sum(r.cpu for r in self.rows))


def _stat_cpu(path: Path, *, with_children: bool = False) -> float | None:
    """utime + stime (and the waited-for children's, for a process) from a /proc stat file."""
    try:
        raw = path.read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks * _TICK


def _children(tid: int) -> list[int]:
    try:
        return [int(p) for p in (_PROC / str(tid) / "children").read_text().split()]
    except OSError:
        return []


def _threads() -> dict[int, float]:
    out: dict[int, float] = {}
    try:
        tids = [int(p.name) for p in _PROC.iterdir()]
    except OSError:
        return out
    for tid in tids:
        cpu = _stat_cpu(_PROC / str(tid) / "stat")
        if cpu is not None:
            out[tid] = cpu
    return out


def _process_cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class StageLog:
    """The stages of one run and the sampler that reads their processes' CPU time."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.started = time.monotonic()
        self._cpu0 = _process_cpu()
        self._runs: list[StageRun] = []
        self._active: dict[int, StageRun] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seen = _threads()
        self._sampler: threading.Thread | None = None
        self._closed: tuple[float, float] | None = None
        self._interval: tuple[str, float, float] | None = None

    def begin_interval(self, name: str) -> None:
        """Open a stage that no single thread runs (Prefect's start-up before the flow), timed
        by the whole process's CPU: use it only where nothing else runs."""
        self._interval = (name, time.monotonic(), _process_cpu())

    def end_interval(self) -> None:
        """Close the stage `begin_interval` opened, if any."""
        if self._interval is None:
            return
        name, start, cpu0 = self._interval
        self._interval = None
        with self._lock:
            self._runs.append(StageRun(name, start, 0, end=time.monotonic(), thread_cpu=_process_cpu() - cpu0))

    def _ensure_sampler(self) -> None:
        if self._sampler is None and _PROC.is_dir():
            self._sampler = threading.Thread(target=self._sample_loop, name="touktouk-stage-sampler", daemon=True)
            self._sampler.start()

    def _sample_loop(self) -> None:
        me = threading.get_native_id()
        while not self._stop.wait(SAMPLE_S):
            self.sample(skip=me)

    def sample(self, skip: int = 0) -> None:
        """Read the CPU time of the active stages' child processes and of the threads no stage owns."""
        threads = _threads()
        with self._lock:
            active = list(self._active.values())
            for run in active:
                for pid in _children(run.tid):
                    if pid in run.older:
                        continue
                    cpu = _stat_cpu(Path(f"/proc/{pid}/stat"), with_children=True)
                    if cpu is not None:
                        run.children[pid] = max(run.children.get(pid, 0.0), cpu)
            owned = {r.tid for r in active} | {skip}
            other = sum(max(0.0, cpu - self._seen.get(tid, 0.0)) for tid, cpu in threads.items() if tid not in owned)
            self._seen = threads
            native = [r for r in active if r.native]
            for run in native:
                run.other_cpu += other / len(native)

    @contextmanager
    def stage(self, name: str, *, native: bool = False) -> Iterator[None]:
        tid = threading.get_native_id()
        with self._lock:
            nested = tid in self._active
            if not nested:
                run = StageRun(name, time.monotonic(), tid, native, older=frozenset(_children(tid)))
                self._runs.append(run)
                self._active[tid] = run
        if nested:  # an inner stage of the same thread is counted in the outer one
            yield
            return
        self._ensure_sampler()
        cpu0 = time.thread_time()
        try:
            yield
        finally:
            self.sample()
            with self._lock:
                run.thread_cpu = time.thread_time() - cpu0
                run.end = time.monotonic()
                del self._active[tid]

    def close(self) -> RunTimes:
        """Stop sampling; the run's stages and exact totals up to now (called again: the same)."""
        if self._closed is None:
            self._stop.set()
            self._closed = (time.monotonic() - self.started, _process_cpu() - self._cpu0)
        return self.times(*self._closed)

    def times(self, wall: float | None = None, cpu: float | None = None) -> RunTimes:
        """The stages so far (those still running up to now) and the run's totals up to now."""
        now = time.monotonic()
        with self._lock:
            runs = [(r.name, r.start, r.end if r.end is not None else now, r.cpu) for r in self._runs]
        return RunTimes(
            rows=aggregate(runs),
            wall=now - self.started if wall is None else wall,
            cpu=_process_cpu() - self._cpu0 if cpu is None else cpu,
            cores=self.cores,
        )


def aggregate(runs: Sequence[tuple[str, float, float, float]]) -> tuple[StageRow, ...]:
    """(name, start, end, cpu) per stage run → one row per stage, in the order stages first started."""
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for name, start, end, cpu in sorted(runs, key=lambda r: r[1]):
        rows.setdefault(name, []).append((start, end, cpu))
    return tuple(
        StageRow(
            name=name,
            runs=len(rs),
            wall=sum(e - s for s, e, _ in rs),
            span=max(e for _, e, _ in rs) - min(s for s, _, _ in rs),
            cpu=sum(c for _, _, c in rs),
        )
        for name, rs in rows.items()
    )


def _cores(row: StageRow) -> str:
    return f"{row.cpu / row.span:.2f}" if row.span else ""


def table_lines(times: RunTimes, *, markdown: bool = False) -> list[str]:
    """The per-stage table: runs, wall (summed over runs, and first start to last end), CPU, and
    the cores it kept busy (CPU / span); then the run's totals and the share the cores were busy."""
    head = ("stage", "runs", "wall s", "span s", "CPU s", "cores")
    body = [(r.name, str(r.runs), f"{r.wall:.1f}", f"{r.span:.1f}", f"{r.cpu:.1f}", _cores(r)) for r in times.rows]
    body.append(("(not in a stage)", "", "", "", f"{times.unattributed_cpu:.1f}", ""))
    total = (
        f"Run: {times.wall:.1f} s wall, {times.cpu:.1f} CPU s on {times.cores} cores: "
        f"the cores were busy {100 * times.busy:.0f} % of the wall time"
    )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return [*lines, "", total]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    return [fmt(head), *(fmt(row) for row in body), total]


CURRENT: ContextVar[StageLog | None] = ContextVar("touktouk_stage_log", default=None)


@contextmanager
def stage(name: str, *, native: bool = False) -> Iterator[None]:
    """Time this block as stage `name` in the run's log, if the run keeps one."""
    log = CURRENT.get()
    if log is None:
        yield
        return
    with log.stage(name, native=native):
        yield


P = ParamSpec("P")
R = TypeVar("R")


def staged(name: str, *, native: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a task's function: each call is timed as stage `name` (see `stage`)."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with stage(name, native=native):
                return fn(*args, **kwargs)

        return timed

    return wrap
