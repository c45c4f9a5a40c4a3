"""Order matching rules: when an order trades against a bar or a print, how much, and at what.

Pure functions shared by the event-driven backtest and the live paper broker, so that both fill
the same order on the same market data identically.

Only a bar's open, high and low are known, not the path between them, so each rule takes the
price that is certain to have traded:

* **market**: the open.
* **limit**: a buy fills when ``low <= limit`` at ``min(open, limit)`` (a gap below the limit
  fills at the better open); a sell when ``high >= limit`` at ``max(open, limit)``.
* **stop**: a buy triggers when ``high >= stop`` and fills at ``max(open, stop)`` (a gap through
  the stop fills at the worse open); a sell when ``low <= stop`` at ``min(open, stop)``. A
  triggered stop is a market order: what it could not fill (participation) fills at later opens.
* **stop-limit**: triggers as a stop; on the trigger bar it fills only if the trigger price
  satisfies the limit (at the trigger price), because whether the bar came back to the limit
  after the trigger is unknowable. Otherwise it rests as a limit order from the next bar.

Ticks are bars too: a trade print at ``p`` is the bar ``(p, p, p)`` (:func:`print_bar`), and a
top-of-book quote is, for a buy, the bar ``(ask, ask, ask)`` and for a sell ``(bid, bid, bid)``
(:func:`book_bar`): the price the order could actually take.

The cost model then moves the price against the trader (spread, slippage); a limit order's price
is capped at its limit, so it never fills worse than the limit (:func:`fill_price`).

Quantities are whole **lots** (integers of the instrument's quantity increment):
:func:`lots_of` rounds an order down to lots, :func:`budget` turns a bar's volume into the lots a
participation limit allows, and :func:`fillable` applies the time in force (a FOK fills whole or
not at all); :func:`match` is :func:`quote` then :func:`fillable`. :func:`ends_after_match` says
whether the unfilled rest then expires.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final, NamedTuple

from houseedge.core.costs import CostModel
from houseedge.core.types import Liquidity, Order, OrderType, TimeInForce

__all__ = [
    "UNLIMITED",
    "BarPrices",
    "Match",
    "book_bar",
    "budget",
    "ends_after_match",
    "fill_price",
    "fillable",
    "lots_of",
    "match",
    "print_bar",
    "quote",
]

BarPrices = tuple[float, float, float]
"""``(open, high, low)``: all a matching rule needs of a bar."""

UNLIMITED: Final = 1 << 62
"""The lot budget of a bar when participation is off."""

_LOT_TOLERANCE: Final = 1e-9  # 0.3 / 0.1 is 2.9999999999999996 lots, which means 3
# Enum members as module constants: ``OrderType.MARKET`` is a slow class lookup on Python 3.11,
# and these rules run for every working order on every market event.
_MARKET, _LIMIT, _STOP = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP
_LIMITED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_FOK = TimeInForce.FOK
_ONE_SHOT = frozenset({TimeInForce.IOC, TimeInForce.FOK})


class Match(NamedTuple):
    """What one bar does to one order: lots to fill now, at which quote, and the trigger state."""

    lots: int
    """Lots to fill on this bar (0: none)."""
    quote: float | None
    """The quote they fill at, before costs (None: the order did not trade)."""
    triggered: bool
    """Whether a stop or stop-limit has triggered (on this bar or earlier)."""


def quote(
    kind: OrderType,
    sign: int,
    bar: BarPrices,
    prices: tuple[float | None, float | None],
    triggered: bool,
) -> tuple[float | None, bool]:
    """Return the quote an order fills at on ``bar`` (None: no fill) and whether it triggered.

    ``sign`` is +1 for a buy and -1 for a sell; ``bar`` is ``(open, high, low)``; ``prices`` is
    ``(limit_price, stop_price)``; ``triggered`` says a stop had triggered on an earlier bar.

    Examples
    --------
    >>> quote(OrderType.LIMIT, +1, (10.0, 11.0, 9.0), (9.5, None), False)
    (9.5, False)
    >>> quote(OrderType.STOP, +1, (12.0, 13.0, 11.5), (None, 11.0), False)  # gap through
    (12.0, True)
    >>> quote(OrderType.STOP, -1, (10.0, 10.5, 9.8), (None, 9.5), False)
    (None, False)
    >>> quote(OrderType.STOP_LIMIT, +1, (10.0, 12.0, 9.9), (10.5, 11.0), False)  # rests
    (None, True)
    """
    opening, high, low = bar
    limit, stop = prices
    if kind is _MARKET or (kind is _STOP and triggered):
        return opening, triggered
    if kind is _LIMIT or triggered:
        return _limit(sign, opening, high, low, _given(limit)), triggered
    stop = _given(stop)
    hit = high >= stop if sign > 0 else low <= stop
    if not hit:
        return None, False
    trigger = max(opening, stop) if sign > 0 else min(opening, stop)
    if kind is _STOP:
        return trigger, True
    limit = _given(limit)
    within = trigger <= limit if sign > 0 else trigger >= limit
    return (trigger if within else None), True


def _given(price: float | None) -> float:
    if price is None:  # Order's invariants make this a bug, not bad input
        msg = "order lacks the price its type needs"
        raise ValueError(msg)
    return price


def _limit(sign: int, opening: float, high: float, low: float, limit: float) -> float | None:
    if sign > 0:
        return min(opening, limit) if low <= limit else None
    return max(opening, limit) if high >= limit else None


def fill_price(
    costs: CostModel,
    kind: OrderType,
    sign: int,
    at: float,
    limit: float | None,
    inputs: Mapping[str, float],
) -> tuple[float, Liquidity]:
    """Return the price after costs and the liquidity of a fill at quote ``at``.

    A limit (or triggered stop-limit) order's price never crosses its limit; it provided
    liquidity when it filled at the limit itself (the market came to it).

    Examples
    --------
    >>> from houseedge.core.costs import LinearCostModel
    >>> costs = LinearCostModel(spread_bps=20)
    >>> fill_price(costs, OrderType.MARKET, +1, 100.0, None, {})
    (100.1, <Liquidity.TAKER: 'taker'>)
    >>> fill_price(costs, OrderType.LIMIT, +1, 100.0, 100.0, {})
    (100.0, <Liquidity.MAKER: 'maker'>)
    """
    price = costs.fill_price(at, sign, inputs)
    if kind not in _LIMITED or limit is None:
        return price, Liquidity.TAKER
    capped = min(price, limit) if sign > 0 else max(price, limit)
    return capped, Liquidity.MAKER if at == limit else Liquidity.TAKER


def budget(participation: float | None, volume: float, lot: float) -> int:
    """Return the lots one bar can fill: ``participation * volume`` in lots, rounded down.

    Without participation (or without a volume, ``inf``) the budget is :data:`UNLIMITED`.

    Examples
    --------
    >>> budget(0.1, 1_234.0, 1.0), budget(0.5, 3.0, 1.0), budget(None, 10.0, 1.0) == UNLIMITED
    (123, 1, True)
    """
    if participation is None or math.isinf(volume):
        return UNLIMITED
    return max(math.floor(participation * volume / lot + _LOT_TOLERANCE), 0)


def lots_of(qty: float, lot: float) -> int:
    """Return ``qty`` in whole lots of ``lot``, rounded down (tolerating float noise).

    Examples
    --------
    >>> lots_of(0.3, 0.1), lots_of(2.5, 1.0), lots_of(0.5, 1.0)
    (3, 2, 0)
    """
    return math.floor(qty / lot + _LOT_TOLERANCE)


def match(
    order: Order,
    wanted: int,
    bar: BarPrices,
    *,
    triggered: bool = False,
    available: int = UNLIMITED,
) -> Match:
    """Return what ``bar`` does to ``order`` with ``wanted`` lots left and ``available`` lots.

    ``available`` is what is left of the bar's participation :func:`budget` after older orders
    of the symbol matched; a FOK order that cannot fill all ``wanted`` lots fills none.

    Examples
    --------
    >>> from houseedge.core.types import Side
    >>> order = Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=10,
    ...     type=OrderType.LIMIT, limit_price=99.0, tif=TimeInForce.FOK)
    >>> match(order, 10, (100.0, 101.0, 98.0), available=6)
    Match(lots=0, quote=99.0, triggered=False)
    >>> match(order, 10, (100.0, 101.0, 98.0))
    Match(lots=10, quote=99.0, triggered=False)
    """
    at, triggered = quote(
        order.type, order.side.sign, bar, (order.limit_price, order.stop_price), triggered
    )
    return Match(0 if at is None else fillable(order.tif, wanted, available), at, triggered)


def fillable(tif: TimeInForce, wanted: int, available: int) -> int:
    """Return the lots an order that trades fills: what is available, all or none for FOK.

    Examples
    --------
    >>> fillable(TimeInForce.IOC, 10, 4), fillable(TimeInForce.FOK, 10, 4)
    (4, 0)
    """
    lots = min(wanted, available)
    return 0 if tif is _FOK and lots < wanted else lots


def ends_after_match(tif: TimeInForce, session_end: bool) -> bool:
    """Return whether an order's unfilled rest expires after it was matched against a bar.

    IOC and FOK orders live for one bar; DAY orders until the last bar of their session.

    Examples
    --------
    >>> ends_after_match(TimeInForce.IOC, False), ends_after_match(TimeInForce.DAY, False)
    (True, False)
    """
    return tif in _ONE_SHOT or (session_end and tif is TimeInForce.DAY)


def print_bar(price: float) -> BarPrices:
    """Return a trade print at ``price`` as the bar matching rules read.

    Examples
    --------
    >>> print_bar(10.5)
    (10.5, 10.5, 10.5)
    """
    return (price, price, price)


def book_bar(sign: int, bid: float, ask: float) -> BarPrices:
    """Return a top-of-book quote as the bar an order of ``sign`` trades against.

    A buy can take the ask, a sell the bid: market orders fill there, a buy limit fills when
    the ask is at or under the limit, a buy stop triggers when the ask reaches the stop.

    Examples
    --------
    >>> book_bar(+1, 99.9, 100.1), book_bar(-1, 99.9, 100.1)
    ((100.1, 100.1, 100.1), (99.9, 99.9, 99.9))
    """
    side = ask if sign > 0 else bid
    return (side, side, side)
