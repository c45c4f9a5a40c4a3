"""Properties of the risk gate over random order streams and random book figures."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.core.risk.checks import check_exposure, check_price, check_rate, check_size
from houseedge.core.risk.gate import RiskGate, RiskLimits
from houseedge.core.types import Order, OrderType, Side

LIMITS = RiskLimits(
    max_long=40,
    max_short=25,
    max_order_qty=15,
    max_gross_notional=6_000,
    max_long_notional=3_500,
    max_orders_per_window=1_000_000,
    price_band=0.05,
)

sides = st.sampled_from([Side.BUY, Side.SELL])
lots = st.integers(1, 20).map(float)
prices = st.integers(90, 110).map(float)


def make(side: Side, qty: float, i: int, limit: float | None = None) -> Order:
    if limit is None:
        return Order(client_order_id=f"o{i}", symbol="X", side=side, qty=qty)
    return Order(
        client_order_id=f"o{i}",
        symbol="X",
        side=side,
        qty=qty,
        type=OrderType.LIMIT,
        limit_price=limit,
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(sides, lots, prices), min_size=1, max_size=60))
def test_filled_accepted_orders_never_breach_position_or_gross(
    stream: list[tuple[Side, float, float]],
) -> None:
    gate, position = RiskGate(LIMITS), 0.0
    for i, (side, qty, price) in enumerate(stream):
        before = abs(position)
        decision = gate.check(
            make(side, qty, i),
            now_ns=i,
            position=position,
            last_price=price,
            gross_notional=abs(position) * price,
        )
        if decision.accepted:
            position += side.sign * qty
        gross = abs(position) * price
        assert -25 <= position <= 40
        assert abs(position) <= before or gross <= 6_000
        assert abs(position) <= before or gross <= 3_500 or position < 0


book = st.fixed_dictionaries(
    {
        "position": st.integers(-30, 30).map(float),
        "pending_buy": st.integers(0, 10).map(float),
        "pending_sell": st.integers(0, 10).map(float),
    }
)


@settings(max_examples=300, deadline=None)
@given(book, sides, lots)
def test_reduce_only_never_increases_the_position(
    figures: dict[str, float], side: Side, qty: float
) -> None:
    gate = RiskGate(RiskLimits(drawdown_soft=0.01))
    gate.on_mark(100.0, 0)
    gate.on_mark(50.0, 1)
    position = figures["position"]
    pending = figures["pending_buy"] if side is Side.BUY else figures["pending_sell"]
    decision = gate.check(make(side, qty, 0), now_ns=2, last_price=100.0, **figures)
    if decision.accepted:
        after = position + side.sign * (pending + qty)
        assert abs(after) <= abs(position) and after * position >= 0
    else:
        assert decision.check == "reduce_only"


@settings(max_examples=300, deadline=None)
@given(book, sides, lots, st.booleans())
def test_halted_accepts_only_flattening_orders_when_asked(
    figures: dict[str, float], side: Side, qty: float, flatten: bool
) -> None:
    gate = RiskGate(LIMITS)
    gate.kill(flatten=flatten)
    position = figures["position"]
    decision = gate.check(make(side, qty, 0), now_ns=0, last_price=100.0, **figures)
    if not flatten:
        assert not decision.accepted and decision.check == "halted"
    elif decision.accepted:
        pending = figures["pending_buy"] if side is Side.BUY else figures["pending_sell"]
        after = position + side.sign * (pending + qty)
        assert abs(after) <= abs(position) and after * position >= 0


@settings(max_examples=500, deadline=None)
@given(
    book,
    sides,
    st.floats(0.001, 60),
    prices,
    st.one_of(st.none(), st.floats(80, 120)),
    st.integers(0, 12),
    st.floats(0, 12_000),
)
def test_fast_path_agrees_with_the_named_checks(
    figures: dict[str, float],
    side: Side,
    qty: float,
    last: float,
    limit: float | None,
    open_orders: int,
    gross: float,
) -> None:
    limits = RiskLimits(
        max_long=30,
        max_short=20,
        max_order_qty=25,
        max_order_notional=2_000,
        max_gross_notional=8_000,
        max_short_notional=1_500,
        max_open_orders=10,
        max_open_orders_per_symbol=5,
        price_band=0.1,
        max_concentration=0.6,
        concentration_floor=1_000,
    )
    gate = RiskGate(limits)
    order = make(side, qty, 0, limit)
    kwargs: dict[str, Any] = {
        "open_orders": open_orders,
        "symbol_open_orders": open_orders,
        "gross_notional": gross,
        **figures,
    }
    decision = gate.check(order, now_ns=0, last_price=last, record=False, **kwargs)
    scope = gate._default  # the compiled limits the checks read
    sym = scope.fallback
    position = figures["position"]
    pending = figures["pending_buy"] if side is Side.BUY else figures["pending_sell"]
    after = position + side.sign * (pending + qty)
    tol = sym[5]
    reducing = (position > 0 and -tol <= after <= position + tol) or (
        position < 0 and position - tol <= after <= tol
    )
    price = limit or last
    named = (
        check_price(order, scope, price, last)
        or check_size(order, scope, sym, price, open_orders, open_orders)
        or (None if reducing else check_exposure(order, scope, sym, position, after, last, gross))
        or check_rate(scope, order, 0)
    )
    assert decision.accepted == (named is None)
    if named is not None:
        assert decision.check == named.check
