"""The engine as the service sees it: the ``EngineHandle`` protocol.

The HTTP service (:mod:`houseedge.live.service`) reads state, sends operator commands and streams
events through this protocol only, so it can be tested against a small fake and the engine can
change behind it.

Events
    Every event the engine publishes is journaled first (:meth:`Journal.append_event` gives its
    id), then offered to subscribers. Ids increase monotonically and are never reused, so an SSE
    client that resumes with ``Last-Event-ID: n`` gets ``events_after(n)`` from the journal and
    then the live subscription, skipping ids it already has: none missed, none repeated.
Operator commands
    ``kill``, ``reset``, ``pause``, ``resume``, ``flatten`` and ``submit_manual`` name the
    operator (from the service's authentication) and return a small JSON-ready dict describing
    what was done; each is an audited journal event. Kill, breakers and pause survive a restart
    until ``reset`` (``resume``). Manual orders pass the same risk gate as a policy's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec

from houseedge.core.types import Side


class PublishedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One journaled event as subscribers and the SSE stream see it."""

    id: int
    kind: str  # "order", "fill", "position", "risk", "engine", "reconciliation", "anomaly"
    ts: int
    payload: dict[str, Any]


class ManualOrder(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An operator's order from ``POST /orders`` (validated at the HTTP edge)."""

    symbol: str
    side: Side
    qty: float
    type: str = "market"
    limit_price: float | None = None
    stop_price: float | None = None
    tif: str = "day"
    policy: str | None = None  # a strategy's name: the order acts on that strategy's position

    def __post_init__(self) -> None:
        if not self.qty > 0:
            msg = f"qty must be > 0, not {self.qty}"
            raise ValueError(msg)


@runtime_checkable
class EngineHandle(Protocol):
    """What the service needs from a running engine."""

    @property
    def ready(self) -> bool:
        """Return True once state is rebuilt, reconciled and the feed is live."""
        ...

    def health(self) -> Mapping[str, Any]:
        """Return liveness details: engine state, broker, feed staleness, breaker, journal lag."""
        ...

    def positions(self) -> Sequence[Mapping[str, Any]]:
        """Return positions by policy and symbol with average price and PnL."""
        ...

    def orders(self, *, open_only: bool = False) -> Sequence[Mapping[str, Any]]:
        """Return orders with their status and filled quantity."""
        ...

    def fills(
        self, *, since_ts: int | None = None, limit: int = 1000
    ) -> Sequence[Mapping[str, Any]]:
        """Return fills, oldest first."""
        ...

    def risk(self) -> Mapping[str, Any]:
        """Return the risk snapshot: limits, usage, breaker state, rejects by check."""
        ...

    @property
    def last_event_id(self) -> int:
        """Return the id of the newest journaled event (0 when none)."""
        ...

    def events_after(self, event_id: int, limit: int = 1000) -> Sequence[PublishedEvent]:
        """Return journaled events with id > ``event_id``, oldest first."""
        ...

    def subscribe(self) -> AsyncIterator[PublishedEvent]:
        """Return a stream of events published from now on (ends when the engine stops)."""
        ...

    async def kill(self, *, operator: str, flatten: bool = False) -> Mapping[str, Any]:
        """Halt trading, cancel open orders and optionally flatten every position."""
        ...

    async def reset(self, *, operator: str) -> Mapping[str, Any]:
        """Clear the kill switch and return every breaker to normal."""
        ...

    async def pause(self, *, operator: str) -> Mapping[str, Any]:
        """Stop taking new policy decisions (orders in flight carry on)."""
        ...

    async def resume(self, *, operator: str) -> Mapping[str, Any]:
        """Resume policy decisions after a pause."""
        ...

    async def flatten(self, *, operator: str) -> Mapping[str, Any]:
        """Close every position with market orders through the risk gate."""
        ...

    async def submit_manual(self, order: ManualOrder, *, operator: str) -> Mapping[str, Any]:
        """Risk-check and submit an operator's order; return its id or the rejection."""
        ...
