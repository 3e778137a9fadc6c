"""The Prefect-facing parts that need no server: typed parameters, overrides, the nightly inbox,
the run artifacts' content and prefect.yaml."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from pipeline_helpers import write_series
from touktouk import manifest
from touktouk.flow import load_inputs, publish_episode, resolve_episode, with_overrides
from touktouk.storage import open_store

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
    assert names[4:] == ["platforms", "auto_clips", "caption_style", "translate"]


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
    (tmp_path / "config" / "episodes").mkdir(parents=True)
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
    key = manifest.manifest_key(manifest.episode_prefix(done.series, done.episode))
    open_store(str(store)).put_bytes(key, b"{}", "application/json", {})

    pending = nightly.pending_footage(str(inbox), None, str(series))
    assert pending == [
        (str(inbox / "a-new.MOV"), None),
        (str(inbox / "c-with-file.mkv"), str(tmp_path / "config" / "episodes" / "c-with-file.toml")),
    ]
    assert nightly.pending_footage(str(tmp_path / "missing"), None, str(series)) == []


@pytest.mark.parametrize("name", ["publish_episode", "nightly_clips"])
def test_flow_entry_points_import(name: str):
    assert load_flow_module(name)
