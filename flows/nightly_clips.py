"""Deployment entry point for the `nightly-clips` flow: publish every footage file of an inbox
(a folder, or an S3 prefix `s3://bucket/inbox/`) that has no manifest in the store yet (see
README, "Prefect").

Each episode runs as its own `publish-episode` flow run, so any worker of the work pool can take
it; at most `concurrency` (parameter; default: environment variable TOUKTOUK_NIGHTLY_CONCURRENCY,
else 2) run at once.
"""

from __future__ import annotations

import os
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
from touktouk.store.keys import episode_prefix, manifest_key
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


def pending_footage(inbox: str, store: str | None, config: str | None) -> list[Pending]:
    """Each inbox file whose manifest is not in the store.

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
        if not target.exists(manifest_key(episode_prefix(inputs.series, inputs.episode))):
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


@task(name="publish from inbox", cache_policy=NO_CACHE, tags=["touktouk-publish"])
def publish_one(footage: str, episode: str | None, store: str | None, config: str | None, deployment: str) -> str:
    params = {"footage": footage, "episode": episode, "store": store, "config": config}
    if not deployment:
        return publish_episode(footage, episode, store, config)
    name = footage.rsplit("/", 1)[-1]
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
) -> list[str]:
    """Publish every footage file in the inbox that has no manifest in the store yet.

    Args:
        inbox: folder of footage files (relative to the project folder on the worker), or an S3 prefix
            s3://bucket/inbox/ (files directly under it; each is downloaded by the run that publishes it).
        store: folder, file:// URL or s3://bucket/prefix; default from the series config.
        config: path to the series config (default config/touktouk.toml).
        deployment: the deployment that publishes one episode; empty: publish inside this run.
        concurrency: episodes published at once; empty: TOUKTOUK_NIGHTLY_CONCURRENCY, else 2.
    """
    logger = get_run_logger()
    limit = concurrency or default_concurrency()
    todo, clashes = split_clashes(pending_footage(inbox, store, config))
    for clash in clashes:
        logger.error(clash)
    logger.info("%d footage file(s) without a manifest in %s; %d at a time", len(todo), inbox, limit)
    futures = at_most(limit, todo, lambda i: publish_one.submit(i.footage, i.episode, store, config, deployment))
    published = [f.result() for f in futures]
    if clashes:
        # The others are published; the run still fails so the held-back files are seen.
        raise ConfigError(" ".join(clashes))
    return published


if __name__ == "__main__":
    print(nightly_clips())
