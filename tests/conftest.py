"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from s3server import S3Server, seaweedfs

@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real SeaweedFS S3 server for the whole test session."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """AWS_* environment pointing boto3's default chain at the test server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    # These would override or disturb the values above if set in the developer's shell.
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return s3_server


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A temporary Prefect API for flows run in-process; transcripts cached per session."""
    import os

    from prefect.testing.utilities import prefect_test_harness

    os.environ["TOUKTOUK_CACHE_DIR"] = str(tmp_path_factory.mktemp("transcripts"))
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `prefect server` for a module whose tests run `touktouk publish` as subprocesses, so
    each publish starts its flow at once."""
    from touktouk.orchestration.serve import api_url, free_port, prefect_env, start_server, stop

    tmp = tmp_path_factory.mktemp("module-prefect")
    port = free_port()
    api = api_url("127.0.0.1", port)
    proc = start_server("127.0.0.1", port, prefect_env(api, PREFECT_HOME=str(tmp / "home")), log=tmp / "server.log")
    try:
        yield api
    finally:
        stop(proc)


@pytest.fixture
def holding_proxy(s3_env: S3Server) -> Iterator[object]:
    """The counting proxy in front of the session's SeaweedFS, able to hold one PUT's answer
    (tests/crash_helpers.py)."""
    from crash_helpers import HoldingProxy

    with HoldingProxy(s3_env.endpoint_url) as p:
        try:
            yield p
        finally:
            p.release()
