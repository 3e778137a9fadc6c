"""The episode manifest: the contract between ToukTouk and whatever reads the store.

Pure functions: the documents and the checks against the previous manifest (keys live in
`store.keys`, derived only from validated slugs and numbers, never from raw user text).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from touktouk import __version__
from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.errors import ConfigError
from touktouk.store.base import StoredObject

SCHEMA = "touktouk.manifest/1"
PROPOSAL_SCHEMA = "touktouk.proposal/1"
LINKS_SCHEMA = "touktouk.links/1"


def build_manifest(
    *,
    series: SeriesConfig,
    episode: EpisodeConfig,
    source: Mapping[str, Any],
    transcript: Mapping[str, Any],
    clips: Sequence[Mapping[str, Any]],
    metadata: Mapping[str, Any],
    objects: Sequence[StoredObject],
    now: datetime | None = None,
    youtube_master: Mapping[str, Any] | None = None,
    review: str = "",
    decisions: Mapping[str, Any] | None = None,
    shoot: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if shoot:  # a real shoot: the timeline and where each source sits on it (`shoot.assemble`)
        extra["shoot"] = dict(shoot)
    if youtube_master is not None:
        extra["youtube_master"] = dict(youtube_master)
    if review:
        extra["review"] = review
    if decisions:
        extra["decisions"] = dict(decisions)
    return {
        "schema": SCHEMA,
        "generator": f"touktouk {__version__}",
        "generated_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "episode": {
            "id": episode.episode_id,
            "series": series.series,
            "series_slug": series.series_slug,
            "season": episode.season,
            "number": episode.number,
            "slug": episode.slug,
            "title": episode.title,
            "guest": episode.guest,
            "organisation": episode.organisation,
            "cause": episode.cause,
            "language": series.language,
            "links": dict(episode.links),
        },
        "source": dict(source),
        "transcript": dict(transcript),
        "clips": [dict(c) for c in clips],
        "metadata": dict(metadata),
        **extra,
        "objects": [
            {"key": o.key, "bytes": o.bytes, "sha256": o.sha256, "content_type": o.content_type} for o in objects
        ],
    }


def as_proposal(manifest: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The proposal of `touktouk publish --review`: the manifest it would publish, under its own
    schema, with the run's inputs so that `touktouk approve` can finish it."""
    return {**manifest, "schema": PROPOSAL_SCHEMA, "inputs": dict(inputs)}


def to_json(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def keep_generated_at(new: Mapping[str, Any], old: bytes | None) -> dict[str, Any]:
    """`new`, but with the old `generated_at` when nothing else changed, so an unchanged
    re-publish writes a byte-identical manifest (and the store skips it)."""
    result = dict(new)
    if not old:
        return result
    try:
        previous = json.loads(old)
    except ValueError:
        return result
    if not isinstance(previous, dict) or "generated_at" not in previous:
        return result
    if {k: v for k, v in previous.items() if k != "generated_at"} == {
        k: v for k, v in json.loads(to_json(new)).items() if k != "generated_at"
    }:
        result["generated_at"] = previous["generated_at"]
    return result


def build_links(
    manifest_key_: str, links: Mapping[str, str], expires_in: int | None, now: datetime | None = None
) -> dict[str, Any]:
    """links.json: a credential-free URL per key; `expires_at` None for links that never expire."""
    expires_at = None
    if expires_in is not None:
        expires_at = ((now or datetime.now(UTC)) + timedelta(seconds=expires_in)).isoformat(timespec="seconds")
    return {"schema": LINKS_SCHEMA, "manifest": manifest_key_, "expires_at": expires_at, "links": dict(links)}


def links_still_good(old: bytes | None, keys: Iterable[str], expires_in: int, now: datetime | None = None) -> bool:
    """True when an existing links.json covers exactly `keys` with more than half its life left,
    so a re-run need not re-sign (and re-upload) it."""
    if not old:
        return False
    try:
        data = json.loads(old)
        expires_at = data["expires_at"]
        listed = set(data["links"])
    except (ValueError, KeyError, TypeError):
        return False
    if data.get("schema") != LINKS_SCHEMA or listed != set(keys) or not isinstance(expires_at, str):
        return False
    try:
        left = datetime.fromisoformat(expires_at) - (now or datetime.now(UTC))
    except ValueError:
        return False
    return left.total_seconds() > expires_in / 2


def recorded_footage(previous: Mapping[str, Any]) -> tuple[int, str] | None:
    """(bytes, sha256) of the master a manifest was made from, None when it records none."""
    source = previous.get("source")
    key = source.get("key") if isinstance(source, Mapping) else None
    for obj in previous.get("objects") or []:
        if isinstance(obj, Mapping) and obj.get("key") == key:
            try:
                return int(obj["bytes"]), str(obj["sha256"])
            except (KeyError, TypeError, ValueError):
                return None
    return None


def check_same_footage(
    previous: Mapping[str, Any] | None,
    *,
    footage: str,
    size: int,
    sha256: Callable[[], str],
    manifest_location: str,
) -> None:
    """Refuse to publish `footage` under an episode whose manifest was made from other footage
    (a duplicate slug: the new clips would silently replace another interview's).

    `sha256` is only called when the sizes agree, so new footage is told apart without hashing it.
    """
    recorded = recorded_footage(previous) if previous else None
    if recorded is None or (recorded[0] == size and recorded[1] == sha256()):
        return
    episode = previous.get("episode") if previous else None
    name = episode.get("id") if isinstance(episode, Mapping) else None
    raise ConfigError(
        f"{footage}: episode {name or 'with this slug'} is already published from other footage "
        f"({manifest_location}); choose another slug or number in the episode file, or pass --replace "
        "(the 'replace' parameter in the Prefect UI) to publish this footage in its place."
    )
