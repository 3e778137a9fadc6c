"""The commit point: an episode's manifest.json replaced in one atomic, conditional step, the
manifest it replaces kept in the episode's history, then links.json for what it lists; and the
link to the review page that producers get (`review_link`).

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
from datetime import UTC, datetime, timedelta
from typing import Any

from touktouk.errors import ConfigError
from touktouk.publish.manifest import build_links, keep_generated_at, links_still_good, to_json
from touktouk.publish.review import signed_copy, signed_source
from touktouk.store.base import DEFAULT_LINK_EXPIRY_S, INDEX_CACHE_CONTROL, Store, StoredObject
from touktouk.store.keys import history_key, links_key, manifest_key, proposal_key, review_pointer_key
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


def _review_page_of(store: Store, prefix: str, proposal: bool) -> str:
    """The review page key the episode's manifest (or proposal) lists, "" when there is none."""
    key = proposal_key(prefix) if proposal else manifest_key(prefix)
    if not store.exists(key):
        return ""
    try:
        data = json.loads(store.get_bytes(key))
    except ValueError:
        return ""
    page = data.get("review") if isinstance(data, dict) else None
    return page if isinstance(page, str) else ""


def _seconds_left(copy: bytes | None, page_key: str, expires_in: int, now: datetime) -> int | None:
    """How long the links of a stored signed copy still live when it copies `page_key` and has
    more than half of `expires_in` left (so it need not be signed again), else None."""
    found = signed_source(copy) if copy else None
    if found is None or found[0] != page_key:
        return None
    try:
        left = (datetime.fromisoformat(found[1]) - now).total_seconds()
    except ValueError:
        return None
    return max(1, int(left)) if left > expires_in / 2 else None


def review_link(
    store: Store,
    prefix: str,
    *,
    proposal: bool = False,
    page_key: str | None = None,
    expires_in: int | None = None,
    tags: Mapping[str, str] | None = None,
    logger: Any = None,
    now: datetime | None = None,
) -> str:
    """The link to give producers for the episode's review page (of its proposal with
    `proposal`; `page_key` defaults to the page the manifest or proposal lists). "" when there is
    no page.

    On a folder store (or any store whose keys are served as they are) it is the content-named
    page itself, whose links are relative. Objects on S3 are private: relative links from a
    presigned page would point at unsigned URLs (403), so on S3 this stores the page's signed
    copy, every link in it presigned (`publish.review.signed_copy`), at review.html (or
    proposal.html) beside the manifest, with no-cache; like links.json it is signed again only
    when it copies another page or has used half its life. Returns the presigned URL of that copy,
    expiring with the links inside it (at least half of `expires_in`, default
    TOUKTOUK_LINKS_EXPIRY or 7 days, from now).
    """
    page = page_key or _review_page_of(store, prefix, proposal)
    if not page:
        return ""
    if not isinstance(store, S3Store):
        return store.link(page)
    expires_in = expires_in or links_expiry()
    now = now or datetime.now(UTC)
    skey = review_pointer_key(prefix, proposal=proposal)
    old = store.get_bytes(skey) if store.exists(skey) else None
    left = _seconds_left(old, page, expires_in, now)
    if left is not None:
        return store.link(skey, left)
    expires_at = (now + timedelta(seconds=expires_in)).isoformat(timespec="seconds")
    body = signed_copy(store.get_bytes(page), page, lambda key: store.link(key, expires_in), expires_at=expires_at)
    obj = store.put_bytes(skey, body, "text/html; charset=utf-8", tags, cache_control=INDEX_CACHE_CONTROL)
    if logger is not None:
        logger.info(
            "%s %s (the review page, links signed until %s)",
            "Stored" if obj.uploaded else "Unchanged",
            skey,
            expires_at,
        )
    return store.link(skey, expires_in)
