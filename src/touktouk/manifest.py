"""The episode manifest: the contract between ToukTouk and whatever reads the store.

Pure functions: keys derive only from validated slugs and numbers, never from raw user text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from touktouk import __version__
from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.errors import ConfigError
from touktouk.storage import Store, StoredObject, StoreError

SCHEMA = "touktouk.manifest/1"
LINKS_SCHEMA = "touktouk.links/1"
# A key's episode folder: <series_slug>/sNN/eNN-<slug>, anywhere below the store root.
_EPISODE_PREFIX = re.compile(r"^((?:[^/]+/)*?[a-z0-9-]+/s\d{2,}/e\d{2,}-[a-z0-9-]+)/")
_SAFE_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


def episode_prefix(series: SeriesConfig, episode: EpisodeConfig) -> str:
    return f"{series.series_slug}/s{episode.season:02d}/e{episode.number:02d}-{episode.slug}"


def master_key(prefix: str, footage_suffix: str) -> str:
    ext = footage_suffix.lower()
    return f"{prefix}/master/footage{ext if _SAFE_EXT.fullmatch(ext) else '.bin'}"


def transcript_keys(prefix: str, translations: Sequence[str] = ()) -> dict[str, str]:
    """Transcript files; a translation adds "<lang>.srt" and "<lang>.vtt" (e.g. "en.srt")."""
    keys = {fmt: f"{prefix}/transcript/transcript.{fmt}" for fmt in ("json", "srt", "vtt")}
    for lang in translations:
        if not re.fullmatch(r"[a-z]{2}", lang):
            raise ValueError(f"translation language must be a two-letter code, not {lang!r}")
        keys |= {f"{lang}.{fmt}": f"{prefix}/transcript/transcript.{lang}.{fmt}" for fmt in ("srt", "vtt")}
    return keys


def clip_video_key(prefix: str, clip_id: str, width: int, height: int) -> str:
    return f"{prefix}/clips/{clip_id}/{width}x{height}.mp4"


def clip_caption_keys(prefix: str, clip_id: str) -> dict[str, str]:
    return {fmt: f"{prefix}/clips/{clip_id}/captions.{fmt}" for fmt in ("srt", "vtt", "ass")}


def clip_cover_key(prefix: str, clip_id: str) -> str:
    return f"{prefix}/clips/{clip_id}/cover.jpg"


def youtube_master_key(prefix: str) -> str:
    """The YouTube-ready master of the whole episode (16:9, loudness-normalised)."""
    return f"{prefix}/master/youtube-1920x1080.mp4"


def clip_metadata_key(prefix: str, clip_id: str) -> str:
    return f"{prefix}/clips/{clip_id}/metadata.json"


def manifest_key(prefix: str) -> str:
    return f"{prefix}/manifest.json"


def links_key(prefix: str) -> str:
    return f"{prefix}/links.json"


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
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if youtube_master is not None:
        extra["youtube_master"] = dict(youtube_master)
    if review:
        extra["review"] = review
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


def referenced_keys(manifest_key_: str, manifest: Mapping[str, Any]) -> set[str]:
    """Every key a manifest vouches for: its objects, itself and the links.json beside it."""
    folder = manifest_key_.rsplit("/", 1)[0]
    keys = {manifest_key_, f"{folder}/links.json"}
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
    return sorted(k for k in keys if _EPISODE_PREFIX.match(k) and k not in referenced)


# --- gc age guard ------------------------------------------------------------------------------

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


# --- duplicate slug ----------------------------------------------------------------------------


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


def check_distinct_episodes(episodes: Sequence[tuple[str, EpisodeConfig]]) -> None:
    """Refuse two episode files (name, parsed file) that share a slug or a season and number:
    they would publish into each other's folder or be impossible to tell apart."""
    seen_slug: dict[str, str] = {}
    seen_number: dict[tuple[int, int], str] = {}
    for name, ep in episodes:
        number = (ep.season, ep.number)
        if ep.slug in seen_slug or number in seen_number:
            other = seen_slug.get(ep.slug) or seen_number[number]
            what = f"slug '{ep.slug}'" if ep.slug in seen_slug else f"season {ep.season} episode {ep.number}"
            raise ConfigError(
                f"{name}: {what} is also used by {other}; give each episode file its own slug and number."
            )
        seen_slug[ep.slug] = name
        seen_number[number] = name


def find_garbage(store: Store, prefix: str = "") -> list[str]:
    """Stored keys under `prefix` that no manifest in the store references (see `unreferenced_keys`).

    A manifest that cannot be read or parsed stops the search (StoreError): guessing would delete live objects.
    """
    keys = store.list_keys(prefix)
    manifests: dict[str, Mapping[str, Any]] = {}
    # Manifests anywhere in the store count, not only under `prefix`.
    for key in store.list_keys():
        if key.rsplit("/", 1)[-1] != "manifest.json":
            continue
        try:
            data = json.loads(store.get_bytes(key))
            if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
                raise ValueError("no objects list")
        except ValueError as exc:
            raise StoreError(
                f"manifest {store.location(key)} is not a valid ToukTouk manifest ({exc}); fix or remove it before gc"
            ) from None
        manifests[key] = data
    return unreferenced_keys(keys, manifests)
