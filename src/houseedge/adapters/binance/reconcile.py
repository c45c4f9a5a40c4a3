"""Gap reconciliation: what happened while the user stream was not listening, exactly once.

Binance replays nothing, so after every (re)subscription, a malformed event and a quiet stream,
the adapter asks REST:

1. ``allOrders`` per symbol from the oldest order still open in our view: each order's venue id
   → our client id, and the status of orders that ended in the gap (cancelled, expired,
   rejected);
2. ``myTrades?fromId=`` per symbol from the cursor: the trades in the gap.

The cursor is the trade id through which REST has been read, *not* the largest id seen on the
stream or in an order answer: a fill seen after a gap must not move it past fills lost in the
gap. Every fill, from any source, passes :meth:`Reconciler.accept` (keyed by
``"<symbol>:<trade id>"``), so the engine gets each once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from houseedge import logs
from houseedge.adapters.binance._rest import BinanceRest
from houseedge.adapters.binance.filters import SymbolFilters
from houseedge.adapters.binance.mapping import (
    NANOS_PER_MS,
    STATUS,
    fill_from_trade,
    snapshot_from_rest,
    status_report,
)
from houseedge.adapters.binance.schemas import MyTrade, RestOrder
from houseedge.core.broker import BrokerEvent, OrderSnapshot
from houseedge.core.execution import TERMINAL, OrderStatus
from houseedge.core.types import Fill

__all__ = ["Reconciler"]

_DAY_MS = 86_400_000


class Reconciler:
    """The adapter's memory of orders and fills, and the REST sweeps that fill gaps."""

    def __init__(self, rest: BinanceRest, filters: Mapping[str, SymbolFilters]) -> None:
        self.rest, self.filters = rest, filters
        self.seen: set[str] = set()
        self.cursor: dict[str, int] = {}
        self.client_ids: dict[tuple[str, int], str] = {}
        self.open: dict[str, str] = {}  # our open orders: client id -> symbol
        self.venue_ids: dict[str, int] = {}  # client id -> Binance order id
        self.sweeps = 0
        self.log = logs.get_logger("houseedge.adapters.binance")

    def accept(self, fill: Fill) -> bool:
        """Return True the first time a fill id is offered (the adapter emits it then)."""
        if fill.fill_id in self.seen:
            return False
        self.seen.add(fill.fill_id)
        return True

    def remember(self, symbol: str, order_id: int, client_order_id: str, status: str) -> None:
        """Record an order's venue id and whether it is still open."""
        self.client_ids[(symbol, order_id)] = client_order_id
        self.venue_ids[client_order_id] = order_id
        if STATUS.get(status, OrderStatus.ACCEPTED) in TERMINAL:
            self.open.pop(client_order_id, None)
        else:
            self.open[client_order_id] = symbol

    async def start(self, symbols: Iterable[str]) -> None:
        """Set each symbol's cursor to its latest trade (older fills: ``fills_since``)."""
        for symbol in symbols:
            self.cursor[symbol] = await self.rest.latest_trade_id(symbol)

    async def sweep(self, symbols: Sequence[str]) -> list[BrokerEvent]:
        """Return the fills and status changes since the last sweep, fills first, unseen only."""
        self.sweeps += 1
        fills: list[BrokerEvent] = []
        statuses: list[BrokerEvent] = []
        for symbol in symbols:
            ended = await self._orders(symbol)
            trades = await self.rest.my_trades(symbol, from_id=self.cursor.get(symbol, 0) + 1)
            fills += [f for f in await self.fills_of(symbol, trades) if self.accept(f)]
            if trades:
                self.cursor[symbol] = max(self.cursor.get(symbol, 0), trades[-1].id)
            statuses += ended
        fills.sort(key=lambda f: f.ts)
        self.log.info("binance.reconciled", fills=len(fills), statuses=len(statuses))
        return fills + statuses

    async def _orders(self, symbol: str) -> list[BrokerEvent]:
        ours = [
            self.venue_ids[c] for c, s in self.open.items() if s == symbol and c in self.venue_ids
        ]
        pending = [c for c, s in self.open.items() if s == symbol and c not in self.venue_ids]
        orders = await self.rest.all_orders(symbol, from_order_id=min(ours)) if ours else []
        for cid in pending:  # sent, answer lost: ask by our id
            found = await self.rest.get_order(symbol, cid)
            orders += [found] if found is not None else []
        reports: list[BrokerEvent] = []
        for order in orders:
            was_open = order.client_order_id in self.open
            self.remember(order.symbol, order.order_id, order.client_order_id, order.status)
            report = status_report(order)
            if was_open and report is not None and STATUS[order.status] is not OrderStatus.FILLED:
                reports.append(report)
        return reports

    async def fills_of(self, symbol: str, trades: list[MyTrade]) -> list[Fill]:
        """Return the fills of ``trades`` (our client ids looked up), seen or not."""
        filters = self.filters[symbol]
        out: list[Fill] = []
        for trade in trades:
            cid = await self._client_id(symbol, trade.order_id)
            out.append(
                fill_from_trade(trade, cid, base=filters.base_asset, quote=filters.quote_asset)
            )
        return out

    async def _client_id(self, symbol: str, order_id: int) -> str:
        cid = self.client_ids.get((symbol, order_id))
        if cid is None:  # an order from before this session: one allOrders page finds it
            for order in await self.rest.all_orders(symbol, from_order_id=order_id):
                self.client_ids[(symbol, order.order_id)] = order.client_order_id
            cid = self.client_ids.get((symbol, order_id), f"binance-{order_id}")
        return cid

    async def fills_since(self, symbols: Sequence[str], since_ts: int) -> list[Fill]:
        """Return every fill at or after ``since_ts`` (ns), from ``myTrades``."""
        out: list[Fill] = []
        start = since_ts // NANOS_PER_MS
        for symbol in symbols:
            trades = await self.rest.my_trades(symbol, start_ms=start)
            out += await self.fills_of(symbol, trades)
            for fill in out:
                self.seen.add(fill.fill_id)
            if trades:
                self.cursor[symbol] = max(self.cursor.get(symbol, 0), trades[-1].id)
        return sorted(out, key=lambda f: f.ts)

    async def orders_since(self, symbols: Sequence[str], since_ts: int) -> list[OrderSnapshot]:
        """Return every order created or updated at or after ``since_ts`` (ns)."""
        out: list[OrderSnapshot] = []
        for symbol in symbols:
            # Binance's allOrders windows are by creation time: a day before ``since`` also
            # finds orders created earlier that changed since.
            start = max(since_ts // NANOS_PER_MS - _DAY_MS, 0)
            orders: list[RestOrder] = await self.rest.all_orders(symbol, start_ms=start)
            for order in orders:
                self.remember(order.symbol, order.order_id, order.client_order_id, order.status)
                snap = snapshot_from_rest(order)
                if snap.ts >= since_ts:
                    out.append(snap)
        return out
