"""Garbage collection: objects that neither a live manifest nor a manifest of the history kept
for the retention lists, older than a minimum age (pure selection)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from touktouk.store.base import Store, StoreError
from touktouk.store.keys import EPISODE_PREFIX, review_pointer_key

DEFAULT_HISTORY_RETENTION = timedelta(days=30)
_HISTORY_ENTRY = re.compile(r"^(?:[^/]+/)*?[a-z0-9-]+/s\d{2,}/e\d{2,}-[a-z0-9-]+/history/[^/]+\.json$")


def referenced_keys(manifest_key_: str, manifest: Mapping[str, Any]) -> set[str]:
    """Every key a manifest vouches for: its objects, itself and the pointers derived from it
    beside it (links.json and the signed review.html of a manifest, proposal.html of a proposal)."""
    folder = manifest_key_.rsplit("/", 1)[0]
    proposal = manifest_key_.endswith("proposal.json")
    keys = {manifest_key_, f"{folder}/links.json", review_pointer_key(folder, proposal=proposal)}
    for obj in manifest.get("objects", []):
        keys.add(str(obj["key"]))
    return keys


def unreferenced_keys(keys: Iterable[str], manifests: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Keys inside an episode folder (<series>/sNN/eNN-<slug>/) that no manifest references.

    Pure: `keys` is a store listing, `manifests` maps each manifest key to its parsed content.
    Keys outside any episode folder are not ToukTouk's and are never reported.
    """
    referenced: set[str] = set()
    for mkey, data in manifests.items():
        referenced |= referenced_keys(mkey, data)
    return sorted(k for k in keys if EPISODE_PREFIX.match(k) and k not in referenced)


# A publish writes its objects over minutes to hours and its manifest last: until then its
# objects look unreferenced, so gc only deletes what is older than any publish can take
# (`touktouk gc --older-than`, 24h by default).
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> timedelta:
    """'90s', '30m', '24h', '7d' (or a bare number of hours, '0' included) as a timedelta."""
    match = _AGE.match(text.lower())
    if match is None:
        raise ValueError(f"{text!r} is not an age; write a number with s, m, h or d, e.g. 24h or 7d")
    number, unit = float(match.group(1)), match.group(2) or "h"
    return timedelta(seconds=number * _AGE_UNITS[unit])


def format_age(age: timedelta) -> str:
    """A short human age: '45 s', '12 min', '5 h', '3 d'."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def split_by_age(
    modified: Mapping[str, datetime | None], older_than: timedelta, now: datetime
) -> tuple[list[str], list[str]]:
    """(keys old enough to delete, keys too recent or of unknown age), each sorted.

    An object written less than `older_than` ago may belong to a publish still in progress.
    """
    old = sorted(k for k, when in modified.items() if when is not None and now - when >= older_than)
    return old, sorted(set(modified) - set(old))


def is_history_entry(key: str) -> bool:
    return _HISTORY_ENTRY.match(key) is not None


def _read_manifest(store: Store, key: str) -> Mapping[str, Any]:
    try:
        data = json.loads(store.get_bytes(key))
        if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
            raise ValueError("no objects list")
    except ValueError as exc:
        raise StoreError(
            f"manifest {store.location(key)} is not a valid ToukTouk manifest ({exc}); fix or remove it before gc"
        ) from None
    return data


def live_manifests(
    store: Store, now: datetime, retention: timedelta = DEFAULT_HISTORY_RETENTION
) -> dict[str, Mapping[str, Any]]:
    """Every manifest whose objects gc keeps: each episode's manifest.json and pending
    proposal.json, and each history entry replaced less than `retention` ago (so
    `touktouk rollback` can still restore it).

    A manifest that cannot be read or parsed stops the search (StoreError): guessing would delete live objects.
    """
    manifests: dict[str, Mapping[str, Any]] = {}
    for key in store.list_keys():
        if key.rsplit("/", 1)[-1] in ("manifest.json", "proposal.json"):
            manifests[key] = _read_manifest(store, key)
        elif is_history_entry(key):
            replaced = store.last_modified(key)
            if replaced is None or now - replaced < retention:
                manifests[key] = _read_manifest(store, key)
    return manifests


def find_garbage(
    store: Store, prefix: str = "", *, now: datetime, retention: timedelta = DEFAULT_HISTORY_RETENTION
) -> list[str]:
    """Stored keys under `prefix` that no live manifest references (see `live_manifests` and
    `unreferenced_keys`): history entries past the retention are garbage too."""
    keys = store.list_keys(prefix)
    # Manifests anywhere in the store count, not only under `prefix`.
    return unreferenced_keys(keys, live_manifests(store, now, retention))
