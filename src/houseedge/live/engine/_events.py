"""The book's events: what ``order``, ``fill`` and anomaly events carry, and who receives them.

Events are built here as :data:`EventSpec` tuples, journaled by the book (which gives them their
ids) and then put on every :class:`Subscription`'s queue, in journal order.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from houseedge.core.execution import OrderState
from houseedge.core.types import Fill, Order
from houseedge.live.control import PublishedEvent

__all__ = ["EventSpec", "Subscription", "duplicate_id_event", "fill_payload", "order_payload"]

EventSpec = tuple[str, dict[str, Any], int]
"""An event to journal: ``(kind, payload, ts)``."""


class Subscription:
    """An async iterator of published events whose queue is registered when it is made.

    An async generator would register only on its first ``__anext__``, leaving a gap between
    subscribing and iterating in which events are lost. The queue is unregistered when the
    stream ends, on :meth:`aclose`, or when the subscription is garbage collected (a consumer
    that stops iterating must not make the book queue events for it forever).

    Examples
    --------
    >>> import asyncio
    >>> subscribers: list[asyncio.Queue[PublishedEvent | None]] = []
    >>> subscription = Subscription(subscribers)
    >>> len(subscribers)  # registered before any iteration
    1
    >>> subscription.queue.put_nowait(PublishedEvent(id=1, kind="engine", ts=0, payload={}))
    >>> subscription.queue.put_nowait(None)
    >>> async def read():
    ...     return [event.id async for event in subscription]
    >>> asyncio.run(read()), len(subscribers)
    ([1], 0)
    """

    def __init__(self, subscribers: list[asyncio.Queue[PublishedEvent | None]]) -> None:
        self.queue: asyncio.Queue[PublishedEvent | None] = asyncio.Queue()
        self._done = False
        subscribers.append(self.queue)
        self._unregister = weakref.finalize(self, _discard, subscribers, self.queue)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> PublishedEvent:
        if not self._done:
            event = await self.queue.get()
            if event is not None:
                return event
            self._done = True
            self._unregister()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop the subscription (as an async generator's ``aclose``)."""
        self._done = True
        self._unregister()


def _discard(subscribers: list[Any], queue: Any) -> None:
    if queue in subscribers:
        subscribers.remove(queue)


def order_payload(state: OrderState, policy: str, report: str = "") -> dict[str, Any]:
    """Return an order's JSON-ready view (what ``order`` events and ``GET /orders`` show).

    Examples
    --------
    >>> order = Order(client_order_id="p.1", symbol="X", side="buy", qty=2)
    >>> view = order_payload(OrderState(order=order), "p", "new")
    >>> view["order_id"], view["side"], view["qty"], view["status"], view["report"]
    ('p.1', 'buy', 2.0, 'new', 'new')
    """
    order = state.order
    return {
        "order_id": order.client_order_id,
        "policy": policy,
        "symbol": order.symbol,
        "side": str(order.side),
        "qty": float(order.qty),
        "type": str(order.type),
        "limit_price": order.limit_price,
        "stop_price": order.stop_price,
        "tif": str(order.tif),
        "ts": order.ts,
        "tag": order.tag,
        "status": str(state.status),
        "filled_qty": state.filled_qty,
        "avg_price": state.avg_price,
        "reason": state.reason,
        "report": report,
    }


def fill_payload(fill: Fill, policy: str) -> dict[str, Any]:
    """Return a fill's JSON-ready view with the policy it is booked to.

    Examples
    --------
    >>> fill = Fill(fill_id="v1", order_id="p.1", symbol="X", side="sell", qty=1, price=9.5)
    >>> view = fill_payload(fill, "p")
    >>> view["fill_id"], view["policy"], view["side"], view["qty"], view["price"]
    ('v1', 'p', 'sell', 1.0, 9.5)
    """
    return {
        "fill_id": fill.fill_id,
        "order_id": fill.order_id,
        "policy": policy,
        "symbol": fill.symbol,
        "side": str(fill.side),
        "qty": float(fill.qty),
        "price": fill.price,
        "fee": fill.fee,
        "ts": fill.ts,
        "liquidity": str(fill.liquidity),
    }


def duplicate_id_event(order: Order) -> EventSpec:
    """Return the ``anomaly`` event of an order whose client id the journal already holds.

    Examples
    --------
    >>> kind, payload, ts = duplicate_id_event(Order(client_order_id="p.1", symbol="X",
    ...     side="buy", qty=1, ts=7))
    >>> kind, payload["reason"], ts
    ('anomaly', 'duplicate_order_id', 7)
    """
    payload = {
        "order_id": order.client_order_id,
        "reason": "duplicate_order_id",
        "detail": "the journal holds this client order id already; not sent again",
    }
    return ("anomaly", payload, order.ts)
