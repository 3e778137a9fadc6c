"""`touktouk publish --review` output and `touktouk approve`: the producer's door on a laptop."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from touktouk.cli.console import err, fail, out

if TYPE_CHECKING:
    from touktouk.publish.commit import Inputs


def print_proposal(inputs: Inputs) -> None:
    """The proposal just stored: its clips, the review page and the command that approves it."""
    from touktouk.pipeline.decide import read_proposal
    from touktouk.store.url import open_store

    proposal = read_proposal(inputs) or {}
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    for clip in proposal.get("clips", []):
        title = f" « {clip['title']} »" if clip.get("title") else ""
        out.print(f"  {clip['id']}  {clip['start']:.1f}-{clip['end']:.1f} s{title}", highlight=False, soft_wrap=True)
    from touktouk.publish.pointer import review_link
    from touktouk.store.keys import episode_prefix

    page = str(proposal.get("review", ""))
    link = review_link(store, episode_prefix(inputs.series, inputs.episode), proposal=True, page_key=page or None)
    out.print(f"[bold]Review page:[/] {link or '(none)'}", soft_wrap=True)
    store_opt = inputs.store_url
    out.print(
        f"[bold green]Proposed[/] {inputs.episode.episode_id}: nothing is published yet. Approve with\n"
        f"  touktouk approve {inputs.episode.episode_id} --store {store_opt}"
        " [--drop CLIP_ID] [--fix 'WRONG=RIGHT'] [--title 'CLIP_ID=TEXT']",
        soft_wrap=True,
        highlight=False,
    )


def _footage_for(proposal: dict[str, Any], store_url: str, store: Any) -> str:
    """The footage the proposal was made from: the file it was given as while it is still there,
    else the master in the store (the same bytes: its SHA-256 is in the proposal)."""
    given = str((proposal.get("inputs") or {}).get("footage") or "")
    if given and (given.startswith("s3://") or Path(given).is_file()):
        return given
    master = str((proposal.get("source") or {}).get("key") or "")
    if not master:
        raise ValueError(f"the proposal in {store_url} names no footage")
    return store.location(master)


def register(app: typer.Typer) -> None:
    @app.command()
    def approve(
        episode: Annotated[str, typer.Argument(help="Episode id (s01e07-slug) or its folder in the store.")],
        store: Annotated[str, typer.Option("--store", help="Folder, file:// URL or s3://bucket/prefix.")],
        drop: Annotated[list[str] | None, typer.Option("--drop", help="A clip id to leave out (repeatable).")] = None,
        fix: Annotated[
            list[str] | None,
            typer.Option("--fix", help="'WRONG=RIGHT': misheard words and what was said (repeatable)."),
        ] = None,
        title: Annotated[
            list[str] | None, typer.Option("--title", help="'CLIP_ID=TEXT': a clip's title (repeatable).")
        ] = None,
        endpoint_url: Annotated[str | None, typer.Option(help="S3 endpoint (default: AWS_ENDPOINT_URL).")] = None,
    ) -> None:
        """Publish the proposal `touktouk publish --review` stored, with these decisions on top of the
        episode file's. Only what a decision changes is made again: a word fix re-renders the clips
        whose words it changes, a drop renders nothing."""
        from touktouk.cli.app import _quiet_user_error_tracebacks
        from touktouk.cli.history import episode_folder
        from touktouk.errors import ToukToukError
        from touktouk.review.decisions import from_command_line
        from touktouk.store.keys import proposal_key
        from touktouk.store.url import open_store

        try:
            decided = from_command_line(drop or (), fix or (), title or ())
            s = open_store(store, endpoint_url=endpoint_url)
            prefix = episode_folder(episode, [k for k in s.list_keys() if k.endswith("/proposal.json")], s.url)
            proposal = json.loads(s.get_bytes(proposal_key(prefix)))
            footage = _footage_for(proposal, store, s)
        except ValueError as exc:
            fail(f"{exc}.")
        except ToukToukError as exc:
            fail(str(exc))
        given = proposal.get("inputs") or {}
        if not os.environ.get("PREFECT_API_URL"):
            err.print("[dim]No PREFECT_API_URL set: Prefect starts a temporary local server first (10-20 s).[/]")
        from touktouk.orchestration.flow import publish_episode

        _quiet_user_error_tracebacks()
        try:
            location = publish_episode(
                footage,
                given.get("episode") or "",
                store,
                given.get("config") or "",
                platforms=given.get("platforms") or [],
                auto_clips=-1 if given.get("auto_clips") is None else int(given["auto_clips"]),
                caption_style="plain" if given.get("caption_style") == "plain" else "karaoke",
                translate="en" if given.get("translate") == "en" else "none",
                decisions=decided.to_dict() if not decided.empty else {},
                from_proposal=True,
            )
        except ToukToukError as exc:
            fail(str(exc))
        out.print(f"[bold green]Approved and published[/] {prefix}. Manifest: {location}", soft_wrap=True)
