"""The event-driven backtest loop: orders land, bars match them, the policy decides.

One step per distinct bar time ``k``, in time order:

1. **Land** the requests decided ``1 + latency`` steps earlier, first in, first out: new orders
   are accepted and start working, cancels and replaces take effect.
2. **Match** each bar at this time against its symbol's working orders, oldest first
   (:mod:`houseedge.core.matching`, shared with the paper broker), with a shared
   participation budget per bar.
3. **Expire** orders by time in force; close positions at the end of data when asked.
4. **Decide**: charge borrow on shorts at the close, mark the portfolio, call the policy with
   the bars that closed now. Its orders and requests are queued for step ``k + 1 + latency``.

Quantities are integers of ``lot`` units inside the loop, so positions never drift; every order
goes through the order state machine (:mod:`houseedge.core.execution`) with simulated reports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from houseedge.core.costs import CostModel
from houseedge.core.execution import OrderState, apply
from houseedge.core.matching import budget, ends_after_match, fill_price, lots_of, match
from houseedge.core.policies.protocol import OrderPolicy
from houseedge.core.types import (
    CancelRejected,
    CancelRequested,
    Fill,
    Order,
    OrderAccepted,
    OrderAnomaly,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderReport,
    OrderSubmitted,
    PortfolioState,
)
from houseedge.errors import PolicyError
from houseedge.research.events._book import Book
from houseedge.research.events._context import EventContext
from houseedge.research.events._market import Market

Finalize = Literal["open", "close"] | None


@dataclass(slots=True)
class Working:
    """An order in the loop: its state machine state and its lot bookkeeping."""

    state: OrderState
    sym: int
    lots: int
    decided: int  # time (ns) of the step that decided it
    filled: int = 0
    fills: int = 0
    triggered: bool = False  # a stop or stop-limit has triggered


@dataclass(slots=True)
class Request:
    """A policy request waiting for its step: submit, cancel or replace."""

    kind: Literal["submit", "cancel", "replace"]
    due: int
    order_id: str
    replacement: Order | None = None
    rest: bool = False  # the replacement is for the old order's unfilled rest


@dataclass(slots=True)
class Loop:
    """The whole mutable state of one event-driven run."""

    market: Market
    policy: OrderPolicy
    costs: CostModel
    book: Book
    participation: float | None
    latency: int
    finalize: Finalize
    orders: dict[str, Working] = field(default_factory=dict[str, Working])
    open: dict[str, Working] = field(default_factory=dict[str, Working])  # still may fill
    active: list[list[Working]] = field(default_factory=list[list[Working]])
    pending: deque[Request] = field(default_factory=deque[Request])
    anomalies: list[OrderAnomaly] = field(default_factory=list[OrderAnomaly])
    step: int = 0
    on_fill: Callable[[Fill, PortfolioState], object] | None = None

    def report(self, work: Working, report: OrderReport) -> None:
        """Apply a report to an order's state machine; keep any anomaly."""
        work.state, anomaly = apply(work.state, report)
        if work.state.is_open:
            self.open[report.order_id] = work
        else:
            self.open.pop(report.order_id, None)
        if anomaly is not None:
            self.anomalies.append(anomaly)

    def run(self) -> None:
        """Walk every step of the market."""
        market, book = self.market, self.book
        self.active = [[] for _ in market.symbols]
        context = EventContext(self)
        for k, at in enumerate(market.times):
            self.step = k
            while self.pending and self.pending[0].due <= k:
                self._land(self.pending.popleft(), at)
            for s, row in market.steps[k]:
                if self.active[s]:
                    self._match(s, row, at)
                if self.finalize is not None and row == len(market.ts[s]) - 1:
                    self._finalize(s, row)
                book.close_bar(s, market.close[s][row])
            context.begin(k, at)
            decided = self.policy.decide(book.portfolio(at), context.snapshot(), context)
            for order in decided or ():
                if self._register(order, at) is not None:
                    self.pending.append(Request("submit", self._due(), order.client_order_id))

    def cancel(self, order_id: str, at: int) -> None:
        """Queue a cancel of ``order_id`` (recorded now as requested)."""
        self.report(self.orders[order_id], CancelRequested(order_id=order_id, ts=at))
        self.pending.append(Request("cancel", self._due(), order_id))

    def replace(self, order_id: str, replacement: Order, at: int, *, rest: bool) -> None:
        """Queue a cancel of ``order_id`` and the submission of ``replacement`` in its place."""
        self.report(self.orders[order_id], CancelRequested(order_id=order_id, ts=at))
        self.pending.append(Request("replace", self._due(), order_id, replacement, rest))

    def _due(self) -> int:
        return self.step + 1 + self.latency

    def _register(self, order: object, at: int, reason: str = "") -> Working | None:
        """Record a new order as submitted (or rejected); return it when it will work."""
        if not isinstance(order, Order):
            msg = f"policy {self.policy.name!r} returned {order!r}, not an Order"
            raise PolicyError(msg)
        if order.client_order_id in self.orders:
            msg = f"policy {self.policy.name!r} reused client order id {order.client_order_id!r}"
            raise PolicyError(msg)
        if order.symbol not in self.market.symbols:
            msg = f"policy {self.policy.name!r} ordered {order.symbol!r}, which has no bars"
            raise PolicyError(msg)
        lots = lots_of(order.qty, self.book.lot)
        if lots and lots * self.book.lot != order.qty:
            order = msgspec.structs.replace(order, qty=lots * self.book.lot)
        work = Working(OrderState(order=order), self.market.symbols.index(order.symbol), lots, at)
        self.orders[order.client_order_id] = work
        reason = reason or ("" if lots else "below_lot_size")
        if reason:
            self.report(work, OrderRejected(order_id=order.client_order_id, ts=at, reason=reason))
            return None
        self.report(work, OrderSubmitted(order_id=order.client_order_id, ts=at))
        return work

    def _accept(self, work: Working, at: int) -> None:
        self.report(work, OrderAccepted(order_id=work.state.order.client_order_id, ts=at))
        if work.state.is_open:
            self.active[work.sym].append(work)

    def _land(self, request: Request, at: int) -> None:
        work = self.orders[request.order_id]
        if request.kind == "submit":
            self._accept(work, at)
            return
        rest = work.lots - work.filled
        if work.state.is_open:
            self.report(work, OrderCancelled(order_id=request.order_id, ts=at))
        else:
            self.report(work, CancelRejected(order_id=request.order_id, ts=at, reason="closed"))
        new = request.replacement
        if new is None:
            return
        if work.state.status != "cancelled" or (request.rest and rest == 0):
            self._register(new, at, reason="replaced_order_closed")
            return
        if request.rest:
            new = msgspec.structs.replace(new, qty=rest * self.book.lot)
        replacement = self._register(new, work.decided)
        if replacement is not None:
            self._accept(replacement, at)

    # -- matching ---------------------------------------------------------------------------

    def _match(self, s: int, row: int, at: int) -> None:
        m = self.market
        bar = (m.open[s][row], m.high[s][row], m.low[s][row])
        available = budget(self.participation, m.volume[s][row], self.book.lot)
        for work in list(self.active[s]):
            order = work.state.order
            if not work.state.is_open:
                continue
            if order.expire_ts is not None and at >= order.expire_ts:
                self.report(work, OrderExpired(order_id=order.client_order_id, ts=at))
                continue
            found = match(
                order, work.lots - work.filled, bar, triggered=work.triggered, available=available
            )
            work.triggered = found.triggered
            if found.lots > 0 and found.quote is not None:
                available -= found.lots
                self._fill(work, row, found.lots, found.quote, at)
            if work.state.is_open and ends_after_match(order.tif, m.session_end[s][row]):
                self.report(work, OrderExpired(order_id=order.client_order_id, ts=at))
        self.active[s] = [w for w in self.active[s] if w.state.is_open]

    def _fill(self, work: Working, row: int, lots: int, at_quote: float, at: int) -> None:
        order = work.state.order
        sign = order.side.sign
        inputs = self.market.cost_inputs(work.sym, row - 1)
        price, liquidity = fill_price(
            self.costs, order.type, sign, at_quote, order.limit_price, inputs
        )
        qty = lots * self.book.lot
        fee = self.costs.fee(qty, price)
        work.filled += lots
        work.fills += 1
        fill = Fill(
            fill_id=f"{order.client_order_id}-{work.fills}",
            order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            fee=fee,
            ts=at,
            liquidity=liquidity,
        )
        self.report(work, fill)
        glob = self.market.offsets[work.sym] + row
        self.book.trade(work.sym, sign * lots, price, fee, (glob, work.decided, False))
        if self.on_fill is not None:
            self.on_fill(fill, self.book.portfolio(at))

    def _finalize(self, s: int, row: int) -> None:
        held = self.book.lots[s]
        if held == 0 or self.finalize is None:
            return
        m = self.market
        at_quote = (m.open if self.finalize == "open" else m.close)[s][row]
        sign = -1 if held > 0 else 1
        price = self.costs.fill_price(at_quote, sign, m.cost_inputs(s, row - 1))
        fee = self.costs.fee(abs(held) * self.book.lot, price)
        self.book.trade(s, -held, price, fee, (m.offsets[s] + row, m.ts[s][row], True))
