"""Stage timing: each stage's CPU time is its own (its thread, the processes it started, the native
threads it runs), stages running at once do not take each other's, and the table adds up."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import copy_context

from touktouk.stages import CURRENT, RunTimes, StageLog, StageRow, aggregate, stage, staged, table_lines

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


@contextmanager
def current_log(cores: int) -> Iterator[StageLog]:
    """A run's log, current in this context (as the flow sets it)."""
    log = StageLog(cores=cores)
    token = CURRENT.set(log)
    try:
        yield log
    finally:
        CURRENT.reset(token)


def burn_in_python(seconds: float) -> None:
    t = time.thread_time()
    while time.thread_time() - t < seconds:
        pass


def test_a_child_process_counts_for_the_stage_that_started_it_not_for_the_one_beside_it() -> None:
    gate = threading.Barrier(2)

    def child() -> None:
        with stage("child process"):
            gate.wait()
            subprocess.run([sys.executable, "-c", BURN.format(s=1.5)], check=True)

    def idle() -> None:
        with stage("waiting"):
            gate.wait()
            time.sleep(1.7)

    with current_log(2) as log:
        # as Prefect's thread pool runs a task: in a copy of the submitting context
        threads = [threading.Thread(target=copy_context().run, args=(f,)) for f in (child, idle)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    times = log.close()
    rows = {r.name: r for r in times.rows}
    assert 0.9 <= rows["child process"].cpu <= 1.9, rows  # a sample every 0.5 s: its last one may be missed
    assert rows["waiting"].cpu < 0.1, rows
    assert rows["waiting"].wall >= 1.7
    # The run's total is exact (getrusage): it holds the child's CPU and more than the stages'.
    assert times.cpu >= rows["child process"].cpu - 0.05


def test_a_process_started_before_the_stage_is_not_the_stages() -> None:
    """Prefect's temporary server is a child of the thread that runs the flow's own stages."""
    server = subprocess.Popen([sys.executable, "-c", BURN.format(s=1.5)])
    try:
        time.sleep(0.2)
        with current_log(2) as log, stage("in the flow's thread"):
            time.sleep(0.8)
    finally:
        server.wait()
    rows = {r.name: r for r in log.close().rows}
    assert rows["in the flow's thread"].cpu < 0.1, rows


def test_a_native_stage_gets_the_cpu_of_threads_no_stage_owns_while_a_plain_one_does_not() -> None:
    with current_log(2) as log:
        for name, native in (("model", True), ("plain", False)):
            with stage(name, native=native):
                helper = threading.Thread(target=burn_in_python, args=(0.6,))  # like Whisper's compute threads
                helper.start()
                helper.join()
    times = log.close()
    rows = {r.name: r for r in times.rows}
    assert 0.4 <= rows["model"].cpu <= 0.9, rows
    assert rows["plain"].cpu < 0.2, rows
    assert times.unattributed_cpu >= 0.4, "the plain stage's helper thread is nobody's"


def test_a_stage_inside_a_stage_of_the_same_thread_is_counted_once() -> None:
    @staged("inner")
    def work() -> int:
        burn_in_python(0.3)
        return 7

    with current_log(1) as log:
        with stage("outer"):
            assert work() == 7
        assert work() == 7
    rows = {r.name: r for r in log.close().rows}
    assert rows["outer"].runs == 1 and rows["inner"].runs == 1, "the nested call is inside 'outer'"
    assert 0.25 <= rows["outer"].cpu <= 0.5 and 0.25 <= rows["inner"].cpu <= 0.5, rows


def test_without_a_log_stages_do_nothing() -> None:
    assert CURRENT.get() is None
    with stage("nobody times this"):
        pass
    assert staged("x")(lambda: 3)() == 3


def test_runs_of_one_stage_are_summed_and_spanned_in_the_order_stages_started() -> None:
    rows = aggregate(
        [("render clip", 10.0, 40.0, 50.0), ("transcribe", 2.0, 9.0, 13.0), ("render clip", 12.0, 45.0, 55.0)]
    )
    assert rows == (
        StageRow("transcribe", runs=1, wall=7.0, span=7.0, cpu=13.0),
        StageRow("render clip", runs=2, wall=63.0, span=35.0, cpu=105.0),
    )


def test_the_table_shows_each_stage_and_how_busy_the_cores_were() -> None:
    times = RunTimes(
        rows=(StageRow("transcribe", 1, 7.0, 7.0, 13.0), StageRow("render clip", 2, 63.0, 35.0, 105.0)),
        wall=50.0,
        cpu=125.0,
        cores=2,
    )
    assert times.busy == 1.25 and times.unattributed_cpu == 7.0
    text = table_lines(times)
    assert re.match(r"render clip\s+2\s+63\.0\s+35\.0\s+105\.0\s+3\.00$", text[2]), text
    assert text[3].split() == ["(not", "in", "a", "stage)", "7.0"]
    assert text[-1] == "Run: 50.0 s wall, 125.0 CPU s on 2 cores: the cores were busy 125 % of the wall time"
    md = table_lines(times, markdown=True)
    assert md[0] == "| stage | runs | wall s | span s | CPU s | cores |" and "| transcribe | 1 | 7.0 |" in md[2]


def test_an_interval_is_timed_by_the_whole_process() -> None:
    log = StageLog(cores=2)
    log.begin_interval("start-up")
    burn_in_python(0.3)
    log.end_interval()
    log.end_interval()  # closing twice adds nothing
    rows = log.close().rows
    assert [r.name for r in rows] == ["start-up"] and 0.25 <= rows[0].cpu <= 0.6, rows
