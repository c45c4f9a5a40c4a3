"""Properties of the order state machine and of the event backtest's order bookkeeping."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.core.execution import ALLOWED, TERMINAL, OrderState, OrderStatus, apply
from houseedge.core.types import (
    CancelRejected,
    CancelRequested,
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderSubmitted,
    Side,
)
from houseedge.research.events._run import EventContext, run_events

QTY = 10.0
SIMPLE = [
    OrderSubmitted,
    OrderAccepted,
    OrderRejected,
    CancelRequested,
    CancelRejected,
    OrderCancelled,
    OrderExpired,
]

simple_reports = st.sampled_from(SIMPLE).map(lambda kind: kind(order_id="o1"))
fills = st.builds(
    lambda n, qty, side, other: Fill(
        fill_id=f"f{n}",
        order_id="o2" if other else "o1",
        symbol="X",
        side=side,
        qty=qty,
        price=10.0,
    ),
    n=st.integers(0, 12),  # small: duplicated fill ids happen
    qty=st.sampled_from([0.1, 0.2, 0.3, 1.0, 2.5, 3.0, 7.0, 10.0, 11.0]),
    side=st.sampled_from([Side.BUY, Side.BUY, Side.BUY, Side.SELL]),
    other=st.integers(0, 9).map(lambda n: n == 0),  # now and then a fill of another order
)
reports = st.lists(st.one_of(simple_reports, fills, fills), max_size=30)


@given(reports)
@settings(max_examples=200, deadline=None)
def test_any_report_sequence_keeps_the_order_consistent(sequence: list[Any]) -> None:
    order = Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=QTY)
    state = OrderState(order=order)
    booked = 0.0
    for report in sequence:
        before = state
        state, anomaly = apply(state, report)
        assert isinstance(state.status, OrderStatus)
        assert state.status is before.status or state.status in ALLOWED[before.status]
        if before.status in TERMINAL:
            assert state.status is before.status
        delta = state.filled_qty - before.filled_qty
        assert delta >= 0
        booked += delta
        if isinstance(report, Fill) and anomaly is None:
            assert math.isclose(delta, report.qty, rel_tol=1e-9)  # a clean fill books in full
        if isinstance(report, Fill) and anomaly is not None and anomaly.excess:
            assert math.isclose(delta + anomaly.excess, report.qty, rel_tol=1e-9)
        if anomaly is not None and not isinstance(report, Fill):
            assert state == before  # a bad non-fill report changes nothing
    assert 0.0 <= state.filled_qty <= QTY  # never overfilled
    assert math.isclose(state.filled_qty, math.fsum(f.qty for f in state.fills), rel_tol=1e-9)
    assert math.isclose(state.filled_qty, booked, rel_tol=1e-9, abs_tol=1e-12)
    assert len({f.fill_id for f in state.fills}) == len(state.fills)
    assert (state.status is OrderStatus.FILLED) <= (state.filled_qty == QTY)
    if state.status is OrderStatus.PARTIALLY_FILLED:
        assert 0 < state.filled_qty < QTY


ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 11),  # step
        st.sampled_from(["market", "limit", "stop", "stop_limit", "cancel"]),
        st.sampled_from(["buy", "sell"]),
        st.integers(1, 40),  # qty
        st.sampled_from(["day", "gtc", "ioc", "fok"]),
        st.floats(0.96, 1.04),  # price offset from the close
    ),
    max_size=25,
)


class Random:
    name = "random"

    def __init__(self, actions: list[tuple[Any, ...]]) -> None:
        self.actions = actions

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, _p: Any, snapshot: Any, context: EventContext) -> list[Order]:
        out: list[Order] = []
        close = snapshot.price("asset")
        for step, kind, side, qty, tif, offset in self.actions:
            if step != context.step:
                continue
            if kind == "cancel":
                for state in context.open_orders("asset")[:1]:
                    context.cancel(state.order.client_order_id)
                continue
            prices: dict[str, float] = {}
            if kind in ("limit", "stop_limit"):
                prices["limit_price"] = close * offset
            if kind in ("stop", "stop_limit"):
                prices["stop_price"] = close * (2 - offset)
            out.append(context.order("asset", side, qty, type=kind, tif=tif, **prices))
        return out


@given(ACTIONS, st.sampled_from([None, 0.05, 0.3]), st.integers(0, 2), st.integers(0, 10**6))
@settings(max_examples=40, deadline=None)
def test_event_backtest_books_every_fill_exactly(
    actions: list[tuple[Any, ...]], participation: float | None, latency: int, seed: int
) -> None:
    rng = random.Random(seed)
    rows, price = [], 100.0
    for _ in range(14):
        opening = price * rng.uniform(0.97, 1.03)
        close = opening * rng.uniform(0.97, 1.03)
        rows.append((opening, max(opening, close) * 1.01, min(opening, close) * 0.99, close))
        price = close
    start = datetime(2024, 1, 1, tzinfo=UTC)
    bars = pl.DataFrame(
        {
            "ts": [start + i * timedelta(days=1) for i in range(len(rows))],
            "open": [r[0] for r in rows],
            "high": [r[1] for r in rows],
            "low": [r[2] for r in rows],
            "close": [r[3] for r in rows],
            "volume": [200.0] * len(rows),
        },
    )
    result = run_events(bars, Random(actions), participation=participation, latency_bars=latency)
    log, fills_frame = result.order_log, result.orders
    assert result.anomalies.height == 0
    assert (log.get_column("filled_qty") <= log.get_column("qty")).all()
    sign = pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0)
    from_log = log.select((pl.col("filled_qty") * sign).sum()).item()
    from_fills = fills_frame.select((pl.col("qty") * sign).sum()).item()
    final = fills_frame.get_column("position_after")[-1] if fills_frame.height else 0.0
    assert from_log == from_fills == final
    held = fills_frame.get_column("position_after")
    assert (held == held.round(0)).all()  # whole lots, no float dust
    filled = log.filter(pl.col("status") == "filled")
    assert (filled.get_column("filled_qty") == filled.get_column("qty")).all()
    if participation is not None and fills_frame.height:
        per_bar = fills_frame.group_by("row").agg(pl.sum("qty")).get_column("qty")
        assert per_bar.max() <= participation * 200.0
