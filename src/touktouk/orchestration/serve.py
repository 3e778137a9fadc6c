"""`touktouk serve`: what one machine needs to run ToukTouk from the Prefect UI.

A local Prefect server on loopback, the `touktouk` process work pool, the deployments of
`prefect.yaml` and worker processes. The tests start the server the same way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from touktouk.errors import ToukToukError

POOL = "touktouk"


class ServeError(ToukToukError):
    """The Prefect server, the work pool or the deployments could not be set up."""


def prefect_cli() -> str:
    """The `prefect` command of this environment (beside the running Python)."""
    exe = Path(sys.executable).parent / "prefect"
    return str(exe) if exe.exists() else "prefect"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def api_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/api"


def prefect_env(api: str, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for Prefect commands talking to the server at `api`."""
    env = dict(os.environ if base is None else base)
    env.update(PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


DATABASE_SETTINGS = ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL")
_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def database_url(url: str) -> str:
    """The Prefect server's database URL for `url`: `postgresql://user:password@host:5432/prefect`
    (or `postgres://`) gets Prefect's asyncpg driver, `sqlite:///path.db` aiosqlite."""
    parts = urlsplit(url.strip())
    driver = _DRIVERS.get(parts.scheme.lower())
    if driver is None:
        raise ServeError(
            f"--database {mask_url(url)!r}: not a PostgreSQL or SQLite URL; give "
            "postgresql://user:password@host:5432/database (or sqlite:///path/prefect.db)."
        )
    if driver.startswith("postgresql") and not (parts.hostname and parts.path.strip("/")):
        raise ServeError(
            f"--database {mask_url(url)!r}: name the host and the database, "
            "e.g. postgresql://user:password@127.0.0.1:5432/prefect."
        )
    return driver + url.strip()[len(parts.scheme) :]


def mask_url(url: str) -> str:
    """`url` with its password replaced by ***, for logs and messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unreadable URL>"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def server_env(env: Mapping[str, str], database: str | None) -> dict[str, str]:
    """The server's environment: `env` with its database set to `database` when given."""
    out = dict(env)
    if database:
        url = database_url(database)
        out.update(dict.fromkeys(DATABASE_SETTINGS, url))
    return out


def start_server(host: str, port: int, env: Mapping[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """`prefect server start` in the background; returns once its API answers."""
    out = log.open("ab") if log else None
    proc = subprocess.Popen(
        [prefect_cli(), "server", "start", "--host", host, "--port", str(port)],
        env=dict(env),
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        start_new_session=True,
    )
    try:
        wait_healthy(api_url(host, port), proc)
    except BaseException:
        stop(proc)
        raise
    return proc


def wait_healthy(api: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServeError(f"the Prefect server exited with code {proc.returncode} before answering at {api}.")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise ServeError(f"the Prefect server did not answer at {api} within {timeout:.0f} s.")


def _run(args: Sequence[str], env: Mapping[str, str], cwd: Path, what: str) -> str:
    done = subprocess.run(
        [prefect_cli(), *args], env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise ServeError(f"{what} failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def deploy(env: Mapping[str, str], root: Path, pool: str = POOL) -> str:
    """Create the process work pool (kept if it exists) and register every deployment of prefect.yaml."""
    _run(["work-pool", "create", pool, "--type", "process", "--overwrite"], env, root, f"creating work pool {pool!r}")
    return _run(["--no-prompt", "deploy", "--all"], env, root, "prefect deploy --all")


def start_worker(
    env: Mapping[str, str], root: Path, pool: str = POOL, name: str | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    out = log.open("ab") if log else None
    args = [prefect_cli(), "worker", "start", "--pool", pool, "--type", "process"]
    if name:
        args += ["--name", name]
    return subprocess.Popen(
        args, env=dict(env), cwd=root, stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a process started here and its children (it leads its own session)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout)
    except ProcessLookupError:
        pass


def get_json(url: str, body: object | None = None) -> object:
    """GET (or POST with a JSON body) against the Prefect REST API."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def serve(
    root: Path,
    host: str = "127.0.0.1",
    port: int = 4200,
    pool: str = POOL,
    workers: int = 1,
    database: str | None = None,
) -> None:
    """Start everything and keep it running until Ctrl-C.

    `database`: the server's database URL (PostgreSQL for a shared server; without a password in
    it, asyncpg reads PGPASSWORD); default: Prefect's own setting
    (PREFECT_SERVER_DATABASE_CONNECTION_URL), else SQLite in PREFECT_HOME. Only the server gets
    it: the workers and the flow runs they start talk to the API and never see it or PGPASSWORD.
    """
    api = api_url(host, port)
    senv = server_env(prefect_env(api), database)
    # The workers, `prefect deploy` and the flow runs talk to the API: no database password for them.
    env = {k: v for k, v in senv.items() if k not in (*DATABASE_SETTINGS, "PGPASSWORD")}
    where = mask_url(next((senv[n] for n in DATABASE_SETTINGS if senv.get(n)), "")) or "SQLite in PREFECT_HOME"
    # Ctrl-C and SIGTERM both stop the server and the workers (they run in their own sessions).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"Starting the Prefect server on http://{host}:{port} (database: {where}) …", flush=True)
    server = start_server(host, port, senv)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        print(f"Creating work pool {pool!r} and the deployments of {root / 'prefect.yaml'} …", flush=True)
        deploy(env, root, pool)
        for n in range(workers):
            procs.append(start_worker(env, root, pool, name=f"{socket.gethostname()}-{n + 1}"))
        print(
            f"Ready. Prefect UI: http://{host}:{port}/deployments (Run → Custom run on publish-episode).\n"
            f"Elsewhere: export PREFECT_API_URL={api}; Ctrl-C stops the server and {workers} worker(s).",
            flush=True,
        )
        while server.poll() is None and all(p.poll() is None for p in procs):
            time.sleep(1)
        raise ServeError("the Prefect server or a worker stopped; see its output above.")
    except KeyboardInterrupt:
        print("Stopping …", flush=True)
    finally:
        for p in procs:
            stop(p)
        stop(server)
