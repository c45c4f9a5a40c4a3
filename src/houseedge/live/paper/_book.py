"""The paper broker's records: its orders, and its account (whole lots, exact cash)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from houseedge.core.broker import Account, OrderSnapshot
from houseedge.core.execution import OrderState, OrderStatus
from houseedge.core.matching import ends_after_match
from houseedge.core.types import (
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderReport,
    OrderSubmitted,
    Position,
    TimeInForce,
)

_RESTATE = {
    OrderStatus.SUBMITTED: OrderSubmitted,
    OrderStatus.CANCELLED: OrderCancelled,
    OrderStatus.EXPIRED: OrderExpired,
}


@dataclass(slots=True)
class Working:
    """One order at the paper venue: its state machine state and its lot bookkeeping."""

    state: OrderState
    lots: int
    venue_id: str
    updated: int
    filled: int = 0
    open: bool = True  # mirrors state.is_open, read on every event
    triggered: bool = False
    since: int = 0  # when it landed: it matches events from then on
    day: int | None = None  # UTC day of the first event a DAY order was matched against
    # The order's fields the matching loop reads on every event, looked up once.
    sign: int = 0
    prices: tuple[float | None, float | None] = (None, None)
    one_shot: bool = False  # IOC or FOK: the rest expires after the first event
    is_day: bool = False

    def __post_init__(self) -> None:
        order = self.state.order
        self.sign = order.side.sign
        self.prices = (order.limit_price, order.stop_price)
        self.one_shot = ends_after_match(order.tif, session_end=False)
        self.is_day = order.tif is TimeInForce.DAY


@dataclass(slots=True)
class Request:
    """A submit, cancel or replace waiting for its latency to pass."""

    due: int
    kind: Literal["submit", "cancel", "replace"]
    order_id: str
    new_id: str = ""


def snapshot(work: Working, lot: float) -> OrderSnapshot:
    """Return the venue's view of an order, for reconciliation."""
    state = work.state
    return OrderSnapshot(
        client_order_id=state.order.client_order_id,
        symbol=state.order.symbol,
        side=state.order.side,
        qty=state.order.qty,
        status=state.status,
        filled_qty=work.filled * lot,
        avg_fill_price=state.avg_price,
        venue_order_id=work.venue_id,
        ts=work.updated,
    )


def restatement(work: Working) -> OrderReport:
    """Return the report that states a known order's status again (for a repeated submit)."""
    cid, status, at = work.state.order.client_order_id, work.state.status, work.updated
    if status is OrderStatus.REJECTED:
        return OrderRejected(order_id=cid, ts=at, reason=work.state.reason)
    if status in _RESTATE:
        return _RESTATE[status](order_id=cid, ts=at)
    return OrderAccepted(order_id=cid, ts=at, venue_order_id=work.venue_id)


@dataclass(slots=True)
class ExactSum:
    """A running float sum kept exact (Shewchuk's partials, as :func:`math.fsum`), rounded once.

    Examples
    --------
    >>> total = ExactSum()
    >>> for _ in range(10):
    ...     total.add(0.1)
    >>> total.value, sum([0.1] * 10)
    (1.0, 0.9999999999999999)
    """

    partials: list[float] = field(default_factory=list[float])

    def add(self, x: float) -> None:
        """Add ``x`` without rounding."""
        kept = 0
        for y in self.partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                self.partials[kept] = lo
                kept += 1
            x = hi
        self.partials[kept:] = [x]

    @property
    def value(self) -> float:
        """Return the sum, correctly rounded."""
        return math.fsum(self.partials)


@dataclass(slots=True)
class PaperBook:
    """Signed positions in lots of ``lot``, their average entry prices, last prices and cash."""

    lot: float
    cash: ExactSum
    lots: dict[str, int] = field(default_factory=dict[str, int])
    avg: dict[str, float] = field(default_factory=dict[str, float])
    last: dict[str, float] = field(default_factory=dict[str, float])

    def trade(self, symbol: str, signed_lots: int, price: float, fee: float) -> None:
        """Book a fill: move the position and its average price, pay for it and its fee."""
        before = self.lots.get(symbol, 0)
        after = before + signed_lots
        if after == 0:
            self.avg[symbol] = 0.0
        elif before == 0 or (before > 0) != (after > 0):
            self.avg[symbol] = price
        elif abs(after) > abs(before):
            added = abs(after) - abs(before)
            self.avg[symbol] = (self.avg[symbol] * abs(before) + price * added) / abs(after)
        self.lots[symbol] = after
        self.cash.add(-(signed_lots * self.lot * price))
        self.cash.add(-fee)

    def positions(self) -> dict[str, Position]:
        """Return the non-zero positions by symbol."""
        return {
            s: Position(symbol=s, qty=n * self.lot, avg_price=self.avg[s])
            for s, n in self.lots.items()
            if n
        }

    def account(self) -> Account:
        """Return the cash and the equity marked at the last prices."""
        cash = self.cash.value
        value = math.fsum(n * self.lot * self.last[s] for s, n in self.lots.items() if n)
        return Account(cash=cash, equity=cash + value)
