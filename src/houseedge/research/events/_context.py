"""What an order-level policy can see and ask while it decides in the event-driven backtest."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import msgspec
import polars as pl

from houseedge.core.execution import OrderState
from houseedge.core.types import Bar, MarketSnapshot, Order, OrderType, Side, TimeInForce
from houseedge.errors import PolicyError

if TYPE_CHECKING:
    from houseedge.research.events._loop import Loop


class EventContext:
    """The third argument of ``decide(portfolio, snapshot, context)`` in :func:`run_events`.

    It knows the bars up to now and the orders; everything it queues takes effect at the landing
    step (the next bar time, later with latency). Cancels and replaces land before new orders
    decided at the same step, and both before that step's bars are matched.

    * :meth:`order` builds an :class:`~houseedge.core.types.Order` with a fresh id and the
      current time (return it from ``decide`` to submit it);
    * :meth:`cancel` asks to cancel a working order; :meth:`replace` cancels it and submits a
      modified copy (new id) for its unfilled rest, or for a new quantity;
    * :meth:`open_orders`, :meth:`state`, :meth:`history`, :meth:`row` look things up.

    Examples
    --------
    A policy that rests a buy limit 2% under the close and moves it up after two bars:

    >>> from houseedge.research.events import run_events
    >>> class Chase:
    ...     name = "chase"
    ...     def params(self): return {}
    ...     def decide(self, portfolio, snapshot, context):
    ...         close = snapshot.price("asset")
    ...         if context.step == 0:
    ...             return [context.order("asset", "buy", 5, type="limit",
    ...                                   limit_price=close * 0.98, tif="gtc")]
    ...         if context.step == 2:
    ...             (working,) = context.open_orders("asset")
    ...             context.replace(working.order.client_order_id, limit_price=close)
    ...         return []
    >>> bars = pl.DataFrame({"ts": [1, 2, 3, 4], "open": [100.0] * 4, "high": [101.0] * 4,
    ...     "low": [99.0] * 4, "close": [100.0] * 4})
    >>> result = run_events(bars, Chase())
    >>> result.order_log.select("order_id", "status", "limit_price").rows()
    [('chase-1', 'cancelled', 98.0), ('chase-2', 'filled', 100.0)]
    >>> result.orders.select("ts", "qty", "price").rows()
    [(4, 5.0, 100.0)]
    """

    def __init__(self, loop: Loop) -> None:
        self._loop = loop
        self._rows = [-1] * len(loop.market.symbols)
        self._ids = itertools.count(1)
        self._index = {name: s for s, name in enumerate(loop.market.symbols)}
        self.ts = 0
        """Time (UTC ns) of the bars that just closed."""
        self.step = -1
        """Index of the current bar time (0-based)."""

    def begin(self, step: int, at: int) -> None:
        """Move to step ``step`` at time ``at`` (called by the loop)."""
        self.step, self.ts = step, at
        for s, row in self._loop.market.steps[step]:
            self._rows[s] = row

    def snapshot(self) -> MarketSnapshot:
        """Return the bars that closed at this step and every symbol's last close."""
        m = self._loop.market
        bars = {
            m.symbols[s]: Bar(
                symbol=m.symbols[s],
                timeframe=m.timeframe[s],
                ts=self.ts,
                open=m.open[s][row],
                high=m.high[s][row],
                low=m.low[s][row],
                close=m.close[s][row],
                volume=m.volume[s][row],
            )
            for s, row in m.steps[self.step]
        }
        last = self._loop.book.last
        prices = {name: last[s] for s, name in enumerate(m.symbols) if self._rows[s] >= 0}
        return MarketSnapshot(ts=self.ts, bars=bars, last=prices)

    def new_id(self) -> str:
        """Return a fresh client order id: ``<policy name>-<n>``."""
        return f"{self._loop.policy.name}-{next(self._ids)}"

    def order(
        self,
        symbol: str,
        side: Side | str,
        qty: float,
        *,
        type: OrderType | str = OrderType.MARKET,
        limit_price: float | None = None,
        stop_price: float | None = None,
        tif: TimeInForce | str = TimeInForce.DAY,
        expire_ts: int | None = None,
        tag: str = "",
    ) -> Order:
        """Return a new order with a fresh id, stamped now (submit it by returning it)."""
        return Order(
            client_order_id=self.new_id(),
            symbol=symbol,
            side=Side(side),
            qty=qty,
            type=OrderType(type),
            limit_price=limit_price,
            stop_price=stop_price,
            tif=TimeInForce(tif),
            expire_ts=expire_ts,
            ts=self.ts,
            tag=tag,
        )

    def cancel(self, order_id: str) -> bool:
        """Ask to cancel ``order_id``; return False (and do nothing) when it is already closed."""
        if not self.state(order_id).is_open:
            return False
        self._loop.cancel(order_id, self.ts)
        return True

    def replace(
        self,
        order_id: str,
        *,
        qty: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> str | None:
        """Cancel ``order_id`` and submit a copy with the given changes; return the copy's id.

        Without ``qty`` the copy is for what the old order has not filled when the replace
        lands. If the old order closed (filled, expired) before that, the copy is rejected with
        reason ``replaced_order_closed``. Returns None when the order is already closed now.
        """
        old = self.state(order_id)
        if not old.is_open:
            return None
        changes: dict[str, object] = {"client_order_id": self.new_id(), "ts": self.ts}
        changes |= {"qty": old.order.qty if qty is None else qty}
        if limit_price is not None:
            changes["limit_price"] = limit_price
        if stop_price is not None:
            changes["stop_price"] = stop_price
        replacement = msgspec.structs.replace(old.order, **changes)  # validates the changes
        self._loop.replace(order_id, replacement, self.ts, rest=qty is None)
        return replacement.client_order_id

    def open_orders(self, symbol: str | None = None) -> list[OrderState]:
        """Return the orders that may still fill (of ``symbol``, or all), oldest first."""
        return [
            w.state
            for w in self._loop.open.values()
            if symbol is None or w.state.order.symbol == symbol
        ]

    def state(self, order_id: str) -> OrderState:
        """Return the current state of an order this run has seen."""
        work = self._loop.orders.get(order_id)
        if work is None:
            msg = f"unknown order id {order_id!r}"
            raise PolicyError(msg)
        return work.state

    def row(self, symbol: str) -> int:
        """Return the index of ``symbol``'s last closed bar (-1 before its first bar)."""
        return self._rows[self._symbol(symbol)]

    def history(self, symbol: str) -> pl.DataFrame:
        """Return ``symbol``'s bars up to and including the last closed one (no look-ahead)."""
        s = self._symbol(symbol)
        return self._loop.market.history(s, self._rows[s])

    def _symbol(self, symbol: str) -> int:
        s = self._index.get(symbol)
        if s is None:
            msg = f"unknown symbol {symbol!r}; the bars hold {self._loop.market.symbols}"
            raise PolicyError(msg)
        return s
