"""Deployment entry point for the `nightly-clips` flow: publish every footage file of an inbox
folder that has no manifest in the store yet (see README, "Prefect").

Each episode runs as its own `publish-episode` flow run, so any worker of the work pool can take
it; at most `NIGHTLY_CONCURRENCY` (environment variable TOUKTOUK_NIGHTLY_CONCURRENCY, default 2)
run at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.deployments import run_deployment
from prefect.task_runners import ThreadPoolTaskRunner

from touktouk import manifest
from touktouk.flow import load_inputs, publish_episode
from touktouk.storage import open_store

FOOTAGE_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf"}
NIGHTLY_CONCURRENCY = max(1, int(os.environ.get("TOUKTOUK_NIGHTLY_CONCURRENCY", "2")))


def pending_footage(inbox: str, store: str | None, config: str | None) -> list[tuple[str, str | None]]:
    """(footage, episode file or None) for each inbox file whose manifest is not in the store.

    An episode file `config/episodes/<footage stem>.toml` beside the series config is used when it
    exists; otherwise the episode is named after the footage file.
    """
    folder = Path(inbox).expanduser()
    episodes = Path(config or "config/touktouk.toml").parent / "episodes"
    pending: list[tuple[str, str | None]] = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_file() or path.suffix.lower() not in FOOTAGE_SUFFIXES:
            continue
        ep_file = episodes / f"{path.stem}.toml"
        episode = str(ep_file) if ep_file.is_file() else None
        inputs = load_inputs(str(path), episode, store, config)
        target = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
        if not target.exists(manifest.manifest_key(manifest.episode_prefix(inputs.series, inputs.episode))):
            pending.append((str(path), episode))
    return pending


@task(name="publish from inbox", cache_policy=NO_CACHE, tags=["touktouk-publish"])
def publish_one(footage: str, episode: str | None, store: str | None, config: str | None, deployment: str) -> str:
    params = {"footage": footage, "episode": episode, "store": store, "config": config}
    if not deployment:
        return publish_episode(footage, episode, store, config)
    run = run_deployment(deployment, parameters=params, flow_run_name=f"nightly {Path(footage).name}")
    if run.state is None or not run.state.is_completed():
        raise RuntimeError(f"{footage}: flow run {run.name} ended {run.state.name if run.state else 'without state'}")
    return str(run.name)


@flow(name="nightly-clips", task_runner=ThreadPoolTaskRunner(max_workers=NIGHTLY_CONCURRENCY))
def nightly_clips(
    inbox: str = "inbox",
    store: str | None = None,
    config: str | None = None,
    deployment: str = "publish-episode/publish-episode",
) -> list[str]:
    """Publish every footage file in the inbox that has no manifest in the store yet.

    Args:
        inbox: folder of footage files (relative to the project folder on the worker).
        store: folder, file:// URL or s3://bucket/prefix; default from the series config.
        config: path to the series config (default config/touktouk.toml).
        deployment: the deployment that publishes one episode; empty: publish inside this run.
    """
    logger = get_run_logger()
    todo = pending_footage(inbox, store, config)
    logger.info("%d footage file(s) without a manifest in %s", len(todo), inbox)
    futures = [publish_one.submit(f, e, store, config, deployment) for f, e in todo]
    return [f.result() for f in futures]


if __name__ == "__main__":
    print(nightly_clips())
