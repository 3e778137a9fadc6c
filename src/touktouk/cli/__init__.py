"""The `touktouk` command (Typer): commands mirror the pipeline steps."""

from touktouk.cli.app import app, main

__all__ = ["app", "main"]
