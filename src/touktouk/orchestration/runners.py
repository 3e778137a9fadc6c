"""Task runners (threads or Dask) and the retry rule for transient failures."""

from __future__ import annotations

import os
from typing import Any

from prefect import get_run_logger
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from touktouk.errors import ConfigError
from touktouk.store.s3_errors import is_transient

TASK_RUNNER_ENV = "TOUKTOUK_TASK_RUNNER"  # "threads" (default) or "dask": who runs the clip renders
DASK_ADDRESS_ENV = "TOUKTOUK_DASK_ADDRESS"  # tcp://scheduler:8786; empty: a temporary local Dask cluster
RENDER_WORKERS_ENV = "TOUKTOUK_RENDER_WORKERS"  # clips rendered at once on one machine (default 2)


def _render_workers() -> int:
    raw = os.environ.get(RENDER_WORKERS_ENV, "").strip() or "2"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{RENDER_WORKERS_ENV}={raw!r} is not a positive whole number; fix or unset it.")
    return int(raw)


def task_runner_from_env() -> TaskRunner[Any]:
    """The flow's task runner: a thread pool on this machine, or Dask (a scheduler's address in
    TOUKTOUK_DASK_ADDRESS, else a temporary local cluster) to spread clip renders over machines."""
    kind = os.environ.get(TASK_RUNNER_ENV, "").strip().lower() or "threads"
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=_render_workers())
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        address = os.environ.get(DASK_ADDRESS_ENV, "").strip()
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": _render_workers(), "threads_per_worker": 1})
    raise ConfigError(f"{TASK_RUNNER_ENV}={kind!r} is not a task runner; use 'threads' or 'dask', or unset it.")


class FromEnvironment(ThreadPoolTaskRunner):
    """The flow's task runner as declared at import: Prefect takes a copy (`duplicate`) each time
    the flow runs, and this copy is `task_runner_from_env()`, so the environment is read then,
    and a bad TOUKTOUK_TASK_RUNNER or TOUKTOUK_RENDER_WORKERS is a one-sentence error of that run,
    never an import failure."""

    def duplicate(self) -> Any:
        return task_runner_from_env()


def retry_transient(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect retry condition: retry storage and network failures (connection dropped or refused,
    timeouts, 5xx, throttling), never user errors (bad config, bad media, missing bucket)."""
    exc = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    transient = isinstance(exc, BaseException) and is_transient(exc)
    if transient:
        get_run_logger().warning("Transient failure, retrying: %s", exc)
    return transient


TRANSIENT_RETRY_DELAYS: list[float] = [2.0, 10.0]  # seconds before the first and the second retry
