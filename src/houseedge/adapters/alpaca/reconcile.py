"""Reconciliation over REST: what happened at Alpaca while the stream was not listening.

After every (re)connect, on staleness and after a malformed event, the broker asks
:meth:`Reconciler.gap` for the fills and order outcomes since a point in time (brokers.md §1.6):

* ``GET /v2/orders?status=all&after=<since>&direction=asc`` (paged by ``submitted_at``), plus a
  look-up by client order id of every order we still think is working but that list lacks (an
  old GTC order cancelled during the gap was submitted before ``since``);
* ``GET /v2/account/activities/FILL?after=<since>&direction=asc`` (paged by ``page_token``),
  whose ids end in the execution id: a fill has the same ``fill_id`` here and on the stream, so
  the broker and the journal de-duplicate it.

TradingClient 0.44 has no wrapper for the activities endpoint (alpacahq/alpaca-py#232): it is
called with ``TradingClient.get``. Every call runs off the event loop (``asyncio.to_thread``:
alpaca-py is synchronous) inside :func:`~houseedge.adapters.alpaca.errors.translated`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol, TypeVar

from alpaca.common.enums import Sort
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest

from houseedge.adapters.alpaca import mapping
from houseedge.adapters.alpaca.errors import translated
from houseedge.adapters.alpaca.schemas import (
    AccountMsg,
    OrderMsg,
    PositionMsg,
    convert,
    decode_activity,
    decode_order,
)
from houseedge.core.broker import Account, OrderNotFound, OrderSnapshot
from houseedge.core.types import Fill, Position

__all__ = ["Reconciler", "call"]

_PAGE: Final = 500
_ACTIVITY_PAGE: Final = 100
T = TypeVar("T")


async def call(operation: str, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking alpaca-py call in a thread; translate what it raises."""
    with translated(operation):
        return await asyncio.to_thread(fn, *args)


class _RawRest(Protocol):
    """alpaca-py's raw ``RESTClient.get``: its annotations leave the JSON untyped."""

    def get(self, path: str, data: dict[str, Any] | str | None = None) -> Any: ...


class Reconciler:
    """REST queries of one account, and the id maps they keep current.

    ``client_ids`` maps Alpaca order ids to our client order ids (filled by submits, stream
    events and every order listing); activities name only the Alpaca id.
    """

    def __init__(self, rest: TradingClient) -> None:
        self.rest = rest
        self._raw: _RawRest = rest  # the same client, its raw GET typed
        self.client_ids: dict[str, str] = {}
        self.venue_ids: dict[str, str] = {}

    def remember(self, order: OrderMsg) -> None:
        """Record an order's two ids."""
        self.client_ids[str(order.id)] = order.client_order_id
        self.venue_ids[order.client_order_id] = str(order.id)

    async def order_by_client_id(self, client_order_id: str) -> OrderMsg:
        """Return the venue's order with this client id (raises ``OrderNotFound``)."""
        raw = await call("order lookup", self.rest.get_order_by_client_id, client_order_id)
        order = decode_order(raw)
        self.remember(order)
        return order

    async def orders(self, status: QueryOrderStatus, since_ns: int | None) -> list[OrderMsg]:
        """Return the orders of ``status`` submitted after ``since_ns``, oldest first."""
        out: dict[str, OrderMsg] = {}
        after = None if since_ns is None else mapping.utc_datetime(since_ns)
        while True:
            request = GetOrdersRequest(status=status, limit=_PAGE, direction=Sort.ASC, after=after)
            raw = await call("orders", self.rest.get_orders, request)
            page = [decode_order(r) for r in raw]
            for order in page:
                self.remember(order)
                out[str(order.id)] = order
            if len(page) < _PAGE:
                return list(out.values())
            # 1 ns back: orders sharing the boundary stamp are fetched again (deduplicated by
            # id) rather than skipped.
            after = mapping.utc_datetime(mapping.parse_ts(page[-1].submitted_at) - 1)

    async def activities(self, since_ns: int) -> list[Any]:
        """Return the FILL activities after ``since_ns``, oldest first (all pages)."""
        out: list[Any] = []
        params: dict[str, Any] = {
            "after": mapping.rfc3339(since_ns),
            "direction": "asc",
            "page_size": _ACTIVITY_PAGE,
        }
        while True:
            raw = await call("fill activities", self._raw.get, "/account/activities/FILL", params)
            page = [decode_activity(r) for r in raw or ()]
            out += page
            if len(page) < _ACTIVITY_PAGE:
                return out
            params = {**params, "page_token": page[-1].id}

    async def fills(self, since_ns: int) -> list[Fill]:
        """Return every fill after ``since_ns`` with our client order ids, oldest first."""
        fills: list[Fill] = []
        for activity in await self.activities(since_ns):
            venue_id = str(activity.order_id)
            if venue_id not in self.client_ids:
                raw = await call("order", self.rest.get_order_by_id, venue_id)
                self.remember(decode_order(raw))
            fills.append(mapping.fill_from_activity(activity, self.client_ids[venue_id]))
        return fills

    async def gap(
        self, since_ns: int, working: Iterable[str]
    ) -> tuple[list[Fill], list[OrderSnapshot]]:
        """Return the fills and order snapshots of the gap since ``since_ns``.

        ``working`` are client ids we believe still work; those missing from the listing are
        looked up one by one (an unknown one is skipped: the engine's reconciliation says so).
        """
        orders = {o.client_order_id: o for o in await self.orders(QueryOrderStatus.ALL, since_ns)}
        for cid in working:
            if cid not in orders:
                try:
                    orders[cid] = await self.order_by_client_id(cid)
                except OrderNotFound:
                    continue
        fills = await self.fills(since_ns)
        return fills, [mapping.snapshot(o) for o in orders.values()]

    async def snapshots(
        self, status: QueryOrderStatus, since_ns: int | None
    ) -> list[OrderSnapshot]:
        """Return :class:`OrderSnapshot` views of :meth:`orders`."""
        return [mapping.snapshot(o) for o in await self.orders(status, since_ns)]

    async def positions(self) -> dict[str, Position]:
        """Return the venue's positions by symbol."""
        raw = await call("positions", self.rest.get_all_positions)
        held: Sequence[PositionMsg] = convert(raw, list[PositionMsg])
        return {p.symbol: mapping.position(p) for p in held}

    async def account(self) -> Account:
        """Return the venue's cash and equity."""
        raw = await call("account", self.rest.get_account)
        return mapping.account(convert(raw, AccountMsg))
