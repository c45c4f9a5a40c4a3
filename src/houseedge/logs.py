"""Logging: the only place structlog is configured, and only entry points call it.

The edges (the ``houseedge`` CLI's ``main`` and ``houseedge live run``, which serves the engine)
call :func:`configure` once; library code only gets loggers (``structlog.get_logger()``) and
binds context. Importing houseedge or building an ``Engine``, ``Service`` or ``Store`` changes no
global logging configuration: a program using houseedge as a library configures structlog
itself (this function is there for it, or ``structlog.configure``), and until it does
structlog's defaults apply. Exception rendering never includes frame locals, because locals can
hold API keys.

Examples
--------
>>> import io, json, structlog
>>> saved, out = structlog.get_config(), io.StringIO()
>>> configure(level="INFO", json=True, stream=out)
>>> structlog.get_logger().bind(policy="sma").info("order_submitted", order_id="sma.1")
>>> record = json.loads(out.getvalue())
>>> record["event"], record["policy"], record["level"]
('order_submitted', 'sma', 'info')
>>> structlog.configure(**saved)  # a doctest must leave the process as it found it
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
