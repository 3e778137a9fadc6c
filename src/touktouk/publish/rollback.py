"""`touktouk rollback`: make an earlier manifest of an episode current again, after checking
that every object it lists is still in the store with its checksum."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from touktouk.errors import ConfigError
from touktouk.publish.pointer import commit_manifest, read_current
from touktouk.store.base import Store, StoreError
from touktouk.store.history import Version, missing_objects, versions


def choose_version(found: list[Version], to: str | None, where: str) -> Version:
    """The version to restore: the newest one older than the current manifest, or the one whose
    `generated_at` (or history key) is `to`."""
    if not found:
        raise ConfigError(f"{where} has no manifest: nothing to roll back; check the episode id and --store.")
    if to:
        wanted = to.strip()
        for v in found:
            if wanted in (v.generated_at, v.key, v.key.rsplit("/", 1)[-1].removesuffix(".json")):
                return v
        listed = ", ".join(v.generated_at for v in found)
        raise ConfigError(f"{where} has no manifest made at {wanted}; choose one of: {listed}.")
    current = next((v for v in found if v.current), None)
    older = [v for v in found if not v.current and (current is None or v.generated_at <= current.generated_at)]
    if not older:
        raise ConfigError(f"{where} has no earlier manifest to roll back to; `touktouk history` lists what there is.")
    return older[0]


def rollback(store: Store, prefix: str, to: str | None, *, tags: dict[str, str], logger: Any) -> Version:
    """Verify the chosen manifest's objects, then make it current (the manifest it replaces goes
    to the history, like any replaced manifest)."""
    where = f"episode folder {store.location(prefix)}"
    target = choose_version(versions(store, prefix), to, where)
    if target.current:
        logger.info("%s is already current (%s)", target.generated_at, store.location(target.key))
        return target
    body = store.get_bytes(target.key)
    if hashlib.sha256(body).hexdigest() != target.sha256:
        raise StoreError(f"{store.location(target.key)} changed while it was read; run the rollback again")
    data = json.loads(body)
    problems = missing_objects(store, data)
    if problems:
        shown = "; ".join(problems[:3]) + (f" and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise StoreError(
            f"cannot roll back to {target.generated_at}: {shown}; nothing was changed "
            "(gc may have removed them: publish the episode again instead)"
        )
    logger.info("Verified the %d objects of %s", len(data.get("objects") or []), target.generated_at)
    commit_manifest(store, prefix, data, read_current(store, prefix), tags=tags, logger=logger)
    return target
