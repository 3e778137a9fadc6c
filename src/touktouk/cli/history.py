"""`touktouk history` and `touktouk rollback`: an episode's manifests over time, and going back."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Annotated

import typer

from touktouk.cli.console import fail, out

_ID = re.compile(r"^s(\d{2,})e(\d{2,})-([a-z0-9-]+)$")
_FOLDER = re.compile(
    r"^((?:[^/]+/)*?[a-z0-9-]+/s\d{2,}/e\d{2,}-[a-z0-9-]+)/(?:manifest\.json|proposal\.json|history/[^/]+\.json)$"
)

StoreOpt = Annotated[str, typer.Option("--store", help="Folder, file:// URL or s3://bucket/prefix.")]
EndpointOpt = Annotated[str | None, typer.Option(help="S3 endpoint (default: AWS_ENDPOINT_URL).")]
EpisodeArg = Annotated[str, typer.Argument(help="Episode id (s01e07-slug) or its folder (touktouk/s01/e07-slug).")]


def episode_folder(episode: str, keys: Iterable[str], where: str) -> str:
    """The store folder of `episode` ("s01e07-slug", or the folder itself), found among `keys`."""
    folders = {m.group(1) for k in keys if (m := _FOLDER.match(k))}
    wanted = episode.strip().strip("/")
    if wanted in folders:
        return wanted
    m = _ID.match(wanted)
    if m is None:
        raise ValueError(f"{episode!r} is not an episode id like s01e07-slug nor an episode folder in {where}")
    tail = f"/s{m.group(1)}/e{m.group(2)}-{m.group(3)}"
    found = sorted(f for f in folders if f.endswith(tail))
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValueError(f"{where} holds no published episode {wanted}; check the id and --store")
    raise ValueError(f"{where} holds {wanted} in several series ({', '.join(found)}); give the folder instead")


def register(app: typer.Typer) -> None:
    @app.command()
    def history(episode: EpisodeArg, store: StoreOpt, endpoint_url: EndpointOpt = None) -> None:
        """List an episode's manifests, newest first: when each was made, its clips and footage."""
        from touktouk.errors import ToukToukError
        from touktouk.store.history import versions
        from touktouk.store.url import open_store

        try:
            s = open_store(store, endpoint_url=endpoint_url)
            prefix = episode_folder(episode, s.list_keys(), s.url)
            found = versions(s, prefix)
        except ValueError as exc:
            fail(f"{exc}.")
        except ToukToukError as exc:
            fail(str(exc))
        for v in found:
            mark = "current " if v.current else "        "
            footage = v.footage.rsplit("/master/", 1)[-1]
            what = f"{v.clips} clip(s)  {v.objects} object(s)  footage {footage}"
            out.print(
                f"{mark}{v.generated_at}  {what}  {s.location(v.key)}",
                highlight=False,
                soft_wrap=True,
            )
        out.print(f"{len(found)} manifest(s) of {prefix} in {s.url}.", highlight=False, soft_wrap=True)

    @app.command()
    def rollback(
        episode: EpisodeArg,
        store: StoreOpt,
        to: Annotated[
            str | None,
            typer.Option("--to", help="generated_at of the manifest to restore (default: the previous one)."),
        ] = None,
        endpoint_url: EndpointOpt = None,
    ) -> None:
        """Make an earlier manifest current again, after checking every object it lists (size and
        SHA-256); the manifest it replaces stays in the history."""
        from touktouk.errors import ToukToukError
        from touktouk.publish.rollback import rollback as roll_back
        from touktouk.store.url import open_store

        log = logging.getLogger("touktouk.rollback")
        try:
            s = open_store(store, endpoint_url=endpoint_url)
            prefix = episode_folder(episode, s.list_keys(), s.url)
            episode_id = prefix.rsplit("/", 2)
            tags = {"episode": f"{episode_id[-2]}{episode_id[-1]}"}
            target = roll_back(s, prefix, to, tags=tags, logger=log)
        except ValueError as exc:
            fail(f"{exc}.")
        except ToukToukError as exc:
            fail(str(exc))
        out.print(
            f"{prefix}: the manifest made at {target.generated_at} is current again "
            f"({target.clips} clip(s), {target.objects} object(s) verified).",
            highlight=False,
            soft_wrap=True,
        )
