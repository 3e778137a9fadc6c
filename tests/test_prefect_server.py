"""Prefect operations against a real `prefect server` started on loopback by this module:
`prefect deploy --all`, the nightly schedule, a worker running `publish-episode` triggered
through the REST API, and the Prefect UI's Run → Custom run in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from media_fixtures import espeak_episode
from pipeline_helpers import load_json, write_episode, write_series
from touktouk.orchestration.serve import (
    api_url,
    deploy,
    free_port,
    get_json,
    prefect_env,
    start_server,
    start_worker,
    stop,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = ROOT / "tests" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
RUN_TIMEOUT = 240.0


@dataclass
class Server:
    api: str
    ui: str
    env: dict[str, str]
    tmp: Path

    def get(self, path: str) -> Any:
        return get_json(self.api + path)

    def post(self, path: str, body: object) -> Any:
        return get_json(self.api + path, body)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on a free loopback port with its own PREFECT_HOME (and database)."""
    tmp = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    api = api_url("127.0.0.1", port)
    env = prefect_env(
        api,
        PREFECT_HOME=str(tmp / "home"),
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_LOGGING_LEVEL="INFO",
        TOUKTOUK_CACHE_DIR=str(tmp / "transcripts"),
    )
    proc = start_server("127.0.0.1", port, env, log=tmp / "server.log")
    try:
        yield Server(api, f"http://127.0.0.1:{port}", env, tmp)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def deployments(prefect_server: Server) -> dict[str, dict[str, Any]]:
    """`prefect deploy --all` from the project folder; the deployments by name, from the API."""
    deploy(prefect_server.env, ROOT)
    found = prefect_server.post("/deployments/filter", {})
    return {d["name"]: d for d in found}


@pytest.fixture(scope="session")
def worker(prefect_server: Server, deployments: dict[str, dict[str, Any]]) -> Iterator[Path]:
    """One process worker of the `touktouk` pool; yields its log file."""
    log = prefect_server.tmp / "worker.log"
    proc = start_worker(prefect_server.env, ROOT, log=log)
    try:
        yield log
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def episode_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("prefect-episode")
    footage = espeak_episode(tmp / "episode.mp4").path
    series = write_series(tmp / "touktouk.toml", store=str(tmp / "default-store"), platforms=("tiktok",), auto_clips=1)
    # Shorter automatic clips than the series default keep the render (the slow part) short.
    series.write_text(series.read_text(encoding="utf-8").replace("max_seconds = 60", "max_seconds = 25"))
    episode = write_episode(tmp / "episode.toml", slug="prefect-demo", vocabulary=False)
    return {"footage": footage, "series": series, "episode": episode, "tmp": tmp}


def wait_for_run(server: Server, flow_run_id: str, worker_log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run: dict[str, Any] = server.get(f"/flow_runs/{flow_run_id}")
        if run["state"] and run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return run
        time.sleep(2)
    tail = worker_log.read_text(errors="replace")[-3000:] if worker_log.exists() else ""
    raise AssertionError(f"flow run {flow_run_id} not finished after {RUN_TIMEOUT:.0f} s; worker log:\n{tail}")


def resume(server: Server, flow_run_id: str, run_input: dict[str, Any]) -> dict[str, Any]:
    """POST the producer's answer; the server may answer 503 for a moment while the run is
    being suspended again, so retry that."""
    import urllib.error

    for _ in range(30):
        try:
            answer: dict[str, Any] = server.post(f"/flow_runs/{flow_run_id}/resume", {"run_input": run_input})
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                raise
            print("resume answered 503:", exc.read()[:500])
            time.sleep(2)
            continue
        return answer
    raise AssertionError("the server kept answering 503 to the resume")


def run_parameters(episode_files: dict[str, Path], store: Path, **extra: Any) -> dict[str, Any]:
    """publish-episode's parameters for the test episode: one automatic clip, for TikTok."""
    return {
        "footage": str(episode_files["footage"]),
        "episode": str(episode_files["episode"]),
        "config": str(episode_files["series"]),
        "store": str(store),
        "platforms": ["tiktok"],
        "auto_clips": 1,
        **extra,
    }


def manifest_at(store: Path) -> dict[str, Any]:
    path = store / "touktouk" / "s01" / "e07-prefect-demo" / "manifest.json"
    assert path.is_file(), f"no manifest at {path}"
    return load_json(path.read_bytes())


def test_deploy_all_registers_both_deployments_on_the_process_pool(prefect_server, deployments):
    assert set(deployments) >= {"publish-episode", "nightly-clips"}
    for d in deployments.values():
        assert d["work_pool_name"] == "touktouk"
    pool = prefect_server.get("/work_pools/touktouk")
    assert pool["type"] == "process"
    schema = deployments["publish-episode"]["parameter_openapi_schema"]
    props = schema["properties"]
    assert schema.get("required", []) == [], "footage may be left empty: the episode file's shoot"
    for name in ("footage", "episode", "platforms", "auto_clips", "caption_style"):
        assert props[name]["description"], f"{name} has no description in the UI form"
    assert props["caption_style"]["default"] == "karaoke"
    assert props["caption_style"]["enum"] == ["karaoke", "plain"]
    assert "tiktok" in json.dumps(props["platforms"])
    assert deployments["publish-episode"]["schedules"] == []


def test_nightly_clips_runs_at_two_in_paris(prefect_server, deployments):
    d = prefect_server.get("/deployments/name/nightly-clips/nightly-clips")
    assert d["id"] == deployments["nightly-clips"]["id"]
    [schedule] = d["schedules"]
    assert schedule["active"] is True
    assert schedule["schedule"]["cron"] == "0 2 * * *"
    assert schedule["schedule"]["timezone"] == "Europe/Paris"
    assert d["parameters"] == {"inbox": "inbox"}


def test_worker_runs_publish_episode_triggered_through_the_rest_api(prefect_server, deployments, worker, episode_files):
    store = episode_files["tmp"] / "store-rest"
    params = run_parameters(episode_files, store, caption_style="plain")
    dep_id = deployments["publish-episode"]["id"]
    created = prefect_server.post(f"/deployments/{dep_id}/create_flow_run", {"parameters": params})
    run = wait_for_run(prefect_server, created["id"], worker)
    assert run["state"]["type"] == "COMPLETED", run["state"]

    m = manifest_at(store)
    assert m["episode"]["id"] == "s01e07-prefect-demo"
    [clip] = m["clips"]
    assert clip["source"] == "auto"
    assert [o["platform"] for o in clip["outputs"]] == ["tiktok"]
    assert (store / clip["outputs"][0]["key"]).is_file()
    ass = (store / clip["captions"]["ass"]).read_text(encoding="utf-8")
    assert "{\\r}" not in ass, "plain captions carry no per-word karaoke highlight"

    artifacts = prefect_server.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [created["id"]]}}})
    by_type = {a["type"]: a for a in artifacts}
    assert set(by_type) == {"markdown", "table"}
    summary = by_type["markdown"]["data"]
    assert "s01e07-prefect-demo" in summary and "manifest.json" in summary
    rows = by_type["table"]["data"]
    rows = json.loads(rows) if isinstance(rows, str) else rows
    assert [r["clip"] for r in rows] == [clip["id"]] and clip["id"].startswith("c")
    assert rows[0]["score"] == pytest.approx(clip["score"], abs=1e-3)


def test_custom_run_from_the_prefect_ui_in_headless_chromium(prefect_server, deployments, worker, episode_files):
    node = shutil.which("node")
    assert node and CHROMIUM.exists(), "node and Debian's chromium are needed: run 'make setup'"
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), "run 'make setup' (npm ci in tests/browser)"
    store = episode_files["tmp"] / "store-ui"
    shots = prefect_server.tmp / "screenshots"
    shots.mkdir(exist_ok=True)
    params = {
        "footage": str(episode_files["footage"]),
        "episode": str(episode_files["episode"]),
        "config": str(episode_files["series"]),
        "store": str(store),
        "auto_clips": 0,  # the transcript comes from the cache: a quick run
    }
    dep_id = deployments["publish-episode"]["id"]
    done = subprocess.run(
        [node, "custom_run.mjs", prefect_server.ui, dep_id, json.dumps(params), str(shots), str(int(RUN_TIMEOUT))],
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT + 60,
        check=False,
    )
    assert done.returncode == 0, f"{done.stderr[-3000:]}\nworker log:\n{worker.read_text(errors='replace')[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    run = prefect_server.get(f"/flow_runs/{result['flow_run_id']}")
    assert run["state"]["type"] == "COMPLETED"
    assert run["deployment_id"] == dep_id
    assert run["parameters"]["auto_clips"] == 0
    assert run["parameters"]["store"] == str(store)
    m = manifest_at(store)
    assert m["clips"] == []


def wait_for_input(server: Server, flow_run_id: str, key: str, worker_log: Path) -> Any:
    """Wait until the run is suspended and its input `key` is saved (it lands just after Paused)."""
    import urllib.error

    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = server.get(f"/flow_runs/{flow_run_id}")
        if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            raise AssertionError(f"run ended {run['state']} instead of waiting for {key}")
        if run["state"]["type"] == "PAUSED":
            try:
                return server.get(f"/flow_runs/{flow_run_id}/input/{key}")
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
        time.sleep(2)
    tail = worker_log.read_text(errors="replace")[-3000:] if worker_log.exists() else ""
    raise AssertionError(f"flow run {flow_run_id} never waited for {key}; worker log:\n{tail}")


def webhook_receiver() -> tuple[Any, list[dict[str, Any]]]:
    """A local HTTP server that keeps every JSON message POSTed to it (with its path)."""
    import http.server
    import threading

    messages: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            messages.append({"path": self.path, **json.loads(self.rfile.read(int(self.headers["Content-Length"])))})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    return receiver, messages


def test_a_review_run_suspends_for_the_producer_and_publishes_what_was_decided(
    prefect_server, deployments, worker, episode_files
):
    receiver, messages = webhook_receiver()
    series = episode_files["tmp"] / "review-series.toml"
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook?token=secret-token"
    series.write_text(f'notify_webhook = "{hook}"\n' + episode_files["series"].read_text(encoding="utf-8"))
    store = episode_files["tmp"] / "store-review"
    params = run_parameters(episode_files, store, review=True, config=str(series))
    dep_id = deployments["publish-episode"]["id"]
    created = prefect_server.post(f"/deployments/{dep_id}/create_flow_run", {"parameters": params})
    run_id = created["id"]
    description = wait_for_input(prefect_server, run_id, "suspended-review-description", worker)
    schema = prefect_server.get(f"/flow_runs/{run_id}/input/suspended-review-schema")
    assert {"clips", "fixes"} <= set(
        json.loads(schema)["properties"] if isinstance(schema, str) else schema["properties"]
    )
    folder = store / "touktouk" / "s01" / "e07-prefect-demo"
    assert not (folder / "manifest.json").exists(), "nothing is published while the producer reviews"
    proposal = load_json((folder / "proposal.json").read_bytes())
    (clip,) = proposal["clips"]
    text = description if isinstance(description, str) else json.dumps(description)
    assert clip["id"] in text and "review page" in text
    # The producer was told, once, just before the run suspended.
    (message,) = messages
    assert message["path"] == "/hook?token=secret-token" and message["event"] == "proposal"
    assert (message["episode"], message["clips"]) == ("s01e07-prefect-demo", 1)
    assert message["review_page"].endswith(proposal["review"]) and run_id in message["flow_run"]

    # A fix that matches nothing: the run suspends again, the reason above the form.
    bad = {"clips": [{"id": clip["id"], "publish": True, "title": ""}], "fixes": [{"wrong": "Zzyzx", "right": "Zut"}]}
    answer = resume(prefect_server, run_id, bad)
    assert answer["status"] == "ACCEPT", answer
    again = wait_for_input(prefect_server, run_id, "suspended-review-again-1-description", worker)
    assert "'Zzyzx' → 'Zut' matches no words" in (
        again if isinstance(again, str) else json.dumps(again, ensure_ascii=False)
    )

    word = next(w.strip(".,;:!?»«") for w in clip["text"].split() if len(w.strip(".,;:!?»«")) >= 4)
    good = {
        "clips": [{"id": clip["id"], "publish": True, "title": "Le titre du producteur"}],
        "fixes": [{"wrong": word, "right": "Toukfix"}],
    }
    answer = resume(prefect_server, run_id, good)
    assert answer["status"] == "ACCEPT", answer
    run = wait_for_run(prefect_server, run_id, worker)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    manifest = load_json((folder / "manifest.json").read_bytes())
    (published,) = manifest["clips"]
    assert (published["id"], published["title"]) == (clip["id"], "Le titre du producteur")
    assert "Toukfix" in published["text"]
    assert "Toukfix" in (folder.parent.parent.parent / published["captions"]["srt"]).read_text(encoding="utf-8")
    assert {"wrong": word, "right": "Toukfix"} in manifest["decisions"]["fixes"]
    assert not (folder / "proposal.json").exists()
    assert len(messages) == 1, "resuming is not a new proposal: no second message"
    assert "secret-token" not in worker.read_text(errors="replace"), "the webhook's token is never logged"
    receiver.shutdown()


def test_the_nightly_run_leaves_one_suspended_proposal_per_inbox_file_and_says_so(
    prefect_server, deployments, worker, episode_files
):
    """nightly-clips over an inbox of two files: each gets its own publish-episode run, which
    stores a proposal, notifies the webhook and suspends; the nightly run itself completes."""
    receiver, messages = webhook_receiver()
    tmp = episode_files["tmp"] / "nightly"
    inbox = tmp / "inbox"
    inbox.mkdir(parents=True)
    for name in ("awa-diallo.mp4", "jean-martin.mp4"):
        shutil.copyfile(episode_files["footage"], inbox / name)
    series = tmp / "touktouk.toml"
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/nightly"
    series.write_text(f'notify_webhook = "{hook}"\n' + episode_files["series"].read_text(encoding="utf-8"))
    store = tmp / "store"
    params = {
        "inbox": str(inbox),
        "store": str(store),
        "config": str(series),
        "deployment": "publish-episode/publish-episode",
        "concurrency": 2,
    }
    dep_id = deployments["nightly-clips"]["id"]
    created = prefect_server.post(f"/deployments/{dep_id}/create_flow_run", {"parameters": params})
    nightly = wait_for_run(prefect_server, created["id"], worker)
    log = worker.read_text(errors="replace")[-6000:]
    assert nightly["state"]["type"] == "COMPLETED", f"{nightly['state'].get('message')}\nworker log:\n{log}"

    runs = prefect_server.post("/flow_runs/filter", {"flow_runs": {"name": {"like_": "nightly "}}})
    ours = {r["name"]: r for r in runs if r["parameters"].get("config") == str(series)}
    assert set(ours) == {"nightly awa-diallo.mp4", "nightly jean-martin.mp4"}
    for run in ours.values():
        assert run["state"]["type"] == "PAUSED", run["state"]
        assert run["parameters"]["review"] is True
    episodes = {"s01e00-awa-diallo", "s01e00-jean-martin"}
    assert sorted(m["episode"] for m in messages) == sorted(episodes), messages
    assert {m["path"] for m in messages} == {"/nightly"}
    assert {m["flow_run"].rsplit("/", 1)[-1] for m in messages} == {r["id"] for r in ours.values()}
    for eid in episodes:
        folder = store / "touktouk" / "s01" / f"e00-{eid.split('-', 1)[1]}"
        assert (folder / "proposal.json").is_file() and not (folder / "manifest.json").exists(), folder
    assert nightly["state"]["type"] == "COMPLETED"
    # The next night starts nothing again: both proposals wait.
    again = prefect_server.post(f"/deployments/{dep_id}/create_flow_run", {"parameters": params})
    assert wait_for_run(prefect_server, again["id"], worker)["state"]["type"] == "COMPLETED"
    runs = prefect_server.post("/flow_runs/filter", {"flow_runs": {"name": {"like_": "nightly "}}})
    assert len([r for r in runs if r["parameters"].get("config") == str(series)]) == 2
    assert len(messages) == 2
    for run in ours.values():  # leave the server as we found it
        prefect_server.post(f"/flow_runs/{run['id']}/set_state", {"state": {"type": "CANCELLED"}, "force": True})
    receiver.shutdown()


def test_a_suspended_review_run_is_resumed_from_the_prefect_ui_in_headless_chromium(
    prefect_server, deployments, worker, episode_files
):
    """The producer's door as a producer uses it: the suspended run's page, Resume, one clip
    switched off and one word fix typed into the form, Submit; the run publishes exactly that."""
    node = shutil.which("node")
    assert node and CHROMIUM.exists(), "node and Debian's chromium are needed: run 'make setup'"
    store = episode_files["tmp"] / "store-ui-review"
    params = run_parameters(episode_files, store, review=True, auto_clips=2)
    dep_id = deployments["publish-episode"]["id"]
    created = prefect_server.post(f"/deployments/{dep_id}/create_flow_run", {"parameters": params})
    run_id = created["id"]
    wait_for_input(prefect_server, run_id, "suspended-review-description", worker)
    folder = store / "touktouk" / "s01" / "e07-prefect-demo"
    proposal = load_json((folder / "proposal.json").read_bytes())
    kept, dropped = proposal["clips"]
    word = next(w.strip(".,;:!?»«") for w in kept["text"].split() if len(w.strip(".,;:!?»«")) >= 5)
    spec = {"drop": [1], "fixes": [[word, "Toukfix"]]}
    shots = prefect_server.tmp / "screenshots"
    shots.mkdir(exist_ok=True)
    done = subprocess.run(
        [node, "resume_run.mjs", prefect_server.ui, run_id, json.dumps(spec), str(shots)],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stderr[-3000:]}\nworker log:\n{worker.read_text(errors='replace')[-3000:]}"
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"resumed": True, "clips": 2}
    run = wait_for_run(prefect_server, run_id, worker)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    manifest = load_json((folder / "manifest.json").read_bytes())
    assert [c["id"] for c in manifest["clips"]] == [kept["id"]], "the switched-off clip is left out"
    assert "Toukfix" in manifest["clips"][0]["text"]
    assert manifest["decisions"]["drop"] == [dropped["id"]]
    assert {"wrong": word, "right": "Toukfix"} in manifest["decisions"]["fixes"]
