"""Order matching rules against a bar: what fills, how much, at which price."""

from __future__ import annotations

import random

import pytest

from houseedge.core import matching
from houseedge.core.costs import LinearCostModel
from houseedge.core.matching import (
    UNLIMITED,
    book_bar,
    budget,
    ends_after_match,
    fill_price,
    lots_of,
    match,
    print_bar,
    quote,
)
from houseedge.core.types import Liquidity, Order, OrderType, Side, TimeInForce

BUY, SELL = +1, -1
MARKET, LIMIT, STOP, STOP_LIMIT = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
)


def order(side: str = "buy", **kw: object) -> Order:
    return Order(client_order_id="o", symbol="X", side=Side(side), qty=10, **kw)  # type: ignore[arg-type]


def test_market_fills_at_the_open() -> None:
    assert quote(MARKET, BUY, (10.0, 12.0, 9.0), (None, None), False) == (10.0, False)
    assert quote(MARKET, SELL, (10.0, 12.0, 9.0), (None, None), False) == (10.0, False)


@pytest.mark.parametrize(
    ("sign", "bar", "limit", "expected"),
    [
        (BUY, (10.0, 11.0, 9.0), 9.5, 9.5),  # traded down through the limit
        (BUY, (9.0, 11.0, 8.5), 9.5, 9.0),  # opened below it: the better open
        (BUY, (10.0, 11.0, 9.6), 9.5, None),  # never reached
        (BUY, (10.0, 11.0, 9.5), 9.5, 9.5),  # touched exactly
        (SELL, (10.0, 11.0, 9.0), 10.5, 10.5),
        (SELL, (11.0, 11.5, 10.0), 10.5, 11.0),
        (SELL, (10.0, 10.4, 9.0), 10.5, None),
    ],
)
def test_limit_fills_when_the_bar_trades_through(
    sign: int, bar: tuple[float, float, float], limit: float, expected: float | None
) -> None:
    assert quote(LIMIT, sign, bar, (limit, None), False) == (expected, False)


@pytest.mark.parametrize(
    ("sign", "bar", "stop", "expected"),
    [
        (BUY, (10.0, 11.0, 9.0), 10.5, (10.5, True)),  # touched: at the stop
        (BUY, (11.0, 12.0, 10.8), 10.5, (11.0, True)),  # gapped through: the worse open
        (BUY, (10.0, 10.4, 9.0), 10.5, (None, False)),
        (SELL, (10.0, 11.0, 9.0), 9.5, (9.5, True)),
        (SELL, (9.0, 9.2, 8.0), 9.5, (9.0, True)),
        (SELL, (10.0, 11.0, 9.6), 9.5, (None, False)),
    ],
)
def test_stop_triggers_at_the_stop_or_a_worse_open(
    sign: int, bar: tuple[float, float, float], stop: float, expected: tuple[float | None, bool]
) -> None:
    assert quote(STOP, sign, bar, (None, stop), False) == expected


def test_a_triggered_stop_is_a_market_order_on_later_bars() -> None:
    assert quote(STOP, BUY, (8.0, 8.5, 7.0), (None, 10.5), True) == (8.0, True)


def test_stop_limit_fills_on_the_trigger_bar_only_within_its_limit() -> None:
    # Trigger at 10.5 <= limit 10.8: fills at the trigger.
    assert quote(STOP_LIMIT, BUY, (10.0, 11.0, 9.0), (10.8, 10.5), False) == (10.5, True)
    # Gap to 11.2 above the limit: triggered, no fill; rests as a limit afterwards.
    assert quote(STOP_LIMIT, BUY, (11.2, 12.0, 11.0), (10.8, 10.5), False) == (None, True)
    assert quote(STOP_LIMIT, BUY, (11.0, 11.5, 10.6), (10.8, 10.5), True) == (10.8, True)
    assert quote(STOP_LIMIT, BUY, (11.0, 11.5, 10.9), (10.8, 10.5), True) == (None, True)
    assert quote(STOP_LIMIT, SELL, (9.0, 9.2, 8.0), (9.1, 9.5), False) == (None, True)


def test_quotes_stay_within_the_bar_and_never_beat_the_limit_side() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        o = rng.uniform(90, 110)
        c = rng.uniform(90, 110)
        high, low = max(o, c) + rng.uniform(0, 3), min(o, c) - rng.uniform(0, 3)
        sign = rng.choice((BUY, SELL))
        limit = rng.uniform(85, 115)
        at, _ = quote(LIMIT, sign, (o, high, low), (limit, None), False)
        if at is not None:
            assert low <= at <= high
            assert (at <= limit) if sign > 0 else (at >= limit)
        stop = rng.uniform(85, 115)
        at, hit = quote(STOP, sign, (o, high, low), (None, stop), False)
        assert hit == (at is not None)
        if at is not None:
            assert low <= at <= high
            assert (at >= stop) if sign > 0 else (at <= stop)


def test_fill_price_applies_costs_but_caps_a_limit_at_its_limit() -> None:
    costs = LinearCostModel(spread_bps=20, slippage_bps=5)
    price, liquidity = fill_price(costs, MARKET, BUY, 100.0, None, {})
    assert price == pytest.approx(100.15)
    assert liquidity is Liquidity.TAKER
    price, liquidity = fill_price(costs, LIMIT, BUY, 99.0, 100.0, {})  # gapped below the limit
    assert price == pytest.approx(99.0 * (1 + 15e-4))
    assert liquidity is Liquidity.TAKER
    assert fill_price(costs, LIMIT, BUY, 100.0, 100.0, {}) == (100.0, Liquidity.MAKER)
    assert fill_price(costs, LIMIT, SELL, 100.0, 100.0, {}) == (100.0, Liquidity.MAKER)
    assert fill_price(costs, STOP, SELL, 100.0, None, {})[0] == pytest.approx(99.85)


def test_budget_and_lots_round_down_in_lots() -> None:
    assert budget(0.1, 1_239.0, 1.0) == 123
    assert budget(0.1, 1_239.0, 10.0) == 12
    assert budget(0.3, 10.0, 1.0) == 3  # 0.3 * 10 is 3.0000000000000004 or 2.9999... in lots
    assert budget(0.5, 0.0, 1.0) == 0
    assert budget(None, 5.0, 1.0) == UNLIMITED
    assert budget(0.5, float("inf"), 1.0) == UNLIMITED
    assert lots_of(0.3, 0.1) == 3
    assert lots_of(0.7, 0.1) == 7
    assert lots_of(0.099, 0.1) == 0
    assert lots_of(12.5, 0.5) == 25


def test_match_takes_what_the_budget_allows_and_fok_takes_all_or_nothing() -> None:
    bar = (100.0, 101.0, 99.0)
    assert match(order(), 10, bar, available=4) == matching.Match(4, 100.0, False)
    assert match(order(tif=TimeInForce.FOK), 10, bar, available=4).lots == 0
    assert match(order(tif=TimeInForce.FOK), 10, bar, available=10).lots == 10
    limit = order(type=OrderType.LIMIT, limit_price=98.0)
    assert match(limit, 10, bar) == matching.Match(0, None, False)
    stop_limit = order("sell", type=OrderType.STOP_LIMIT, stop_price=99.5, limit_price=99.8)
    assert match(stop_limit, 10, bar) == matching.Match(0, None, True)
    assert match(stop_limit, 10, (99.9, 100.0, 99.0), triggered=True).lots == 10


@pytest.mark.parametrize(
    ("tif", "session_end", "ends"),
    [
        (TimeInForce.IOC, False, True),
        (TimeInForce.FOK, False, True),
        (TimeInForce.DAY, False, False),
        (TimeInForce.DAY, True, True),
        (TimeInForce.GTC, True, False),
        (TimeInForce.GTD, True, False),
    ],
)
def test_ends_after_match(tif: TimeInForce, session_end: bool, ends: bool) -> None:
    assert ends_after_match(tif, session_end) is ends


def test_ticks_are_degenerate_bars_at_the_price_an_order_can_take() -> None:
    assert quote(LIMIT, BUY, print_bar(9.4), (9.5, None), False) == (9.4, False)
    assert quote(LIMIT, BUY, print_bar(9.6), (9.5, None), False) == (None, False)
    # A buy takes the ask: a limit at 100.0 does not fill against ask 100.1 even if bid < limit.
    assert quote(LIMIT, BUY, book_bar(BUY, 99.9, 100.1), (100.0, None), False)[0] is None
    assert quote(LIMIT, SELL, book_bar(SELL, 99.9, 100.1), (99.9, None), False)[0] == 99.9
    assert quote(STOP, BUY, book_bar(BUY, 99.9, 100.1), (None, 100.05), False) == (100.1, True)
