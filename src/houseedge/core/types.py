"""Domain types shared by research and live code.

Timestamps are UTC nanoseconds since the epoch (``int``), matching Polars
``Datetime("ns", "UTC")``. Quantities are absolute (``> 0``) on orders and fills, whose
:class:`Side` gives the direction; positions are signed. Every struct is a frozen
``msgspec.Struct`` that checks its invariants on construction, so an instance is always valid.

Order reports (what a venue, or the backtest's simulated venue, says happened to an order) form
the tagged union :data:`OrderReport`; they are decoded from JSON with the ``"type"`` field::

    submitted · accepted · rejected · fill · cancel_requested · cancel_rejected · cancelled ·
    expired

:class:`Fill` is itself the ``"fill"`` report. :class:`OrderAnomaly` is what the order state
machine (:mod:`houseedge.core.execution`) emits instead of raising on a report it cannot apply.
"""

from __future__ import annotations

import enum
import math
from typing import Final

import msgspec

NANOS_PER_SECOND = 1_000_000_000


class Side(enum.StrEnum):
    """Direction of an order or fill."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for a buy and -1 for a sell.

        Examples
        --------
        >>> Side.SELL.sign
        -1
        """
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    """How an order's execution price is determined."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(enum.StrEnum):
    """How long an order works before the venue ends it.

    ``DAY``: until the end of the session it became active in; ``GTC``: until filled or
    cancelled; ``GTD``: until ``expire_ts``; ``IOC``: fill what can be filled at once, expire
    the rest; ``FOK``: fill the whole quantity at once or nothing.
    """

    DAY = "day"
    GTC = "gtc"
    GTD = "gtd"
    IOC = "ioc"
    FOK = "fok"


class Liquidity(enum.StrEnum):
    """Whether a fill took liquidity from the book or rested and provided it."""

    TAKER = "taker"
    MAKER = "maker"


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(what)


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


_NEEDS_LIMIT: Final = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_NEEDS_STOP: Final = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    """One OHLCV bar, labelled by its open time.

    Examples
    --------
    >>> Bar(symbol="AAPL", timeframe="1d", ts=0, open=1.0, high=2.0, low=0.5, close=1.5,
    ...     volume=10.0).close
    1.5
    """

    symbol: str
    timeframe: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            msg = f"bar {self.symbol}@{self.ts}: OHLC inconsistent (low <= open, close <= high)"
            raise ValueError(msg)


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """An instruction to trade ``qty`` units of ``symbol``.

    ``limit_price`` is required for ``LIMIT`` and ``STOP_LIMIT`` orders and forbidden otherwise;
    ``stop_price`` likewise for ``STOP`` and ``STOP_LIMIT``; ``expire_ts`` for ``GTD`` only.
    ``ts`` is when the order was decided; ``tag`` is free text a policy may use to label it.

    Examples
    --------
    >>> order = Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=10,
    ...     type=OrderType.LIMIT, limit_price=99.5, tif=TimeInForce.GTC)
    >>> order.type, order.tif, order.qty
    (<OrderType.LIMIT: 'limit'>, <TimeInForce.GTC: 'gtc'>, 10)
    >>> Order(client_order_id="o2", symbol="X", side=Side.BUY, qty=1, type=OrderType.LIMIT)
    Traceback (most recent call last):
    ...
    ValueError: order o2: a limit order needs a limit_price
    """

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce = TimeInForce.DAY
    expire_ts: int | None = None
    ts: int = 0
    tag: str = ""

    def __post_init__(self) -> None:
        # Plain strings ("limit") are accepted from Python callers; store the enums so that
        # identity checks downstream hold (decoding JSON already yields the enums).
        for field, kind in (("side", Side), ("type", OrderType), ("tif", TimeInForce)):
            value = getattr(self, field)
            if not isinstance(value, kind):
                msgspec.structs.force_setattr(self, field, kind(value))
        name = f"order {self.client_order_id}"
        _require(bool(self.client_order_id), "an order needs a client_order_id")
        _require(bool(self.symbol), f"{name}: symbol is empty")
        _require(_positive(self.qty), f"{name}: qty must be finite and > 0, got {self.qty}")
        _check_price(name, "limit_price", self.limit_price, self.type in _NEEDS_LIMIT, self.type)
        _check_price(name, "stop_price", self.stop_price, self.type in _NEEDS_STOP, self.type)
        gtd = self.tif is TimeInForce.GTD
        _require(gtd == (self.expire_ts is not None), f"{name}: expire_ts is for (and needs) gtd")

    @property
    def signed_qty(self) -> float:
        """Return ``qty`` signed by the side (negative for a sell).

        Examples
        --------
        >>> Order(client_order_id="a", symbol="X", side=Side.SELL, qty=3).signed_qty
        -3
        """
        return self.side.sign * self.qty


def _check_price(name: str, field: str, price: float | None, needed: bool, kind: str) -> None:
    if price is None:
        _require(not needed, f"{name}: a {kind.replace('_', '-')} order needs a {field}")
        return
    _require(needed, f"{name}: a {kind} order takes no {field}")
    _require(_positive(price), f"{name}: {field} must be finite and > 0, got {price}")


class Fill(msgspec.Struct, frozen=True, kw_only=True, tag="fill"):
    """One execution reported by a venue.

    Examples
    --------
    >>> fill = Fill(fill_id="f1", order_id="o1", symbol="X", side=Side.BUY, qty=5, price=10.0,
    ...     fee=0.5, ts=1)
    >>> msgspec.json.decode(msgspec.json.encode(fill), type=OrderReport) == fill
    True
    """

    fill_id: str  # the venue's id: the journal's unique key
    order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float = 0.0
    ts: int = 0  # UTC nanoseconds
    liquidity: Liquidity = Liquidity.TAKER

    def __post_init__(self) -> None:
        for field, kind in (("side", Side), ("liquidity", Liquidity)):
            value = getattr(self, field)
            if not isinstance(value, kind):
                msgspec.structs.force_setattr(self, field, kind(value))
        name = f"fill {self.fill_id}"
        _require(bool(self.fill_id), "a fill needs a fill_id")
        _require(_positive(self.qty), f"{name}: qty must be finite and > 0, got {self.qty}")
        _require(_positive(self.price), f"{name}: price must be finite and > 0")
        _require(math.isfinite(self.fee), f"{name}: fee must be finite, got {self.fee}")


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """A signed holding of one symbol and its average entry price.

    Examples
    --------
    >>> Position(symbol="X", qty=-3, avg_price=10.0).market_value(12.0)
    -36.0
    """

    symbol: str
    qty: float
    avg_price: float = 0.0

    def market_value(self, price: float) -> float:
        """Return the position marked at ``price`` (negative when short)."""
        return self.qty * price


class PortfolioState(msgspec.Struct, frozen=True, kw_only=True):
    """Cash, positions and equity at one time.

    ``cash`` is after fees and borrow; ``equity`` is cash plus every position marked at its last
    price. ``positions`` holds non-zero positions only.

    Examples
    --------
    >>> state = PortfolioState(ts=0, cash=500.0, equity=1500.0,
    ...     positions={"X": Position(symbol="X", qty=100, avg_price=9.0)})
    >>> state.qty("X"), state.qty("Y")
    (100, 0.0)
    """

    ts: int
    cash: float
    equity: float
    positions: dict[str, Position] = msgspec.field(default_factory=dict[str, Position])

    def qty(self, symbol: str) -> float:
        """Return the signed quantity held of ``symbol`` (0 when none)."""
        held = self.positions.get(symbol)
        return 0.0 if held is None else held.qty


class MarketSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The market at one time: the bars that closed then, and the last price of every symbol.

    Examples
    --------
    >>> bar = Bar(symbol="X", timeframe="1d", ts=5, open=1.0, high=2.0, low=1.0, close=1.5,
    ...     volume=3.0)
    >>> MarketSnapshot(ts=5, bars={"X": bar}, last={"X": 1.5, "Y": 7.0}).price("Y")
    7.0
    """

    ts: int
    bars: dict[str, Bar] = msgspec.field(default_factory=dict[str, Bar])
    last: dict[str, float] = msgspec.field(default_factory=dict[str, float])

    def price(self, symbol: str) -> float:
        """Return the last traded price (close) of ``symbol``."""
        return self.last[symbol]


class OrderSubmitted(msgspec.Struct, frozen=True, kw_only=True, tag="submitted"):
    """The order was sent to the venue."""

    order_id: str
    ts: int = 0


class OrderAccepted(msgspec.Struct, frozen=True, kw_only=True, tag="accepted"):
    """The venue acknowledged the order; it is working."""

    order_id: str
    ts: int = 0
    venue_order_id: str = ""


class OrderRejected(msgspec.Struct, frozen=True, kw_only=True, tag="rejected"):
    """The venue (or a risk check) refused the order."""

    order_id: str
    ts: int = 0
    reason: str = ""


class CancelRequested(msgspec.Struct, frozen=True, kw_only=True, tag="cancel_requested"):
    """A cancel of the order was sent."""

    order_id: str
    ts: int = 0


class CancelRejected(msgspec.Struct, frozen=True, kw_only=True, tag="cancel_rejected"):
    """The venue refused a cancel (usually: the order had already filled)."""

    order_id: str
    ts: int = 0
    reason: str = ""


class OrderCancelled(msgspec.Struct, frozen=True, kw_only=True, tag="cancelled"):
    """The order's unfilled rest was cancelled."""

    order_id: str
    ts: int = 0


class OrderExpired(msgspec.Struct, frozen=True, kw_only=True, tag="expired"):
    """The venue ended the order by its time in force (day, gtd, ioc or fok rest)."""

    order_id: str
    ts: int = 0


OrderReport = (
    OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | Fill
    | CancelRequested
    | CancelRejected
    | OrderCancelled
    | OrderExpired
)
"""Everything that can happen to an order, as a tagged union (``"type"`` field in JSON)."""


class OrderAnomaly(msgspec.Struct, frozen=True, kw_only=True, tag="anomaly"):
    """A report the order state machine could not apply as it stands.

    ``reason`` is a stable code (``"overfill"``, ``"duplicate_fill"``, ``"fill_after_cancelled"``,
    ``"invalid_transition"``, ...); ``status`` the order's status when the report arrived;
    ``report`` the report's type; ``excess`` the quantity of a fill that was not booked.
    """

    order_id: str
    ts: int
    status: str
    report: str
    reason: str
    excess: float = 0.0
    detail: str = ""
