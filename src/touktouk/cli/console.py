"""What the commands print: results on standard output, errors on standard error in one sentence."""

from __future__ import annotations

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 2) -> None:
    """Print a user error on one line and exit with `code` (no traceback)."""
    err.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
