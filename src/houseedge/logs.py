"""Logging: the only place structlog is configured.

Entry points (the CLI and the service) call :func:`configure` once; everything else uses
``structlog.get_logger()`` and binds context. Exception rendering never includes frame locals,
because locals can hold API keys.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

# Third-party loggers that print wire frames at DEBUG: an authenticate frame carries API keys.
_WIRE_LOGGERS = ("websockets", "binance", "alpaca", "ib_async", "aiohttp.client")


def configure(*, level: str = "INFO", json: bool = True, stream: TextIO | None = None) -> None:
    """Configure structlog for the process.

    Parameters
    ----------
    level
        Minimum level name (``"DEBUG"``, ``"INFO"``, ...).
    json
        JSON lines when true (services), a console renderer otherwise (terminals).
    stream
        Where logs go; standard error by default.
    """
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    for name in _WIRE_LOGGERS:
        wire = logging.getLogger(name)
        if wire.getEffectiveLevel() < logging.INFO:  # only DEBUG prints frames; leave the rest
            wire.setLevel(logging.INFO)


def configure_default() -> None:
    """Keep a library import quiet: warnings and errors to standard error, unless configured.

    Entry points call :func:`configure`; research code that never does sees only warnings.
    """
    if not structlog.is_configured():
        configure(level="WARNING", json=False)
