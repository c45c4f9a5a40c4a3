"""What the adapter knows of each of its orders, and the report stream that never repeats a fill.

A submit moves an order through phases: ``unsent`` (not written to a socket), ``sent`` (written,
no echo yet), ``placed`` (TWS echoed it: openOrder/orderStatus carry its ``orderRef``) and
``unknown`` (sent, then the connection dropped before an echo). Only ``unsent`` and ``unknown``
orders are (re)submitted, and only after reconciliation looked them up by ``orderRef``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import ib_async

from houseedge.core.broker import BrokerEvent, TrailingStop
from houseedge.core.types import Fill, Order, OrderReport

__all__ = ["Reports", "Tracked"]


@dataclass
class Tracked:
    """One of our orders at the adapter."""

    order: Order
    ib_order: ib_async.Order | None = None
    contract: ib_async.Contract | None = None
    trail: TrailingStop | None = None
    phase: str = "unsent"
    reported: set[str] = field(default_factory=set[str])
    booked: list[float] = field(default_factory=list[float])

    @property
    def booked_qty(self) -> float:
        """Return the quantity of the fills reported so far."""
        return math.fsum(self.booked)


class Reports:
    """The report stream: fills once per execId, each status report once per order."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[BrokerEvent | None] = asyncio.Queue()
        self.seen: set[str] = set()
        self.fills = 0

    def fill(self, fill: Fill, tracked: Tracked | None) -> bool:
        """Emit a fill unless its execId was emitted before; return whether it was new."""
        if fill.fill_id in self.seen:
            return False
        self.seen.add(fill.fill_id)
        self.fills += 1
        if tracked is not None:
            tracked.booked.append(fill.qty)
        self.queue.put_nowait(fill)
        return True

    def status(self, report: OrderReport, tracked: Tracked, kind: str) -> bool:
        """Emit a status report of ``kind`` unless the order had one already."""
        if kind in tracked.reported:
            return False
        tracked.reported.add(kind)
        self.queue.put_nowait(report)
        return True

    def close(self) -> None:
        """End the stream."""
        self.queue.put_nowait(None)

    async def stream(self) -> AsyncIterator[BrokerEvent]:
        """Yield reports until :meth:`close`."""
        while (item := await self.queue.get()) is not None:
            yield item
