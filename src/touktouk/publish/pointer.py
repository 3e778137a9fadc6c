"""The commit point: an episode's manifest.json replaced in one atomic, conditional step, the
manifest it replaces kept in the episode's history, then links.json for what it lists.

A crash before `Store.replace` leaves the previous manifest current and true (every object it
lists is immutable); a crash after it leaves the new one. Two publishes of one episode that
race both keep their objects; the second to commit gets StoreConflict (its `If-Match` fails)
and a re-run commits on top of the first, which the history keeps.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from touktouk.errors import ConfigError
from touktouk.publish.manifest import build_links, keep_generated_at, links_still_good, to_json
from touktouk.store.base import DEFAULT_LINK_EXPIRY_S, Store, StoredObject
from touktouk.store.keys import history_key, links_key, manifest_key
from touktouk.store.s3 import S3Store

LINKS_EXPIRY_ENV = "TOUKTOUK_LINKS_EXPIRY"  # seconds the presigned links in links.json stay valid


def links_expiry() -> int:
    raw = os.environ.get(LINKS_EXPIRY_ENV, "").strip()
    if not raw:
        return DEFAULT_LINK_EXPIRY_S
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= DEFAULT_LINK_EXPIRY_S:
        raise ConfigError(
            f"{LINKS_EXPIRY_ENV}={raw!r} is not a number of seconds from 1 to {DEFAULT_LINK_EXPIRY_S} "
            "(7 days, the most a presigned S3 link can live); fix or unset it."
        )
    return value


def read_current(store: Store, prefix: str) -> bytes | None:
    """The bytes of the episode's current manifest, None when it has none."""
    key = manifest_key(prefix)
    return store.get_bytes(key) if store.exists(key) else None


def write_links(
    store: Store, prefix: str, keys: Sequence[str], tags: Mapping[str, str], logger: Any, expires_in: int
) -> None:
    """links.json: a credential-free link per key. Presigned links change at every signing: the
    stored ones are kept while they cover the same keys with more than half their life left.
    Local file:// links never change."""
    mkey, lkey = manifest_key(prefix), links_key(prefix)
    linked = list(dict.fromkeys([*keys, mkey]))
    signed = isinstance(store, S3Store)
    old = store.get_bytes(lkey) if store.exists(lkey) else None
    if signed and links_still_good(old, linked, expires_in):
        return
    links = build_links(mkey, {k: store.link(k, expires_in) for k in linked}, expires_in if signed else None)
    lobj = store.put_bytes(lkey, to_json(links), "application/json", tags)
    logger.info("%s %s", "Stored" if lobj.uploaded else "Unchanged", lkey)


def commit_manifest(
    store: Store,
    prefix: str,
    data: Mapping[str, Any],
    previous: bytes | None,
    *,
    tags: Mapping[str, str],
    logger: Any,
    expires_in: int | None = None,
) -> StoredObject:
    """Make `data` the episode's manifest in place of `previous` (the bytes the caller read; None:
    the episode has none). Content equal to `previous` keeps its `generated_at` and writes
    nothing; otherwise `previous` goes to the history first, then one conditional replace."""
    mkey = manifest_key(prefix)
    body = to_json(keep_generated_at(data, previous))
    expected = hashlib.sha256(previous).hexdigest() if previous is not None else None
    if previous is not None and body != previous:
        try:
            when = str(json.loads(previous).get("generated_at", ""))
        except (ValueError, AttributeError):
            when = ""
        kept = store.put_bytes(
            history_key(prefix, when, expected or ""), previous, "application/json", tags, immutable=True
        )
        logger.info("Kept the replaced manifest as %s", kept.key)
    mobj = store.replace(mkey, body, "application/json", expected, tags)
    listed = [str(o["key"]) for o in json.loads(body).get("objects", [])]
    write_links(store, prefix, listed, tags, logger, expires_in or links_expiry())
    return mobj
