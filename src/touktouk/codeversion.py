"""A version of the code itself: the SHA-256 of the source files that shape an output.

Cache keys include it, so a changed caption layout, encoder graph or guard invalidates what
those modules made, while a new CLI help text invalidates nothing. (`__version__` alone never
changed between engine changes.)
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

# What each cached output is made by.
RENDER_MODULES = (
    "touktouk.captions",
    "touktouk.clips",
    "touktouk.render",
    "touktouk.vision",
    "touktouk.pipeline.clips",
    "touktouk.pipeline.master",
    "touktouk.platforms",
    "touktouk.french",
    "touktouk.types",
    "touktouk.config",
)
TRANSCRIBE_MODULES = ("touktouk.transcribe", "touktouk.french", "touktouk.types", "touktouk.config")


def _sources(module: str) -> list[Path]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(module)
    if spec.submodule_search_locations:
        return sorted(p for folder in spec.submodule_search_locations for p in Path(folder).rglob("*.py"))
    return [Path(spec.origin)]


@functools.cache
def source_version(modules: tuple[str, ...]) -> str:
    """16 hex characters of the SHA-256 over every source file of `modules` (packages whole)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted({p.resolve() for m in modules for p in _sources(m)}):
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        digest.update(f"{name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()[:16]
