"""Deployment entry point for the `nightly-clips` flow: propose (or publish) every footage file
of an inbox (a folder, or an S3 prefix `s3://bucket/inbox/`) that has neither a manifest nor a
proposal in the store yet (see README, "Prefect").

Each episode runs as its own `publish-episode` flow run, so any worker of the work pool can take
it; at most `concurrency` (parameter; default: environment variable TOUKTOUK_NIGHTLY_CONCURRENCY,
else 2) run at once. With `review` (the default) each run stores its proposal, notifies the
series' webhook and suspends until its producer approves it in the Prefect UI; the nightly run
completes once every proposal is stored, never waiting for a producer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from pydantic import Field

from touktouk.config import load_series
from touktouk.errors import ConfigError
from touktouk.orchestration.flow import publish_episode
from touktouk.pipeline.inputs import load_inputs
from touktouk.store.footage import list_footage
from touktouk.store.keys import episode_prefix, manifest_key, proposal_key
from touktouk.store.url import is_remote, open_store

FOOTAGE_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf"}
CONCURRENCY_ENV = "TOUKTOUK_NIGHTLY_CONCURRENCY"
MAX_CONCURRENCY = 16  # threads of the flow's task runner: the most `concurrency` can ask for

T = TypeVar("T")


def default_concurrency() -> int:
    raw = os.environ.get(CONCURRENCY_ENV, "").strip() or "2"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CONCURRENCY:
        raise ConfigError(
            f"{CONCURRENCY_ENV}={raw!r} is not a whole number from 1 to {MAX_CONCURRENCY}; fix or unset it."
        )
    return int(raw)


def inbox_footage(inbox: str, endpoint_url: str | None = None) -> list[str]:
    """Footage files directly in the inbox: local paths, or s3:// URLs for an S3 prefix."""
    if is_remote(inbox):
        return list_footage(inbox, FOOTAGE_SUFFIXES, endpoint_url=endpoint_url)
    folder = Path(inbox).expanduser()
    if not folder.is_dir():
        return []
    return [str(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in FOOTAGE_SUFFIXES]


class Pending(NamedTuple):
    footage: str
    episode: str | None  # the episode file, or None: the episode is named after the footage
    episode_id: str  # where it publishes (s01e02-slug); two pending files must not share it


def pending_footage(inbox: str, store: str | None, config: str | None, logger: Any = None) -> list[Pending]:
    """Each inbox file with neither a manifest nor a proposal waiting for review in the store.

    An episode file `config/episodes/<footage stem>.toml` beside the series config is used when it
    exists; otherwise the episode is named after the footage file. Nothing is downloaded here.
    """
    episodes = Path(config or "config/touktouk.toml").parent / "episodes"
    endpoint = load_series(config).endpoint_url or None
    pending: list[Pending] = []
    for footage in inbox_footage(inbox, endpoint):
        ep_file = episodes / f"{Path(footage.rsplit('/', 1)[-1]).stem}.toml"
        episode = str(ep_file) if ep_file.is_file() else None
        inputs = load_inputs(footage, episode, store, config)
        target = open_store(inputs.store_url, endpoint_url=endpoint)
        prefix = episode_prefix(inputs.series, inputs.episode)
        if target.exists(manifest_key(prefix)):
            continue
        if target.exists(proposal_key(prefix)):
            if logger is not None:
                logger.info(
                    "%s: a proposal of %s waits for review; not started again", footage, inputs.episode.episode_id
                )
            continue
        pending.append(Pending(footage, episode, inputs.episode.episode_id))
    return pending


def split_clashes(pending: Sequence[Pending]) -> tuple[list[Pending], list[str]]:
    """(files to publish, one message per clash): inbox files that would publish as the same
    episode (interview.mp4 and interview.mov, or two episode files with one slug) are all held
    back, since publishing them together would mix two recordings in one episode folder."""
    by_episode: dict[str, list[Pending]] = {}
    for item in pending:
        by_episode.setdefault(item.episode_id, []).append(item)
    ok = [group[0] for group in by_episode.values() if len(group) == 1]
    clashes = [
        f"{', '.join(i.footage for i in group)}: these inbox files would all publish as episode {eid}; "
        "none of them was published. Rename all but one, or give each its own episode file "
        "(config/episodes/<file name>.toml) with its own slug and number."
        for eid, group in by_episode.items()
        if len(group) > 1
    ]
    return ok, clashes


def at_most(limit: int, items: Sequence[T], submit: Callable[[T], PrefectFuture[Any]]) -> list[PrefectFuture[Any]]:
    """Submit `items` so that at most `limit` are running at once; returns every future, in order."""
    futures: list[PrefectFuture[Any]] = []
    running: set[PrefectFuture[Any]] = set()
    for item in items:
        if len(running) >= limit:
            running.discard(next(as_completed(list(running))))
        future = submit(item)
        futures.append(future)
        running.add(future)
    return futures


POLL_SECONDS = 5.0


def until_waiting_or_done(run: FlowRun, read: Callable[[FlowRun], FlowRun], poll: float = POLL_SECONDS) -> FlowRun:
    """Poll a flow run (`read` gives its latest version) until it is suspended for its producer
    (PAUSED) or has ended."""
    while run.state is None or not (run.state.is_paused() or run.state.is_final()):
        time.sleep(poll)
        run = read(run)
    return run


def _read_run(run: FlowRun) -> FlowRun:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run.id)


@task(name="publish from inbox", cache_policy=NO_CACHE, tags=["touktouk-publish"])
def publish_one(
    footage: str, episode: str | None, store: str | None, config: str | None, deployment: str, review: bool = False
) -> str:
    params = {
        "footage": footage,
        "episode": episode or "",
        "store": store or "",
        "config": config or "",
        "review": review,
    }
    if not deployment:
        # In this run nothing can suspend: with review, the proposal is stored for `touktouk approve`.
        return publish_episode(footage, episode or "", store or "", config or "", review=review)
    name = footage.rsplit("/", 1)[-1]
    if review:
        # timeout=0: do not wait for the run to end (it ends when its producer approves it);
        # as_subflow=False: Prefect suspends only a top-level run, so it is not linked as a subflow.
        started = cast(
            FlowRun,
            run_deployment(deployment, parameters=params, flow_run_name=f"nightly {name}", timeout=0, as_subflow=False),
        )
        run = until_waiting_or_done(started, _read_run)
        assert run.state is not None
        if run.state.is_paused():
            get_run_logger().info("%s: flow run %s waits for its producer's review", footage, run.name)
            return f"{run.name}: waits for review"
    else:
        run = cast(FlowRun, run_deployment(deployment, parameters=params, flow_run_name=f"nightly {name}"))
    if run.state is None or not run.state.is_completed():
        raise RuntimeError(f"{footage}: flow run {run.name} ended {run.state.name if run.state else 'without state'}")
    return str(run.name)


RUNNER: TaskRunner[Any] = ThreadPoolTaskRunner(max_workers=MAX_CONCURRENCY)


@flow(name="nightly-clips", task_runner=RUNNER)
def nightly_clips(
    inbox: str = "inbox",
    store: str | None = None,
    config: str | None = None,
    deployment: str = "publish-episode/publish-episode",
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] | None = None,
    review: bool = True,
) -> list[str]:
    """Propose every new footage file of the inbox for review (or, with review off, publish it).

    Args:
        inbox: folder of footage files (relative to the project folder on the worker), or an S3 prefix
            s3://bucket/inbox/ (files directly under it; each is downloaded by the run that publishes it).
        store: folder, file:// URL or s3://bucket/prefix; default from the series config.
        config: path to the series config (default config/touktouk.toml).
        deployment: the deployment that publishes one episode; empty: publish inside this run.
        concurrency: episodes processed at once; empty: TOUKTOUK_NIGHTLY_CONCURRENCY, else 2.
        review: each episode waits, suspended, for its producer's approval in the Prefect UI (this run
            ends once every proposal is stored); off: publish without review.
    """
    logger = get_run_logger()
    limit = concurrency or default_concurrency()
    todo, clashes = split_clashes(pending_footage(inbox, store, config, logger))
    for clash in clashes:
        logger.error(clash)
    logger.info("%d new footage file(s) in %s; %d at a time", len(todo), inbox, limit)
    futures = at_most(
        limit, todo, lambda i: publish_one.submit(i.footage, i.episode, store, config, deployment, review)
    )
    published = [f.result() for f in futures]
    if clashes:
        # The others are published; the run still fails so the held-back files are seen.
        raise ConfigError(" ".join(clashes))
    return published


if __name__ == "__main__":
    print(nightly_clips())
