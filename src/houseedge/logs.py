"""Logging: the only place structlog is configured, and only entry points call it.

The edges (the ``houseedge`` CLI's ``main`` and ``houseedge live run``, which serves the engine)
call :func:`configure` once; library code only gets loggers (:func:`get_logger`) and binds
context. Importing houseedge or building an ``Engine``, ``Service`` or ``Store`` changes no
global logging configuration: a program using houseedge as a library configures structlog
itself (this function is there for it, or ``structlog.configure``). Until it does, houseedge's
loggers stay as quiet as a well-behaved library's: warnings and errors as console lines on
standard error, nothing below (structlog's own defaults would print every info event to
standard output, into a notebook's cells). Exception rendering never includes frame locals,
because locals can hold API keys.

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
from typing import Any, TextIO

import structlog

__all__ = ["LibraryLogger", "configure", "get_logger"]

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


class _StandardError:
    """A structlog logger that writes each line to the ``sys.stderr`` of the moment it logs."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = err = fatal = failure = critical = msg
    exception = msg


_UNCONFIGURED = structlog.wrap_logger(
    _StandardError(),
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        ),
        structlog.dev.ConsoleRenderer(colors=False),
    ],
    wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
)


class LibraryLogger:
    """A logger for library code: structlog's configuration once there is one, quiet before.

    Every call resolves anew, like structlog's lazy loggers, so a configuration made after the
    logger was created (by the program, or a test capturing logs) applies to it.
    """

    __slots__ = ("_context", "_name")

    def __init__(self, name: str, context: dict[str, Any]) -> None:
        self._name, self._context = name, context

    def bind(self, **values: Any) -> LibraryLogger:
        """Return a logger that adds ``values`` to every event."""
        return LibraryLogger(self._name, {**self._context, **values})

    def _target(self) -> Any:
        if structlog.is_configured():
            base: Any = structlog.get_logger(self._name)
        else:
            base = _UNCONFIGURED
        return base.bind(**self._context) if self._context else base

    def __getattr__(self, method: str) -> Any:
        return getattr(self._target(), method)


def get_logger(name: str, **context: Any) -> LibraryLogger:
    """Return the logger library code uses: quiet (warnings up, on stderr) until configured.

    Examples
    --------
    >>> import io, json, structlog
    >>> saved, out = structlog.get_config(), io.StringIO()
    >>> log = get_logger("houseedge.example", broker="paper")
    >>> structlog.reset_defaults()
    >>> log.info("order_submitted")  # not configured: below warning, nothing is printed
    >>> configure(level="INFO", json=True, stream=out)
    >>> log.info("order_submitted", order_id="o.1")
    >>> json.loads(out.getvalue())["broker"]
    'paper'
    >>> structlog.configure(**saved)
    """
    return LibraryLogger(name, context)
