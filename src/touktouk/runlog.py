"""The logger of a run: Prefect's run logger inside a flow or task run (shown in the terminal and
the Prefect UI), else the caller's own logger. Importing this never imports Prefect."""

from __future__ import annotations

import logging
import sys
from typing import Any

LoggerLike = logging.Logger | logging.LoggerAdapter[Any]


def run_logger(fallback: logging.Logger) -> LoggerLike:
    """Prefect's run logger when a run is in progress, else `fallback`."""
    if "prefect" not in sys.modules:  # no run without Prefect loaded; importing it reconfigures logging
        return fallback
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return fallback
