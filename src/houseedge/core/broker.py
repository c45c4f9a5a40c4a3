"""What a venue must provide to the live engine: the ``Broker`` and ``MarketFeed`` protocols.

Every adapter (the embedded paper broker; Alpaca, Binance, Interactive Brokers) implements
:class:`Broker`; every source of market data (a replay of stored bars, an adapter's live
stream) implements :class:`MarketFeed`. Adapters translate venue messages into
:mod:`houseedge.core.types` values at the edge and raise only :class:`~houseedge.errors.BrokerError`
subclasses.

Contract
--------
Idempotent submit
    ``submit`` carries our ``client_order_id``. Submitting an id the venue already knows must not
    create a second order: the adapter resolves it (looks the order up) and reports its state.
Reports are a stream
    ``submit``/``cancel``/``replace`` return when the venue has the request; outcomes (acks,
    rejects, fills, cancels, expiries) arrive on :meth:`Broker.reports`, possibly late, out of
    order or twice. The engine runs them through :func:`houseedge.core.execution.apply` and the
    journal de-duplicates fills by ``fill_id``.
Unknown orders
    ``cancel`` of an id the venue does not know is reported as ``CancelRejected``, never raised;
    a lookup of one raises :class:`OrderNotFound` (one class for every venue; an adapter may
    subclass it to carry the venue's code). A duplicate client order id the venue refuses is
    :class:`DuplicateOrder`, which ``submit`` resolves by looking the order up.
Reconciliation
    After every (re)connect the engine asks ``orders_since``/``fills_since`` for what happened
    while it was not listening; both must include everything at or after ``since_ts``.
Time
    UTC nanoseconds everywhere.
Adapter events (optional)
    A broker with a ``bind_events(sink)`` method is given, before ``connect``, an async sink
    that takes ``[(kind, payload, ts), ...]``: the engine journals and publishes what the adapter
    reports about itself (stream gaps, reconnects, malformed messages) as events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

import msgspec

from houseedge.core.execution import OrderStatus
from houseedge.core.types import (
    Bar,
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderReport,
    Position,
    Side,
)
from houseedge.errors import BrokerError
from houseedge.errors import OrderRejected as OrderRefused


class OrderNotFound(BrokerError):
    """The venue does not know the order (Alpaca 404, Binance -2011/-2013, IB: no such order).

    Every adapter raises this one class, so the engine and the conformance suite can tell an
    unknown order from any other failure whatever the venue.
    """


class DuplicateOrder(OrderRefused):
    """The venue already has an order with this client order id (a resubmitted order).

    Adapters never let it escape :meth:`Broker.submit`: they resolve it by looking the order up.
    """


class TrailingStop(msgspec.Struct, frozen=True, kw_only=True):
    """A trailing stop rides beside an order: exactly one of ``amount`` or ``percent`` (> 0).

    :class:`~houseedge.core.types.OrderType` has no trailing stop, so an adapter that supports
    one takes it as ``submit(order, trail=TrailingStop(...))``: ``amount`` trails the best price
    by that many price units, ``percent`` by that percentage. Which order types it applies to is
    the venue's (Alpaca: a market order; IB: a stop or stop-limit order).

    Examples
    --------
    >>> TrailingStop(percent=1.5).percent
    1.5
    >>> TrailingStop(amount=1.0, percent=1.0)
    Traceback (most recent call last):
    ...
    ValueError: a trailing stop takes exactly one of amount and percent (> 0)
    """

    amount: float | None = None
    percent: float | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.amount, self.percent) if v is not None]
        if len(given) != 1 or given[0] <= 0:
            msg = "a trailing stop takes exactly one of amount and percent (> 0)"
            raise ValueError(msg)


class Trade(msgspec.Struct, frozen=True, kw_only=True, tag="trade"):
    """One print on the tape."""

    symbol: str
    ts: int
    price: float
    size: float


class Quote(msgspec.Struct, frozen=True, kw_only=True, tag="quote"):
    """Top of book."""

    symbol: str
    ts: int
    bid: float
    ask: float
    bid_size: float = 0.0
    ask_size: float = 0.0


MarketEvent = Bar | Trade | Quote
"""What a feed yields."""

BrokerEvent = OrderReport | Fill
"""What a broker's report stream yields: order state changes and executions."""


class OrderSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The venue's view of one order, for reconciliation."""

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    status: OrderStatus
    filled_qty: float = 0.0
    avg_fill_price: float | None = None
    venue_order_id: str = ""
    ts: int = 0

    def report(self, reason: str) -> OrderReport | None:
        """Return the report that moves the order to this status; None if there is none.

        Cancelled, expired and rejected (for ``reason``) end it; accepted, partially filled
        and cancel requested say the venue holds it (an acknowledgement). New, submitted and
        filled have no report of their own (fills are reported apart, with their ids).

        Examples
        --------
        >>> snap = OrderSnapshot(client_order_id="a", symbol="X", side=Side.BUY, qty=1,
        ...                      status=OrderStatus.PARTIALLY_FILLED, venue_order_id="v1")
        >>> snap.report("venue")
        OrderAccepted(order_id='a', ts=0, venue_order_id='v1')
        >>> snap = OrderSnapshot(client_order_id="a", symbol="X", side=Side.BUY, qty=1,
        ...                      status=OrderStatus.FILLED)
        >>> snap.report("venue") is None
        True
        """
        oid, ts = self.client_order_id, self.ts
        status = self.status
        if status is OrderStatus.CANCELLED:
            return OrderCancelled(order_id=oid, ts=ts)
        if status is OrderStatus.EXPIRED:
            return OrderExpired(order_id=oid, ts=ts)
        if status is OrderStatus.REJECTED:
            return OrderRejected(order_id=oid, ts=ts, reason=reason)
        if status in _HELD:
            return OrderAccepted(order_id=oid, ts=ts, venue_order_id=self.venue_order_id)
        return None


_HELD = frozenset(
    {OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCEL_REQUESTED}
)


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """Cash and equity as the venue reports them (in the account currency)."""

    cash: float
    equity: float
    buying_power: float | None = None
    currency: str = "USD"


@runtime_checkable
class Broker(Protocol):
    """A venue the live engine trades through."""

    @property
    def name(self) -> str:
        """Return a short name (``"paper"``, ``"alpaca"``) for logs, metrics and events."""
        ...

    async def connect(self) -> None:
        """Open connections and start the report stream."""
        ...

    async def close(self) -> None:
        """Close connections; pending reports may be lost and are reconciled next start."""
        ...

    async def submit(self, order: Order) -> None:
        """Send an order; idempotent on ``order.client_order_id``."""
        ...

    async def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel an order; the outcome arrives as a report."""
        ...

    async def replace(
        self,
        client_order_id: str,
        new: Order,
    ) -> None:
        """Replace a working order by ``new`` (a fresh client order id, same symbol and side)."""
        ...

    def reports(self) -> AsyncIterator[BrokerEvent]:
        """Return the stream of order reports and fills, in venue order as far as known."""
        ...

    async def open_orders(self) -> Sequence[OrderSnapshot]:
        """Return the orders still working at the venue."""
        ...

    async def positions(self) -> dict[str, Position]:
        """Return the venue's positions by symbol."""
        ...

    async def account(self) -> Account:
        """Return the venue's cash and equity."""
        ...

    async def orders_since(self, since_ts: int) -> Sequence[OrderSnapshot]:
        """Return every order created or updated at or after ``since_ts``."""
        ...

    async def fills_since(self, since_ts: int) -> Sequence[Fill]:
        """Return every fill at or after ``since_ts`` (the journal drops ones it has)."""
        ...


@runtime_checkable
class MarketFeed(Protocol):
    """A source of market events: a replay of stored bars or a venue's live stream."""

    def events(self) -> AsyncIterator[MarketEvent]:
        """Return the stream of bars, trades and quotes, in time order per symbol."""
        ...

    async def close(self) -> None:
        """Stop the stream."""
        ...
