"""The embedded paper broker: a :class:`~houseedge.core.broker.Broker` that fills on market data.

The engine forwards every market event to :meth:`PaperBroker.on_market`; orders match it with the
rules of :mod:`houseedge.core.matching` (the event-driven backtest's), priced by the same
:class:`~houseedge.core.costs.CostModel`.

Conventions
-----------
Market time
    The broker's clock is market time unless a ``clock`` is given: the end of the last bar it
    saw (a bar labelled ``ts`` closes at ``ts + timeframe``), or the last tick's ``ts``. Every
    report is stamped in it.
Latency
    A request (submit, cancel, replace) made at time ``T`` lands at ``T + latency_ns``. An order
    matches an event only when it had landed by the event's time: a bar's *open* time, so with
    ``latency_ns = 0`` an order decided on a bar's close works from the next bar's open, and
    any latency up to one bar length delays it one bar (``latency_bars=1`` of the backtest).
    A cancel that has not landed does not stop a fill.
Fills
    Bars: market orders at the open, limits, stops and stop-limits per
    :func:`~houseedge.core.matching.quote`, stamped at the bar's open time. Trades: a print at
    ``p`` is the bar ``(p, p, p)``, its size the volume. Quotes: a buy trades against the ask,
    a sell against the bid (their sizes are the volumes; a size of 0 means unknown: no
    participation limit). The cost model then adds its spread and slippage (set
    ``spread_bps=0`` when quotes already carry the spread) and fees. Cost-model inputs given
    with an event price the fills of the *next* event of that symbol (the backtest reads them
    at the bar before the fill bar).
Participation
    One event fills at most ``participation * volume`` of a symbol over all its orders, oldest
    first (for quotes, per side).
Time in force
    DAY works through the UTC day of the first event it is matched against and expires at the
    first event of a later day; GTD expires at the first event of its symbol at or after
    ``expire_ts``; IOC and FOK after the first event they are matched against.
Quantities
    Whole lots of ``lot_size``: an order is rounded down to lots (under one lot: rejected
    ``below_lot_size``); positions are integers of lots, cash a correctly rounded sum, so both
    are exact after any number of fills. Fill ids are ``paper-<n>``.
Replace
    ``replace(old, new)`` lands as one step: the old order is cancelled and ``new`` works for its
    own quantity; if the old order closed first, ``new`` is rejected ``replaced_order_closed``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from houseedge.core.broker import Account, BrokerEvent, MarketEvent, OrderSnapshot
from houseedge.core.costs import NO_COSTS, CostModel
from houseedge.core.execution import OrderState, apply
from houseedge.core.matching import lots_of
from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderAccepted,
    OrderAnomaly,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderReport,
    OrderSubmitted,
    Position,
    Side,
)
from houseedge.live.paper._book import ExactSum, PaperBook, Request, Working, restatement, snapshot
from houseedge.live.paper._fills import NANOS_PER_DAY, PaperMatcher, market_sides

__all__ = ["PaperBroker"]


class PaperBroker:
    """A simulated venue that fills orders against the market data the engine forwards.

    Parameters
    ----------
    costs
        Spread, slippage and fees of every fill (frictionless when None).
    latency_ns
        Delay between a request and the moment it takes effect, in market time.
    participation
        Largest fraction of an event's volume the broker fills per symbol (``(0, 1]``).
    starting_cash
        Cash of the account at the start.
    lot_size
        The quantity increment (1 for shares; ``1e-8`` for a coin).
    check_cash
        Reject a buy whose estimated cost exceeds the cash not already committed to open buys
        (``insufficient_cash``); off by default, as in the backtest.
    clock
        Returns "now" in UTC ns for report stamps and latency; market time when None.

    Examples
    --------
    >>> import asyncio
    >>> from houseedge.core.types import Bar, Order, Side
    >>> def bar(ts, price):
    ...     return Bar(symbol="X", timeframe="1m", ts=ts, open=price, high=price + 1,
    ...                low=price - 1, close=price, volume=100.0)
    >>> async def session():
    ...     broker = PaperBroker(starting_cash=1_000.0)
    ...     broker.on_market(bar(0, 10.0))
    ...     await broker.submit(Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=5))
    ...     fills = [r for r in broker.on_market(bar(60 * 10**9, 11.0)) if isinstance(r, Fill)]
    ...     return fills, await broker.positions(), await broker.account()
    >>> fills, positions, account = asyncio.run(session())
    >>> [(f.fill_id, f.qty, f.price, f.ts) for f in fills]
    [('paper-1', 5.0, 11.0, 60000000000)]
    >>> positions["X"].qty, account.cash, account.equity
    (5.0, 945.0, 1000.0)
    """

    def __init__(
        self,
        costs: CostModel | None = None,
        *,
        latency_ns: int = 0,
        participation: float | None = None,
        starting_cash: float = 100_000.0,
        lot_size: float = 1.0,
        check_cash: bool = False,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if latency_ns < 0:
            msg = f"latency_ns must be >= 0, got {latency_ns}"
            raise ValueError(msg)
        if participation is not None and not 0 < participation <= 1:
            msg = f"participation must be in (0, 1], got {participation}"
            raise ValueError(msg)
        if not lot_size > 0:
            msg = f"lot_size must be > 0, got {lot_size}"
            raise ValueError(msg)
        self.costs = NO_COSTS if costs is None else costs
        self.latency_ns, self.participation, self.lot = latency_ns, participation, lot_size
        self.check_cash, self._clock = check_cash, clock
        self.anomalies: list[OrderAnomaly] = []
        """Reports the broker's own order state machine refused (empty unless there is a bug)."""
        self._book = PaperBook(lot_size, ExactSum([float(starting_cash)]))
        self._orders: dict[str, Working] = {}
        self._working: dict[str, Working] = {}  # the open orders, oldest first
        self._pending: deque[Request] = deque()
        self._queue: asyncio.Queue[BrokerEvent | None] = asyncio.Queue()
        self._out: list[BrokerEvent] = []
        self._market_ns = 0
        self._day = -1
        self._matcher = PaperMatcher(self.costs, participation, lot_size, self._book)

    @property
    def name(self) -> str:
        """Return ``"paper"``."""
        return "paper"

    async def connect(self) -> None:
        """Do nothing: the paper venue is always there."""

    async def close(self) -> None:
        """End the report stream."""
        self._queue.put_nowait(None)

    def now(self) -> int:
        """Return the broker's time in UTC ns (market time unless a clock was given)."""
        return self._market_ns if self._clock is None else self._clock()

    # -- requests ----------------------------------------------------------------------------

    async def submit(self, order: Order) -> None:
        """Send ``order``; a known ``client_order_id`` re-reports that order's state instead."""
        known = self._orders.get(order.client_order_id)
        if known is not None:
            self._send(restatement(known))
            return
        now = self.now()
        if self._register(order, now, self._reject_reason(order)) is not None:
            self._request(Request(now + self.latency_ns, "submit", order.client_order_id))

    async def cancel(self, client_order_id: str) -> None:
        """Ask to cancel an order; ``cancelled`` or ``cancel_rejected`` follows when it lands."""
        now = self.now()
        if client_order_id not in self._orders:
            self._send(CancelRejected(order_id=client_order_id, ts=now, reason="unknown_order"))
            return
        self._request(Request(now + self.latency_ns, "cancel", client_order_id))

    async def replace(self, client_order_id: str, new: Order) -> None:
        """Cancel ``client_order_id`` and submit ``new`` (same symbol and side) in one step."""
        if new.client_order_id in self._orders:
            self._send(restatement(self._orders[new.client_order_id]))
            return
        now = self.now()
        old = self._orders.get(client_order_id)
        reason = self._reject_reason(new)
        if old is None:
            reason = "unknown_order"
        elif (old.state.order.symbol, old.state.order.side) != (new.symbol, new.side):
            reason = "replace_mismatch"
        if self._register(new, now, reason) is not None:
            due = now + self.latency_ns
            self._request(Request(due, "replace", client_order_id, new.client_order_id))

    def _reject_reason(self, order: Order) -> str:
        if lots_of(float(order.qty), self.lot) == 0:
            return "below_lot_size"
        if self.check_cash and order.side is Side.BUY:
            committed = sum(self._cost(w.state.order, w.lots - w.filled) for w in self._open())
            if self._cost(order, lots_of(float(order.qty), self.lot)) > self.cash - committed:
                return "insufficient_cash"
        return ""

    def _cost(self, order: Order, lots: int) -> float:
        if order.side is not Side.BUY:
            return 0.0
        price = order.limit_price or order.stop_price or self._book.last.get(order.symbol, 0.0)
        qty = lots * self.lot
        return qty * price + self.costs.fee(qty, price)

    def _register(self, order: Order, now: int, reason: str) -> Working | None:
        lots = lots_of(float(order.qty), self.lot)
        work = Working(OrderState(order=order), lots, f"paper-o{len(self._orders) + 1}", now)
        self._orders[order.client_order_id] = work
        cid = order.client_order_id
        if reason:
            self._emit(work, OrderRejected(order_id=cid, ts=now, reason=reason))
            return None
        self._emit(work, OrderSubmitted(order_id=cid, ts=now))
        return work

    def _request(self, request: Request) -> None:
        self._pending.append(request)
        now = self.now()
        # Land at once only without latency; otherwise the next event lands it (after ending
        # the day's DAY orders, which must go first when both fall due at midnight).
        if request.due <= now:
            self._land(now)

    def _land(self, until: int) -> None:
        """Carry out the requests due by ``until``, first in, first out."""
        while self._pending and self._pending[0].due <= until:
            request = self._pending.popleft()
            work, at = self._orders[request.order_id], request.due
            if request.kind == "submit":
                self._accept(work, at)
                continue
            was_open = work.state.is_open
            if was_open:
                self._emit(work, OrderCancelled(order_id=request.order_id, ts=at))
            else:
                self._emit(work, CancelRejected(order_id=request.order_id, ts=at, reason="closed"))
            if request.kind == "replace":
                new = self._orders[request.new_id]
                if was_open:
                    self._accept(new, at)
                else:
                    reason = "replaced_order_closed"
                    self._emit(new, OrderRejected(order_id=request.new_id, ts=at, reason=reason))

    def _accept(self, work: Working, at: int) -> None:
        order = work.state.order
        self._emit(
            work, OrderAccepted(order_id=order.client_order_id, ts=at, venue_order_id=work.venue_id)
        )
        work.since = at
        self._matcher.active.setdefault(order.symbol, []).append(work)

    # -- market data -------------------------------------------------------------------------

    def on_market(
        self, event: MarketEvent, inputs: Mapping[str, float] | None = None
    ) -> list[BrokerEvent]:
        """Match the working orders against ``event``; return the reports it caused.

        ``inputs`` are the cost model's inputs for the event's symbol as of this event; they
        price the fills of its next event. The reports also go to :meth:`reports`.
        """
        self._out = []
        at = event.ts
        end, (buy, sell), last = market_sides(event)
        self._roll_day(at)
        # Market time only moves past a bar's open once every bar of that open time is in (a
        # later symbol's bar may still come), so requests land by the open, not the end.
        self._land(at if self._clock is None else self._clock())
        if self._matcher.active.get(event.symbol):
            self._matcher.match(event.symbol, at, buy, sell, self._emit)
        self._book.last[event.symbol] = last
        if inputs is not None:
            self._matcher.inputs[event.symbol] = dict(inputs)
        self._market_ns = max(self._market_ns, end)
        return self._out

    def _roll_day(self, at: int) -> None:
        day = at // NANOS_PER_DAY
        if day <= self._day:
            return
        self._day = day
        for work in self._open():
            if work.day is not None and work.day < day:
                self._emit(work, OrderExpired(order_id=work.state.order.client_order_id, ts=at))

    # -- reports -----------------------------------------------------------------------------

    def _emit(self, work: Working, report: OrderReport) -> None:
        work.state, anomaly = apply(work.state, report)
        work.open = work.state.is_open
        if work.open:
            self._working[report.order_id] = work
        else:
            self._working.pop(report.order_id, None)
        work.updated = max(work.updated, report.ts)
        if anomaly is not None:
            self.anomalies.append(anomaly)
        self._send(report)

    def _send(self, report: BrokerEvent) -> None:
        self._out.append(report)
        self._queue.put_nowait(report)

    async def _stream(self) -> AsyncIterator[BrokerEvent]:
        while (report := await self._queue.get()) is not None:
            yield report

    def reports(self) -> AsyncIterator[BrokerEvent]:
        """Return the stream of reports and fills (ends after :meth:`close`)."""
        return self._stream()

    # -- state -------------------------------------------------------------------------------

    @property
    def cash(self) -> float:
        """Return the cash: starting cash less fills and fees, correctly rounded."""
        return self._book.cash.value

    def _open(self) -> list[Working]:
        return list(self._working.values())

    async def open_orders(self) -> Sequence[OrderSnapshot]:
        """Return the orders still working (or waiting to land), oldest first."""
        return [snapshot(w, self.lot) for w in self._open()]

    async def positions(self) -> dict[str, Position]:
        """Return the non-zero positions by symbol."""
        return self._book.positions()

    async def account(self) -> Account:
        """Return the cash and the equity marked at the last prices seen."""
        return self._book.account()

    async def orders_since(self, since_ts: int) -> Sequence[OrderSnapshot]:
        """Return every order created or updated at or after ``since_ts``."""
        return [snapshot(w, self.lot) for w in self._orders.values() if w.updated >= since_ts]

    async def fills_since(self, since_ts: int) -> Sequence[Fill]:
        """Return every fill at or after ``since_ts``, in the order they happened."""
        return [f for f in self._matcher.fills if f.ts >= since_ts]
