"""The Prefect-facing parts that need no Prefect server of their own: typed parameters, overrides,
the nightly inbox (folder or S3 prefix) and its concurrency limit, retry rules, the task runner
choice and prefect.yaml."""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from pipeline_helpers import write_series
from s3server import S3Server
from touktouk.errors import ConfigError
from touktouk.orchestration.flow import publish_episode
from touktouk.orchestration.runners import retry_transient, task_runner_from_env
from touktouk.orchestration.tasks import (
    extract_audio_task,
    fetch_footage_task,
    probe_task,
    publish_task,
    render_clip_task,
    store_master_task,
    transcribe_task,
)
from touktouk.pipeline.inputs import load_inputs, resolve_episode, with_overrides
from touktouk.store.keys import episode_prefix, manifest_key, proposal_key
from touktouk.store.url import open_store

ROOT = Path(__file__).resolve().parents[1]


def load_flow_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"touktouk_flows_{name}", ROOT / "flows" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_prefect_yaml_declares_both_deployments_with_flows_entry_points():
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    deps = {d["name"]: d for d in doc["deployments"]}
    assert set(deps) == {"publish-episode", "nightly-clips"}
    for d in deps.values():
        assert d["work_pool"]["name"] == "touktouk"
        path, func = d["entrypoint"].split(":")
        assert path.startswith("flows/")
        assert (ROOT / path).is_file()
        assert callable(getattr(load_flow_module(Path(path).stem), func))
    assert deps["nightly-clips"]["schedules"] == [{"cron": "0 2 * * *", "timezone": "Europe/Paris", "active": True}]


def test_publish_episode_keeps_its_positional_signature():
    names = list(publish_episode.parameters.properties)
    assert names[:4] == ["footage", "episode", "store", "config"]
    assert names[4:] == [
        "platforms", "auto_clips", "caption_style", "translate", "replace", "review", "decisions", "from_proposal",
    ]  # fmt: skip


def test_episode_slug_names_the_file_beside_the_series_config():
    assert resolve_episode("awa-diallo", "conf/touktouk.toml") == "conf/episodes/awa-diallo.toml"
    assert resolve_episode("awa-diallo", None) == "config/episodes/awa-diallo.toml"
    assert resolve_episode("x/ep.toml", None) == "x/ep.toml"
    assert resolve_episode("ep.toml", None) == "ep.toml"
    assert resolve_episode(None, None) is None


def test_run_parameters_override_the_series_config(tmp_path: Path):
    series = write_series(tmp_path / "touktouk.toml", store=str(tmp_path / "store"), auto_clips=3)
    inputs = load_inputs(str(tmp_path / "ep.mp4"), None, None, str(series))
    assert with_overrides(inputs, None, None) is inputs
    changed = with_overrides(inputs, ["tiktok"], 0)
    assert changed.series.clips.platforms == ("tiktok",)
    assert changed.series.clips.auto_clips == 0
    assert inputs.series.clips.auto_clips == 3


def test_nightly_picks_inbox_footage_without_a_manifest(tmp_path: Path):
    nightly = load_flow_module("nightly_clips")
    store = tmp_path / "store"
    episodes = tmp_path / "config" / "episodes"
    episodes.mkdir(parents=True)
    series = write_series(tmp_path / "config" / "touktouk.toml", store=str(store))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("b-done.mp4", "a-new.MOV", "notes.txt", "c-with-file.mkv"):
        (inbox / name).write_bytes(b"")
    (tmp_path / "config" / "episodes" / "c-with-file.toml").write_text(
        'season = 2\nnumber = 4\nslug = "with-file"\ntitle = "Avec fichier"\n', encoding="utf-8"
    )
    # b-done already published.
    done = load_inputs(str(inbox / "b-done.mp4"), None, None, str(series))
    key = manifest_key(episode_prefix(done.series, done.episode))
    open_store(str(store)).put_bytes(key, b"{}", "application/json", {})

    pending = nightly.pending_footage(str(inbox), None, str(series))
    assert pending == [
        (str(inbox / "a-new.MOV"), None, "s01e00-a-new"),
        (str(inbox / "c-with-file.mkv"), str(episodes / "c-with-file.toml"), "s02e04-with-file"),
    ]
    assert nightly.pending_footage(str(tmp_path / "missing"), None, str(series)) == []

    # A proposal waiting for review: not started again the next night.
    waiting = load_inputs(str(inbox / "a-new.MOV"), None, None, str(series))
    open_store(str(store)).put_bytes(
        proposal_key(episode_prefix(waiting.series, waiting.episode)), b"{}", "application/json", {}
    )
    assert [p.episode_id for p in nightly.pending_footage(str(inbox), None, str(series))] == ["s02e04-with-file"]


def test_nightly_holds_back_inbox_files_that_would_publish_as_the_same_episode(
    tmp_path: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """interview.mp4 and interview.MOV (one slug), and two files whose episode files share a slug:
    neither pair is published, the others are, and the run fails naming the held-back files."""
    from prefect import task

    nightly = load_flow_module("nightly_clips")
    episodes = tmp_path / "config" / "episodes"
    episodes.mkdir(parents=True)
    series = write_series(tmp_path / "config" / "touktouk.toml", store=str(tmp_path / "store"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("interview.mp4", "interview.MOV", "solo.mp4", "take-1.mkv", "take-2.mkv"):
        (inbox / name).write_bytes(b"")
    for name in ("take-1", "take-2"):
        (episodes / f"{name}.toml").write_text(
            'season = 1\nnumber = 3\nslug = "awa"\ntitle = "Awa"\n', encoding="utf-8"
        )
    ok, clashes = nightly.split_clashes(nightly.pending_footage(str(inbox), None, str(series)))
    assert [p.footage for p in ok] == [str(inbox / "solo.mp4")]
    assert len(clashes) == 2
    assert f"{inbox / 'interview.MOV'}, {inbox / 'interview.mp4'}" in clashes[0] and "s01e00-interview" in clashes[0]
    assert f"{inbox / 'take-1.mkv'}, {inbox / 'take-2.mkv'}" in clashes[1] and "s01e03-awa" in clashes[1]
    assert all("none of them was published" in c and "Rename all but one" in c for c in clashes)

    published: list[str] = []

    @task
    def record(
        footage: str, episode: str | None, store: str | None, config: str | None, deployment: str, review: bool
    ) -> str:
        assert review, "the nightly run proposes for review by default"
        published.append(footage)
        return footage

    monkeypatch.setattr(nightly, "publish_one", record)
    with pytest.raises(ConfigError, match="these inbox files would all publish as episode s01e00-interview"):
        nightly.nightly_clips(inbox=str(inbox), config=str(series), deployment="")
    assert published == [str(inbox / "solo.mp4")]


@pytest.mark.parametrize("name", ["publish_episode", "nightly_clips"])
def test_flow_entry_points_import(name: str):
    module = load_flow_module(name)
    assert getattr(module, name).name == name.replace("_", "-"), "the entry point names the deployed flow"


def test_nightly_s3_inbox_lists_pending_footage_without_downloading(tmp_path: Path, s3_env: S3Server) -> None:
    nightly = load_flow_module("nightly_clips")
    bucket = s3_env.make_bucket("inbox-" + secrets.token_hex(5))
    client = s3_env.client()
    for key in ("inbox/b-done.mp4", "inbox/a-new.MOV", "inbox/notes.txt", "inbox/sub/nested.mp4", "other/x.mp4"):
        client.put_object(Bucket=bucket, Key=key, Body=b"not read by the listing")
    store = tmp_path / "store"
    series = write_series(tmp_path / "touktouk.toml", store=str(store))
    done = load_inputs(f"s3://{bucket}/inbox/b-done.mp4", None, None, str(series))
    assert done.footage_url == f"s3://{bucket}/inbox/b-done.mp4" and done.episode.slug == "b-done"
    open_store(str(store)).put_bytes(
        manifest_key(episode_prefix(done.series, done.episode)), b"{}", "application/json", {}
    )
    for inbox in (f"s3://{bucket}/inbox/", f"s3://{bucket}/inbox"):
        pending = nightly.pending_footage(inbox, None, str(series))
        assert [(p.footage, p.episode) for p in pending] == [(f"s3://{bucket}/inbox/a-new.MOV", None)]
    assert nightly.pending_footage(f"s3://{bucket}/empty/", None, str(series)) == []


def test_nightly_concurrency_limit_holds_in_a_real_flow_run(prefect_harness: None) -> None:
    """Five tasks on a 16-thread runner, at most two at once (the limit, not the pool, decides)."""
    from prefect import flow, task
    from prefect.task_runners import ThreadPoolTaskRunner

    nightly = load_flow_module("nightly_clips")
    lock = threading.Lock()
    running = [0, 0]  # now, most
    together: list[threading.Barrier] = []

    @task
    def work(n: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        if n < together[0].parties:
            # The first `limit` tasks meet here: this returns only when that many run at once.
            together[0].wait(timeout=60)
        with lock:
            running[0] -= 1
        return n

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=16))
    def limited(limit: int) -> list[int]:
        return [f.result() for f in nightly.at_most(limit, list(range(5)), work.submit)]

    for limit in (2, 4):
        together[:] = [threading.Barrier(limit)]
        running[:] = [0, 0]
        assert limited(limit) == [0, 1, 2, 3, 4]
        assert running[1] == limit, "never more than the limit at once, and the limit reached"


def test_concurrency_default_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    nightly = load_flow_module("nightly_clips")
    assert "concurrency" in nightly.nightly_clips.parameters.properties
    monkeypatch.delenv("TOUKTOUK_NIGHTLY_CONCURRENCY", raising=False)
    assert nightly.default_concurrency() == 2
    monkeypatch.setenv("TOUKTOUK_NIGHTLY_CONCURRENCY", "3")
    assert nightly.default_concurrency() == 3
    monkeypatch.setenv("TOUKTOUK_NIGHTLY_CONCURRENCY", "lots")
    with pytest.raises(ConfigError, match="TOUKTOUK_NIGHTLY_CONCURRENCY='lots' is not a whole number"):
        nightly.default_concurrency()


def test_storage_and_network_tasks_retry_transient_failures_only(prefect_harness: None) -> None:
    """The retry rule, exercised in real task runs: a dropped connection is retried and the run
    succeeds; a user error fails at once (one attempt); then each storing task carries the rule."""
    from prefect import flow, task

    attempts: list[str] = []

    def flaky(first: BaseException) -> str:
        attempts.append(type(first).__name__)
        if len(attempts) == 1:
            raise first
        return "stored"

    retried = task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_transient)(flaky)

    @flow
    def run(first: BaseException) -> str:
        return retried(first)

    assert run(ConnectionResetError("connection reset by peer")) == "stored"
    assert attempts == ["ConnectionResetError", "ConnectionResetError"]
    attempts.clear()
    with pytest.raises(ConfigError, match="bad bucket name"):
        run(ConfigError("bad bucket name"))
    assert attempts == ["ConfigError"], "a user error is never retried"

    for t in (fetch_footage_task, store_master_task, render_clip_task, publish_task):
        assert t.retries == 2 and t.retry_condition_fn is retry_transient, t.name
    for t in (probe_task, extract_audio_task, transcribe_task):
        assert not t.retries, t.name


def test_task_runner_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    monkeypatch.delenv("TOUKTOUK_TASK_RUNNER", raising=False)
    monkeypatch.setenv("TOUKTOUK_RENDER_WORKERS", "3")
    threads = task_runner_from_env()
    assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 3
    monkeypatch.setenv("TOUKTOUK_TASK_RUNNER", "dask")
    monkeypatch.setenv("TOUKTOUK_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    dask = task_runner_from_env()
    assert isinstance(dask, DaskTaskRunner) and dask.address == "tcp://10.0.0.5:8786"
    monkeypatch.setenv("TOUKTOUK_TASK_RUNNER", "ray")
    with pytest.raises(ConfigError, match="TOUKTOUK_TASK_RUNNER='ray' is not a task runner"):
        task_runner_from_env()


def test_transcript_cache_is_keyed_by_content_and_every_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transcript's one cache (`transcribe.cache`): two files with the same audio in different
    folders are one entry; the prompt, a guard or VAD setting and the code version are each part of
    the key; deleting the folder clears it (no Prefect cache holds transcripts). Whisper is a
    counting stand-in here (the real one runs in the end-to-end tests)."""
    import shutil

    from touktouk.config import WhisperSettings
    from touktouk.transcribe import backends, cache, guards, vad
    from touktouk.transcribe.run import transcribe
    from touktouk.types import Transcript

    calls: list[Path] = []

    class Counting:
        def __init__(self, settings: WhisperSettings) -> None:
            self.settings = settings

        def transcribe(self, audio: Path, **kwargs: object) -> Transcript:
            calls.append(audio)
            return Transcript("fr", 1.0, (), "base", "stand-in")

    monkeypatch.setitem(backends.BACKENDS, "faster-whisper", Counting)
    folder = tmp_path / "cache"
    monkeypatch.setenv("TOUKTOUK_CACHE_DIR", str(folder))
    content = secrets.token_bytes(4096)
    audio = []
    for name in ("run1", "run2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "audio-16k.wav").write_bytes(content)
        audio.append(tmp_path / name / "audio-16k.wav")
    settings = WhisperSettings()

    def cached(path: Path, prompt: str = "Camille Martin") -> bool:
        return transcribe(path, settings, language="fr", prompt=prompt)[1]

    assert not cached(audio[0]) and cached(audio[1]), "same audio elsewhere: the same entry"
    assert not cached(audio[0], prompt="Awa Diallo")
    monkeypatch.setattr(guards, "HALLUCINATIONS", (*guards.HALLUCINATIONS, "merci de votre écoute"))
    assert not cached(audio[0]), "a new hallucination filter is a new key"
    monkeypatch.setattr(vad, "VAD_PARAMETERS", {"min_speech_duration_ms": 300})
    assert not cached(audio[0]), "a VAD setting is in the key"
    monkeypatch.setattr(cache, "source_version", lambda modules: "another engine")
    assert not cached(audio[0]), "changed transcription code is a new key"
    assert cached(audio[1])
    shutil.rmtree(folder)
    assert not cached(audio[1]), "deleting the cache folder clears it"
    assert len(calls) == 6


def test_the_run_form_has_no_type_switches_and_says_what_to_type() -> None:
    """Every optional field of publish-episode has a concrete default of its own type (the UI
    shows a plain field, no "str / None" switch), the choices are enums, every field is described;
    a Python caller's None still means "not given"."""
    from touktouk.orchestration.flow import publish_episode

    props = publish_episode.parameters.model_dump()["properties"]
    for name, prop in props.items():
        assert "anyOf" not in prop and prop.get("type") != "null", f"{name} shows a type switch: {prop}"
        assert prop["description"].strip(), f"{name} does not say what to type"
        if name != "footage":
            assert "default" in prop and prop["default"] is not None, name
    assert props["platforms"]["type"] == "array"
    assert set(props["platforms"]["items"]["enum"]) == {"youtube_shorts", "tiktok", "instagram_reels", "linkedin", "x"}
    assert props["caption_style"]["enum"] == ["karaoke", "plain"]
    assert props["translate"]["enum"] == ["none", "en"]
    given = publish_episode.validate_parameters(
        {"footage": "f.mp4", "episode": None, "platforms": None, "auto_clips": None, "translate": None}
    )
    assert (given["episode"], given["platforms"], given["auto_clips"], given["translate"]) == ("", [], -1, "none")
    with pytest.raises(Exception, match="auto_clips"):
        publish_episode.validate_parameters({"footage": "f.mp4", "auto_clips": 21})


def test_the_task_runner_is_chosen_when_the_flow_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad TOUKTOUK_RENDER_WORKERS breaks neither the import nor the CLI with a traceback: the
    run fails with one sentence naming the variable and what it accepts."""
    import subprocess
    import sys

    env = {**os.environ, "TOUKTOUK_RENDER_WORKERS": "deux"}
    code = "import touktouk.orchestration.flow as f; print(type(f.publish_episode.task_runner).__name__)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "FromEnvironment", done.stderr[-2000:]
    footage = tmp_path / "footage.mp4"
    footage.write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-m", "touktouk.cli", "publish", str(footage), "--store", str(tmp_path / "s")],
        env={**env, "PREFECT_API_URL": ""}, capture_output=True, text=True, check=False, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    assert "TOUKTOUK_RENDER_WORKERS='deux' is not a positive whole number" in " ".join(output.split())
