"""The fake TWS's venue: contracts, an in-memory matching engine on a scripted price path, books.

State outlives every API connection, as at a real broker: orders, executions, positions and
cash stay when a client disconnects, and orders keep filling while nobody listens. Methods
return the events that happened; the server turns them into TWS messages.

Matching: a market order fills at the symbol's current price; a limit when the price reaches
it (at the current price); a stop triggers when the price crosses it and then fills as a market
(stop-limit: as a limit); a trailing stop follows the best price by its amount or percentage.
``fill_slices`` splits each fill into that many executions.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from tests.fakes.ib.wire import FakeContract, FakeExecution, FakeOrder


@dataclass(frozen=True)
class Event:
    """Something that happened at the venue: ``kind`` is placed, modified, fill, cancelled."""

    kind: str
    order: FakeOrder
    execution: FakeExecution | None = None


def _event(kind: str, order: FakeOrder, execution: FakeExecution | None = None) -> Event:
    # A snapshot: the messages of an event show the order as it was then, not as it ends up.
    return Event(kind, replace(order), execution)


DEFAULT_CONTRACTS = (
    FakeContract(265598, "AAPL", primary_exchange="NASDAQ"),
    FakeContract(272093, "MSFT", primary_exchange="NASDAQ"),
    FakeContract(620730920, "ES", "FUT", "CME", local_symbol="ESH6", multiplier="50",
                 last_trade_date="20260320", trading_class="ES", min_tick=0.25),
    FakeContract(12087792, "EUR", "CASH", "IDEALPRO", local_symbol="EUR.USD",
                 trading_class="EUR.USD", min_tick=0.00005),
    FakeContract(479624278, "BTC", "CRYPTO", "PAXOS", local_symbol="BTC.USD",
                 trading_class="BTC", min_tick=0.25),
)  # fmt: skip


class Venue:
    """Orders, executions, positions and cash of one fake account."""

    def __init__(
        self,
        contracts: tuple[FakeContract, ...] = DEFAULT_CONTRACTS,
        *,
        account: str = "DU1234567",
        cash: float = 1_000_000.0,
        commission_per_unit: float = 0.005,
        min_commission: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.contracts = {c.con_id: c for c in contracts}
        self.account, self.cash, self.clock = account, cash, clock
        self.commission_per_unit, self.min_commission = commission_per_unit, min_commission
        self.prices: dict[int, float] = {}
        self.orders: dict[int, FakeOrder] = {}  # by permId
        self.by_key: dict[tuple[int, int], FakeOrder] = {}  # (clientId, orderId)
        self.executions: list[FakeExecution] = []
        self.positions: dict[int, float] = {}
        self.costs: dict[int, float] = {}
        self.fill_slices = 1
        self.placed = 0
        self._perm = itertools.count(1_000_001)
        self._exec = itertools.count(1)

    # -- contracts and prices ---------------------------------------------------------------

    def find(self, con_id: int, symbol: str, sec_type: str, currency: str) -> list[FakeContract]:
        """Return the contracts matching a request (by conId when given)."""
        if con_id:
            return [c for c in self.contracts.values() if c.con_id == con_id]
        return [c for c in self.contracts.values()
                if c.symbol == symbol and (not sec_type or c.sec_type == sec_type)
                and (not currency or c.currency == currency)]  # fmt: skip

    def contract(self, symbol: str) -> FakeContract:
        """Return the contract of ``symbol`` (its IB symbol or local symbol)."""
        for c in self.contracts.values():
            if symbol in (c.symbol, c.local_symbol):
                return c
        raise KeyError(symbol)

    def set_price(self, symbol: str, price: float) -> list[Event]:
        """Move the price of ``symbol`` and match the working orders against it."""
        contract = self.contract(symbol)
        self.prices[contract.con_id] = price
        events: list[Event] = []
        for order in [o for o in self.orders.values() if o.contract is contract]:
            if order.status in ("Submitted", "PreSubmitted"):
                events += self._match(order)
        return events

    # -- orders -----------------------------------------------------------------------------

    def place(self, order: FakeOrder) -> tuple[list[Event], tuple[int, str] | None]:
        """Accept a new order or a modify (same client and order id); return events or error."""
        known = self.by_key.get((order.client_id, order.order_id))
        if known is not None:
            if known.status not in ("Submitted", "PreSubmitted"):
                return [], (104, "Cannot modify a filled order.")
            for name in ("qty", "lmt_price", "aux_price", "order_type", "tif", "order_ref",
                         "trail_stop", "trailing_percent"):  # fmt: skip
                setattr(known, name, getattr(order, name))
            return [_event("modified", known), *self._match(known)], None
        used = [oid for (cid, oid) in self.by_key if cid == order.client_id]
        if used and order.order_id <= max(used):
            return [], (103, "Duplicate order id")
        order.perm_id, order.created_ns = next(self._perm), self.clock()
        order.account = self.account
        self.orders[order.perm_id] = order
        self.by_key[(order.client_id, order.order_id)] = order
        self.placed += 1
        return [_event("placed", order), *self._match(order)], None

    def cancel(self, client_id: int, order_id: int) -> tuple[list[Event], tuple[int, str] | None]:
        """Cancel a working order; an error code when it cannot be cancelled."""
        order = self.by_key.get((client_id, order_id))
        if order is None:
            return [], (10147, f"OrderId {order_id} that needs to be cancelled is not found.")
        if order.status not in ("Submitted", "PreSubmitted"):
            msg = f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: "
            return [], (10148, msg + order.status)
        order.status, order.done_ns = "Cancelled", self.clock()
        return [_event("cancelled", order)], None

    def _match(self, order: FakeOrder) -> list[Event]:
        price = self.prices.get(order.contract.con_id)
        if price is None:
            return []
        buy = order.action == "BUY"
        if order.order_type == "TRAIL":
            self._trail(order, price, buy)
        kind = order.order_type
        if kind in ("STP", "STP LMT", "TRAIL") and not order.triggered:
            stop = order.trail_stop if kind == "TRAIL" else order.aux_price
            if stop is None or (price < stop if buy else price > stop):
                return []
            order.triggered = True
        limit = order.lmt_price if kind in ("LMT", "STP LMT") else None
        if limit is not None and (price > limit if buy else price < limit):
            return []
        return self._fill(order, price)

    def _trail(self, order: FakeOrder, price: float, buy: bool) -> None:
        if order.trailing_percent is not None:
            offset = price * order.trailing_percent / 100
        else:
            offset = order.aux_price or 0.0
        level = price + offset if buy else price - offset
        stop = order.trail_stop
        if stop is None or (level < stop if buy else level > stop):
            order.trail_stop = level

    def _fill(self, order: FakeOrder, price: float) -> list[Event]:
        slices = max(1, min(self.fill_slices, int(order.remaining)))
        events = []
        for k in range(slices):
            qty = order.remaining if k == slices - 1 else math.floor(order.remaining / (slices - k))
            events.append(self._execute(order, qty, price))
        return events

    def _execute(self, order: FakeOrder, qty: float, price: float) -> Event:
        contract = order.contract
        order.filled += qty
        order.notional += qty * price
        order.last_fill_price = price
        if order.remaining <= 0:
            order.status, order.done_ns = "Filled", self.clock()
        n = next(self._exec)
        multiplier = float(contract.multiplier or 1)
        commission = max(self.min_commission, self.commission_per_unit * qty)
        signed = qty if order.action == "BUY" else -qty
        self.positions[contract.con_id] = self.positions.get(contract.con_id, 0.0) + signed
        self.costs[contract.con_id] = self.costs.get(contract.con_id, 0.0) + signed * price
        self.cash -= signed * price * multiplier + commission
        execution = FakeExecution(
            exec_id=f"0000e0d5.{order.perm_id:08x}.{n:06x}.01", order=order,
            side="BOT" if order.action == "BUY" else "SLD", shares=qty, price=price,
            ts_ns=self.clock(), cum_qty=order.filled, avg_price=order.avg_price,
            commission=commission,
        )  # fmt: skip
        self.executions.append(execution)
        return _event("fill", order, execution)

    # -- queries ----------------------------------------------------------------------------

    def working(self, client_id: int | None = None) -> list[FakeOrder]:
        """Return the working orders (of one API client when given)."""
        return [o for o in self.orders.values() if o.status in ("Submitted", "PreSubmitted")
                and (client_id is None or o.client_id == client_id)]  # fmt: skip

    def completed(self) -> list[FakeOrder]:
        """Return the orders that are done (filled, cancelled)."""
        return [o for o in self.orders.values() if o.status not in ("Submitted", "PreSubmitted")]

    def position_of(self, symbol: str) -> float:
        """Return the signed position in ``symbol``."""
        return self.positions.get(self.contract(symbol).con_id, 0.0)

    def commissions(self) -> float:
        """Return the commissions charged so far."""
        return math.fsum(e.commission for e in self.executions)
