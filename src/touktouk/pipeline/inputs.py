"""What the user gave, read and checked before any work or any write."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from touktouk.config import SeriesConfig, episode_from_footage, load_episode, load_series
from touktouk.errors import ConfigError, MediaError
from touktouk.hashing import file_sha256
from touktouk.publish.commit import (
    Inputs,
)
from touktouk.publish.manifest import check_same_footage
from touktouk.render.probe import MediaInfo, probe
from touktouk.shoot.assemble import assemble_shoot
from touktouk.store.base import Store
from touktouk.store.footage import fetch_footage
from touktouk.store.keys import (
    episode_prefix,
    manifest_key,
)
from touktouk.store.s3 import S3Store
from touktouk.store.url import is_remote, open_store
from touktouk.types import Transcript


def load_inputs(footage: str, episode: str | None, store: str | None, config: str | None) -> Inputs:
    """Read and validate everything the user gave, before any work or any write (no download:
    footage given as an s3:// URL is fetched later by `fetch_inputs`; no footage: the episode
    file's shoot, assembled later by `assemble_inputs`)."""
    series = load_series(config)
    if not footage.strip():
        return _shoot_inputs(series, episode, store, config)
    remote = is_remote(footage)
    path = Path(footage.rstrip("/").rsplit("/", 1)[-1]) if remote else Path(footage).expanduser()
    ep = load_episode(episode) if episode else episode_from_footage(path)
    config_dir = Path(config or "config/touktouk.toml").expanduser().resolve().parent
    return Inputs(path, series, ep, episode or "", store or series.store, footage.strip() if remote else "", config_dir)


def _shoot_inputs(series: SeriesConfig, episode: str | None, store: str | None, config: str | None) -> Inputs:
    """No footage given: the episode file's [shoot] is the footage (the episode file stands for it
    until `assemble_inputs` has made its conformed file)."""
    if not episode:
        raise ConfigError(
            "No footage given: give the footage file, or an episode file (--episode) that describes its shoot "
            "([[shoot.cameras]] and [[shoot.mics]], see the README's 'Real shoots')."
        )
    ep = load_episode(episode)
    if ep.shoot is None:
        raise ConfigError(
            f"{episode}: no footage given and the episode file describes no shoot; give the footage file, "
            "or add the shoot's cameras and mics ([[shoot.cameras]], [[shoot.mics]]; README, 'Real shoots')."
        )
    config_dir = Path(config or "config/touktouk.toml").expanduser().resolve().parent
    return Inputs(Path(episode), series, ep, episode, store or series.store, "", config_dir, shoot={})


def assemble_inputs(inputs: Inputs, log: Any = None) -> Inputs:
    """The inputs with their shoot made into one footage file (`shoot.assemble`: joined, placed by
    sound, conformed once into the shoot cache) and its record for the manifest; others as they are."""
    shoot = inputs.episode.shoot
    if inputs.shoot != {} or shoot is None:
        return inputs
    base = Path(inputs.episode_file).expanduser().resolve().parent
    made = assemble_shoot(shoot, base, inputs.series.render, inputs.series.multicam, log=log)
    return replace(inputs, footage=made.footage, shoot=made.record)


def fetch_inputs(inputs: Inputs, log: Any = None) -> Inputs:
    """The inputs with s3:// footage downloaded (verified, cached by SHA-256) to a local file."""
    if not inputs.footage_url:
        return inputs
    local = fetch_footage(inputs.footage_url, endpoint_url=inputs.series.endpoint_url or None, log=log)
    return replace(inputs, footage=local)


def validate_picks(inputs: Inputs, duration: float) -> None:
    for n, pick in enumerate(inputs.episode.picks, 1):
        if pick.start is not None and pick.start >= duration:
            raise ConfigError(
                f"{inputs.episode_file}: pick {n} starts at {pick.start:g} s but the footage lasts {duration:.1f} s; "
                "fix its start timecode."
            )


def require_speech(inputs: Inputs, transcript: Transcript) -> None:
    """Refuse footage in which Whisper heard nothing, before anything is rendered."""
    if not transcript.words:
        raise MediaError(_no_speech(inputs))


def require_voice(inputs: Inputs, regions: Sequence[tuple[float, float]]) -> None:
    """Refuse footage in which the voice-activity detector found no speech, before anything is
    stored (the footage is stored beside the transcription, which would only find nothing later)."""
    if not regions:
        raise MediaError(_no_speech(inputs))


def _no_speech(inputs: Inputs) -> str:
    return (
        f"{inputs.footage}: no speech found in the sound track, so there is nothing to transcribe or clip; "
        "check that this is the right file and that its microphone was not muted."
    )


PREFLIGHT_PROBE_KEY = "touktouk-preflight-check"


def check_store_reachable(store: Store, endpoint_url: str | None) -> None:
    """Fail in seconds, before any work, when an S3 store cannot be reached with these credentials
    (one HEAD with short timeouts; the upload itself keeps its patient retries)."""
    if not isinstance(store, S3Store):
        return
    quick = S3Store(
        store.bucket, store.prefix, endpoint_url=endpoint_url, connect_timeout=3.0, read_timeout=10.0, max_attempts=2
    )
    quick.exists(PREFLIGHT_PROBE_KEY)


def refuse_other_footage(inputs: Inputs) -> None:
    """Duplicate slug: refuse, before any upload, footage other than the one this episode's
    existing manifest was made from (its master would overwrite another interview's)."""
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    mkey = manifest_key(episode_prefix(inputs.series, inputs.episode))
    if not store.exists(mkey):
        return
    try:
        previous = json.loads(store.get_bytes(mkey))
    except ValueError:
        return  # not a manifest we can read: the publish replaces it
    check_same_footage(
        previous if isinstance(previous, dict) else None,
        footage=str(inputs.footage),
        size=inputs.footage.stat().st_size,
        sha256=lambda: file_sha256(inputs.footage),
        manifest_location=store.location(mkey),
    )


def resolve_episode(episode: str | None, config: str | None) -> str | None:
    """An episode slug (no '/', no '.toml') names config/episodes/<slug>.toml beside the series config."""
    if not episode or "/" in episode or episode.endswith(".toml"):
        return episode
    return str(Path(config or "config/touktouk.toml").parent / "episodes" / f"{episode}.toml")


def with_overrides(inputs: Inputs, platforms: Sequence[str] | None, auto_clips: int | None) -> Inputs:
    """Run parameters from the UI or the API take precedence over the series config."""
    update: dict[str, Any] = {}
    if platforms:
        update["platforms"] = tuple(platforms)
    if auto_clips is not None:
        update["auto_clips"] = auto_clips
    if not update:
        return inputs
    clips = inputs.series.clips.model_copy(update=update)
    series = inputs.series.model_copy(update={"clips": clips})
    return replace(inputs, series=series)


def preflight(
    footage: str, episode: str | None, store: str | None, config: str | None, *, replace: bool = False
) -> tuple[Inputs, MediaInfo]:
    """Everything that can be checked before the flow starts (used by the CLI for clean errors)."""
    inputs = load_inputs(footage, episode, store, config)
    endpoint = inputs.series.endpoint_url or None
    if inputs.footage_url or inputs.shoot == {}:  # check the store first, then download or assemble (cached)
        check_store_reachable(open_store(inputs.store_url, endpoint_url=endpoint), endpoint)
        inputs = assemble_inputs(fetch_inputs(inputs))
    info = probe(inputs.footage)
    validate_picks(inputs, info.duration)
    check_store_reachable(open_store(inputs.store_url, endpoint_url=endpoint), endpoint)
    if not replace:
        refuse_other_footage(inputs)
    return inputs, info
