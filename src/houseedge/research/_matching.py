"""Bar-based fill rules of the event-driven backtest: when an order trades on a bar, and at what.

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

The cost model then moves the price against the trader (spread, slippage); a limit order's price
is capped at its limit, so it never fills worse than the limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from houseedge.core.costs import CostModel
from houseedge.core.types import Liquidity, OrderType


def quote(
    kind: OrderType,
    sign: int,
    bar: tuple[float, float, float],
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
    """
    opening, high, low = bar
    limit, stop = prices
    if kind is OrderType.MARKET or (kind is OrderType.STOP and triggered):
        return opening, triggered
    if kind is OrderType.LIMIT or triggered:
        return _limit(sign, opening, high, low, _given(limit)), triggered
    stop = _given(stop)
    hit = high >= stop if sign > 0 else low <= stop
    if not hit:
        return None, False
    trigger = max(opening, stop) if sign > 0 else min(opening, stop)
    if kind is OrderType.STOP:
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
    if kind not in (OrderType.LIMIT, OrderType.STOP_LIMIT) or limit is None:
        return price, Liquidity.TAKER
    capped = min(price, limit) if sign > 0 else max(price, limit)
    return capped, Liquidity.MAKER if at == limit else Liquidity.TAKER
