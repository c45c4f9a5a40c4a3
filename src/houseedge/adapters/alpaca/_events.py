"""The Alpaca broker's engine events: counters, and an outbox that holds events until bound.

The broker reports what it sees about itself (stream changes, reconciliations, anomalies) as
engine events ``(kind, payload, ts)`` through the sink the engine gives
:meth:`~houseedge.adapters.alpaca.client.AlpacaBroker.bind_events`; until one is bound they are
held, and ``emitted`` keeps them all (tests read it). Split out of :mod:`.client`, which holds
the order flow and the stream handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["AlpacaStats", "EventSink", "EventSpec", "Outbox"]

EventSpec = tuple[str, dict[str, Any], int]
EventSink = Callable[[Sequence[EventSpec]], Coroutine[Any, Any, Any]]
"""An async function (``create_task`` needs a coroutine, not any awaitable)."""


@dataclass
class AlpacaStats:
    """Counters of what the adapter saw and did (tests and metrics read them)."""

    fills: int = 0
    duplicate_fills: int = 0
    recovered_fills: int = 0
    malformed: int = 0
    reconciliations: int = 0
    connections: int = 0
    stale: int = 0
    duplicate_submits: int = 0


class Outbox:
    """Engine events of one broker: sent to the bound sink, held until there is one.

    Examples
    --------
    >>> box = Outbox("alpaca")
    >>> box.event("broker", {"event": "connected"})
    >>> [(kind, payload["source"]) for kind, payload, _ in box.emitted]
    [('broker', 'alpaca')]
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.emitted: list[EventSpec] = []
        self._sink: EventSink | None = None
        self._held: list[EventSpec] = []
        self._sending: set[asyncio.Task[Any]] = set()

    def bind(self, sink: EventSink) -> None:
        """Send events to ``sink`` from now on, the held ones first."""
        self._sink = sink
        held, self._held = self._held, []
        if held:
            self._send(sink, held)

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        """Record an event and send it (or hold it until a sink is bound)."""
        spec: EventSpec = (kind, {"source": self.source, **payload}, time.time_ns())
        self.emitted.append(spec)
        if self._sink is None:
            self._held.append(spec)
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the engine is gone
            self._send(self._sink, [spec])

    def _send(self, sink: EventSink, specs: list[EventSpec]) -> None:
        task = asyncio.get_running_loop().create_task(sink(specs))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
