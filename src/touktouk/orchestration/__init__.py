"""Prefect: the publish-episode flow, its tasks, cache keys, task runners, the run's artifacts, `serve`."""
