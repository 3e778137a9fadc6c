"""A season on a shared server: `touktouk serve --database postgresql://…` with two process
workers, the Prefect server's database in a PostgreSQL cluster started here on loopback
(Debian's `postgresql`, installed by `make setup`), an S3 store (SeaweedFS behind the counting
proxy) and `nightly-clips` publishing an inbox of 12 short real-speech episodes, 2 at a time.

Every episode is published exactly once (one manifest, no proposal, no history), no object is
uploaded twice, at most 2 publish runs overlap, and the season's wall time is printed against
the sum of the single runs' durations (`pytest -s` shows it)."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from faultproxy import FaultProxy
from media_fixtures import FLEURS, SHARED_MEDIA, espeak_episode, ffmpeg, have_shared
from pg_cluster import Cluster, postgres_cluster
from s3server import S3Server
from touktouk.orchestration.serve import POOL, api_url, free_port, get_json, stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EPISODES = 12
CONCURRENCY = 2
WORKERS = 2
BUCKET = "season"
SEASON_TIMEOUT = 900.0
COLOURS = ("navy", "darkgreen", "maroon", "indigo", "teal", "olive", "purple", "sienna", "slategray", "darkcyan",
           "firebrick", "darkslateblue")  # fmt: skip

SERIES = """
series = "ToukTouk"
series_slug = "touktouk"
language = "fr"
store = "s3://{bucket}/shows"

[whisper]
model = "base"

[brand]
fonts_dir = "/usr/share/fonts/truetype/dejavu"

[clips]
auto_clips = 1
min_seconds = 4
max_seconds = 12
platforms = ["tiktok"]

[render]
preset = "ultrafast"
crf = 30
youtube_master = false

[speakers]
diarize = false  # the season is about the server and its workers; each run would load torch
"""


def season_footage(folder: Path, work: Path) -> list[Path]:
    """12 short episodes of real French speech: windows of the four FLEURS recordings, each over
    a picture of its own colour (every file has its own audio, so each is transcribed); without
    the shared media, windows of the project-made espeak-ng interview."""
    folder.mkdir(parents=True)
    if have_shared(*(f"{n}.ogg" for n in FLEURS)):
        sources = [SHARED_MEDIA / f"{n}.ogg" for n in FLEURS]
        step = 0.5
    else:
        sources = [espeak_episode(work / "espeak.mp4").path]
        step = 4.5
    files = []
    for i in range(EPISODES):
        source = sources[i % len(sources)]
        offset = (i // len(sources)) * step
        out = folder / f"lecture-{i + 1:02d}.mp4"
        ffmpeg(
            "-ss", f"{offset}", "-t", "14", "-i", str(source),
            "-f", "lavfi", "-i", f"color=c={COLOURS[i]}:s=640x360:r=25",
            "-map", "1:v", "-map", "0:a", "-shortest",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-ar", "48000", "-ac", "2", str(out),
        )  # fmt: skip
        files.append(out)
    return files


@dataclass
class Serve:
    proc: subprocess.Popen[bytes]
    api: str
    log: Path
    home: Path

    def get(self, path: str) -> Any:
        return get_json(self.api + path)

    def post(self, path: str, body: object) -> Any:
        return get_json(self.api + path, body)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with postgres_cluster(("prefect", "second")) as pg:
        yield pg


@pytest.fixture(scope="module")
def proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    s3_server.make_bucket(BUCKET)
    with FaultProxy(s3_server.endpoint_url) as p:
        yield p


@pytest.fixture(scope="module")
def served(
    cluster: Cluster, s3_server: S3Server, proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Serve]:
    """`touktouk serve --database postgresql://… --workers 2` from the project folder, its
    workers' S3 traffic through the counting proxy."""
    tmp = tmp_path_factory.mktemp("season-serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AWS_"))}
    env.update(
        PREFECT_HOME=str(tmp / "home"),
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_LOGGING_LEVEL="INFO",
        TOUKTOUK_CACHE_DIR=str(tmp / "transcripts"),
        AWS_ACCESS_KEY_ID=s3_server.access_key,
        AWS_SECRET_ACCESS_KEY=s3_server.secret_key,
        AWS_DEFAULT_REGION=s3_server.region,
        AWS_ENDPOINT_URL=proxy.url,
    )
    log = tmp / "serve.log"
    database = cluster.url("prefect", driver="postgresql")
    args = [sys.executable, "-m", "touktouk.cli", "serve", "--port", str(port), "--workers", str(WORKERS)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*args, "--database", database],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    serve = Serve(proc, api_url("127.0.0.1", port), log, tmp / "home")
    try:
        deadline = time.monotonic() + 240
        while "Ready." not in serve.output():
            assert proc.poll() is None, f"touktouk serve exited {proc.returncode}:\n{serve.output()[-4000:]}"
            assert time.monotonic() < deadline, f"touktouk serve not ready after 240 s:\n{serve.output()[-4000:]}"
            time.sleep(1)
        while len(online_workers(serve)) < WORKERS:
            assert time.monotonic() < deadline, f"{WORKERS} workers never came online:\n{serve.output()[-4000:]}"
            time.sleep(1)
        yield serve
    finally:
        stop(proc, timeout=60)


def online_workers(serve: Serve) -> list[dict[str, Any]]:
    workers: list[dict[str, Any]] = serve.post(f"/work_pools/{POOL}/workers/filter", {})
    return [w for w in workers if w.get("status") == "ONLINE"]


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def max_overlap(spans: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running = most = 0
    for _, delta in events:
        running += delta
        most = max(most, running)
    return most


def rows_in_postgres(cluster: Cluster, name_like: str, database: str = "prefect") -> int:
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(cluster.url(database, driver="postgresql"))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM flow_run WHERE name LIKE $1", name_like))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_a_season_of_twelve_episodes_on_postgres_with_two_workers(
    served: Serve, cluster: Cluster, s3_server: S3Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    output = served.output()
    assert "database: postgresql+asyncpg://touktouk:***@127.0.0.1:" in output, output[-2000:]
    assert cluster.password not in output
    assert not (served.home / "prefect.db").exists(), "the server uses PostgreSQL, not SQLite"

    inbox = tmp_path / "inbox"
    footage = season_footage(inbox, tmp_path)
    series = tmp_path / "touktouk.toml"
    series.write_text(SERIES.format(bucket=BUCKET), encoding="utf-8")
    proxy.reset()
    params = {
        "inbox": str(inbox),
        "config": str(series),
        "deployment": "publish-episode/publish-episode",
        "concurrency": CONCURRENCY,
        "review": False,
    }
    nightly_dep = served.get("/deployments/name/nightly-clips/nightly-clips")
    began = time.monotonic()
    created = served.post(f"/deployments/{nightly_dep['id']}/create_flow_run", {"parameters": params})
    deadline = began + SEASON_TIMEOUT
    while True:
        nightly = served.get(f"/flow_runs/{created['id']}")
        if nightly["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            break
        assert time.monotonic() < deadline, f"the season is not done after {SEASON_TIMEOUT:.0f} s"
        time.sleep(3)
    elapsed = time.monotonic() - began
    assert nightly["state"]["type"] == "COMPLETED", f"{nightly['state']}\n{served.output()[-6000:]}"

    # One publish-episode run per inbox file, each completed, none twice.
    runs = served.post("/flow_runs/filter", {"flow_runs": {"name": {"like_": "nightly "}}})
    ours = [r for r in runs if r["parameters"].get("config") == str(series)]
    names = collections.Counter(r["name"] for r in ours)
    assert names == collections.Counter(f"nightly {f.name}" for f in footage), names
    for run in ours:
        assert run["state"]["type"] == "COMPLETED", (run["name"], run["state"])
        assert run["parameters"]["review"] is False
    assert rows_in_postgres(cluster, "nightly lecture-%") == EPISODES, "the runs are in PostgreSQL"
    # Each run was started by one worker, once: when both workers claim a run at the same moment,
    # the server (its state change a PostgreSQL transaction) turns the second one away.
    log = served.output()
    ids = {r["id"] for r in ours}
    claims = [(w, i) for w, i in re.findall(r"Worker '([^']+)' submitting flow run '([0-9a-f-]+)'", log) if i in ids]
    aborted = collections.Counter(i for i in re.findall(r"Aborted submission of flow run '([0-9a-f-]+)'", log))
    started = collections.Counter(re.findall(r"Flow run '(nightly lecture-\d+\.mp4)' submitted to infrastructure", log))
    assert started == names, started
    claimed = collections.Counter(i for _, i in claims)
    assert all(claimed[i] - aborted[i] == 1 for i in ids), (claimed, aborted)
    races = sum(aborted[i] for i in ids)
    per_worker = collections.Counter(w for w, _ in claims)

    # The concurrency limit held.
    spans = [(when(r["start_time"]), when(r["end_time"])) for r in ours]
    overlap = max_overlap(spans)
    assert overlap <= CONCURRENCY, f"{overlap} publish runs overlapped; the limit is {CONCURRENCY}"
    assert overlap == CONCURRENCY, "two workers and concurrency 2: runs should overlap"

    # Every episode published exactly once: one manifest, no proposal, no replaced manifest.
    s3 = s3_server.client()
    listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in
              page.get("Contents", [])]  # fmt: skip
    manifests = sorted(k for k in listed if k.endswith("/manifest.json"))
    expected = sorted(f"shows/touktouk/s01/e00-{f.stem}/manifest.json" for f in footage)
    assert manifests == expected
    assert not [k for k in listed if k.endswith("/proposal.json") or "/history/" in k]
    clips = 0
    for key in manifests:
        manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        prefix = key.rsplit("/", 1)[0]
        assert manifest["episode"]["id"] == "s01e00-" + prefix.rsplit("/e00-", 1)[1]
        for clip in manifest["clips"]:
            clips += 1
            for out in clip["outputs"]:
                assert f"shows/{out['key']}" in listed, out["key"]
    assert clips >= EPISODES - 2, f"only {clips} clips in {EPISODES} episodes"

    # No object uploaded twice: one write per stored key, and every write is a stored key.
    puts = collections.Counter(
        r.path.split("?", 1)[0].removeprefix(f"/{BUCKET}/")
        for r in proxy.writes()
        if "uploadId=" not in r.query  # a multipart upload counts once: its POST ?uploads
    )
    twice = {k: n for k, n in puts.items() if n > 1}
    assert not twice, f"uploaded more than once: {twice}"
    assert set(puts) == set(listed)

    # The season against the sum of its single runs.
    total = sum(float(r["total_run_time"]) for r in ours)
    durations = sorted((when(r["end_time"]) - when(r["start_time"])).total_seconds() for r in ours)
    season = (when(nightly["end_time"]) - when(nightly["start_time"])).total_seconds()
    print(
        f"\nSeason of {EPISODES} episodes, concurrency {CONCURRENCY}, {WORKERS} workers, Prefect on PostgreSQL: "
        f"{season:.0f} s wall (nightly-clips run; {elapsed:.0f} s from trigger to done) against "
        f"{total:.0f} s for the sum of the single runs ({season / total:.2f}x); single runs "
        f"{durations[0]:.0f}-{durations[-1]:.0f} s, median {durations[len(durations) // 2]:.0f} s; "
        f"{clips} clips, {sum(puts.values())} objects written once each; claims per worker: {dict(per_worker)}, "
        f"{races} double claim(s) turned away by the server."
    )
    assert season < total, "two runs at a time: the season is shorter than its runs one after another"


def test_only_the_server_sees_the_database_password(served: Serve, cluster: Cluster) -> None:
    """The password is never printed, and of the processes `touktouk serve` started only the
    Prefect server has it in its environment (workers and flow runs talk to the API)."""
    import psutil

    assert cluster.password not in served.output()
    children = psutil.Process(served.proc.pid).children(recursive=True)
    commands = {p.pid: " ".join(p.cmdline()) for p in children}
    holders = {pid for pid in commands if any(cluster.password in v for v in psutil.Process(pid).environ().values())}
    workers = {pid for pid, cmd in commands.items() if " worker start " in cmd}
    assert len(workers) == WORKERS, commands
    assert holders and not holders & workers, {pid: commands[pid] for pid in holders}
    assert all(" server " in commands[pid] or "uvicorn" in commands[pid] for pid in holders), commands


def test_a_server_on_postgres_with_the_password_in_pgpassword(cluster: Cluster, tmp_path: Path) -> None:
    """`--database postgresql://user@host/db` without a password: asyncpg takes PGPASSWORD."""
    from touktouk.orchestration.serve import prefect_env, server_env, start_server

    port = free_port()
    api = api_url("127.0.0.1", port)
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base.update(PGPASSWORD=cluster.password, PREFECT_HOME=str(tmp_path / "home"))
    url = f"postgresql://{cluster.user}@{cluster.host}:{cluster.port}/second"
    proc = start_server("127.0.0.1", port, server_env(prefect_env(api, base), url), log=tmp_path / "server.log")
    try:
        assert get_json(api + "/flow_runs/filter", {}) == []
        assert get_json(api + "/work_pools/filter", {}) == []
    finally:
        stop(proc)
    assert not (tmp_path / "home" / "prefect.db").exists()
    assert rows_in_postgres(cluster, "%", database="second") == 0, "its tables are in PostgreSQL"


def test_serve_masks_the_database_password_and_refuses_other_databases(served: Serve, cluster: Cluster) -> None:
    from touktouk.orchestration.serve import ServeError, database_url, mask_url

    assert cluster.password not in served.output()
    assert mask_url("postgresql://u:s3cret@db:5432/prefect") == "postgresql://u:***@db:5432/prefect"
    assert database_url("postgresql://u:pw@db/prefect") == "postgresql+asyncpg://u:pw@db/prefect"
    assert database_url("sqlite:///tmp/prefect.db") == "sqlite+aiosqlite:///tmp/prefect.db"
    with pytest.raises(ServeError, match=r"mysql://u:\*\*\*@db/x.*not a PostgreSQL or SQLite URL") as exc:
        database_url("mysql://u:pw@db/x")
    assert "pw" not in str(exc.value)
