"""Test helper: a throw-away PostgreSQL cluster on loopback (Debian's `postgresql` package, which
`make setup` installs), for the Prefect server's database.

Not a test module. `with postgres_cluster() as pg: pg.url("prefect")` gives a
`postgresql+asyncpg://` URL of a fresh database. PostgreSQL refuses to run as root: as root the
cluster runs as the `postgres` system user (the package creates it) in a folder of its own under
the system temp dir (pytest's temp dirs are private to root), otherwise as the current user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from touktouk.orchestration.serve import free_port

PG_VERSIONS = ("17", "16", "15")
USER = "touktouk"


def pg_bin() -> Path | None:
    """The server binaries folder of the newest installed PostgreSQL (Debian layout), or None."""
    for version in PG_VERSIONS:
        folder = Path("/usr/lib/postgresql") / version / "bin"
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: Path

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def _as_owner(args: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *args] if owner else args


def _run(args: list[str], owner: str | None, what: str) -> None:
    done = subprocess.run(_as_owner(args, owner), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")


@contextmanager
def postgres_cluster(databases: tuple[str, ...] = ("prefect",)) -> Iterator[Cluster]:
    """initdb + pg_ctl start on 127.0.0.1 (a free port; its unix socket in its own folder),
    password authentication, the given databases created; stopped and removed afterwards."""
    binaries = pg_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): run 'make setup'")
    owner = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="touktouk-pg-"))
    data, sockets, log = folder / "data", folder / "sockets", folder / "server.log"
    password = os.urandom(12).hex()
    (folder / "pw").write_text(password + "\n", encoding="utf-8")
    sockets.mkdir()
    if owner:
        shutil.chown(folder, owner, owner)
        for p in (folder / "pw", sockets):
            shutil.chown(p, owner, owner)
    port = free_port()
    started = False
    try:
        _run(
            [str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256",
             f"--pwfile={folder / 'pw'}", "--encoding=UTF8", "--locale=C.UTF-8"],
            owner, "initdb",
        )  # fmt: skip
        (folder / "pw").unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c max_connections=200 -c fsync=off"
        _run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            owner, "pg_ctl start",
        )  # fmt: skip
        started = True
        env = dict(os.environ, PGPASSWORD=password)
        for name in databases:
            _create_database(binaries, port, name, env)
        yield Cluster("127.0.0.1", port, USER, password, folder)
    finally:
        if started:
            subprocess.run(
                _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], owner),
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def _create_database(binaries: Path, port: int, name: str, env: dict[str, str]) -> None:
    createdb = binaries / "createdb"
    if not createdb.is_file():
        createdb = Path(shutil.which("createdb") or "createdb")
    for _ in range(20):
        done = subprocess.run(
            [str(createdb), "-h", "127.0.0.1", "-p", str(port), "-U", USER, name],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"createdb {name} failed: {done.stderr[-1500:]}")
