"""An episode's manifests over time: the current one and every one it replaced (`history/`),
and the check that a manifest's objects are all still there with their checksums."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from touktouk.store.base import Store, StoreError
from touktouk.store.keys import history_folder, manifest_key


@dataclass(frozen=True)
class Version:
    """One manifest of an episode: where it is, when it was made and what it lists."""

    key: str
    sha256: str
    generated_at: str
    clips: int
    footage: str  # the master footage's key
    objects: int
    current: bool


def _version(key: str, body: bytes, current_sha: str | None) -> Version:
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        raise StoreError(f"{key} is not a ToukTouk manifest ({exc}); remove it or restore it from a backup") from None
    sha = hashlib.sha256(body).hexdigest()
    source = data.get("source") if isinstance(data.get("source"), Mapping) else {}
    return Version(
        key=key,
        sha256=sha,
        generated_at=str(data.get("generated_at", "")),
        clips=len(data.get("clips") or []),
        footage=str(source.get("key", "")) if isinstance(source, Mapping) else "",
        objects=len(data.get("objects") or []),
        current=sha == current_sha,
    )


def versions(store: Store, prefix: str) -> list[Version]:
    """The episode's manifests, newest first: the current one, then the history. A history entry
    identical to the current manifest (a crash between keeping it and replacing it) is listed once."""
    mkey = manifest_key(prefix)
    current_body = store.get_bytes(mkey) if store.exists(mkey) else None
    found: dict[str, Version] = {}
    current_sha = hashlib.sha256(current_body).hexdigest() if current_body is not None else None
    if current_body is not None:
        v = _version(mkey, current_body, current_sha)
        found[v.sha256] = v
    for key in store.list_keys(history_folder(prefix) + "/"):
        if not key.endswith(".json"):
            continue
        v = _version(key, store.get_bytes(key), current_sha)
        found.setdefault(v.sha256, v)
    return sorted(found.values(), key=lambda v: (v.generated_at, v.current), reverse=True)


def missing_objects(store: Store, manifest: Mapping[str, Any]) -> list[str]:
    """One line per object the manifest lists that the store no longer holds as listed (size
    and SHA-256); empty when every one is there."""
    problems = []
    for obj in manifest.get("objects") or []:
        key, size, sha = str(obj.get("key", "")), obj.get("bytes"), obj.get("sha256")
        found = store.stat(key)
        if found is None:
            problems.append(f"{store.location(key)} is missing")
        elif found.bytes != size or found.sha256 != sha:
            problems.append(f"{store.location(key)} holds other bytes ({found.bytes} bytes, not {size})")
    return problems
