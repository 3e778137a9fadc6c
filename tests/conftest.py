"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from s3server import S3Server, seaweedfs

# The only reasons a test may skip in `make test` (README, Tests): everything else a test needs is
# installed by `make setup`, so any other skip fails the run.
SKIP_ALLOWLIST = (
    # The shared recordings and seed interviews (../shared, README "Tests") are not in the repository.
    "shared FLEURS media absent",
    "shared FLEURS recording not here",
    "the shared seed interviews are not here",
    "/shared/seed/",
    "needs ../shared/media",
    "(the shared lecture recording) is not available",
)
_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        if not any(allowed in reason for allowed in SKIP_ALLOWLIST):
            _skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput") or not _skips:
        return  # an xdist worker: the controller sees every report
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"{len(_skips)} skip(s) not on the allow-list (tests/conftest.py, SKIP_ALLOWLIST):", red=True
        )
        for line in _skips:
            reporter.write_line(f"  {line}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
