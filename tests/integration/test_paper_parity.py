"""Parity: the paper broker fills a scripted order flow on bars exactly as the event backtest.

A seeded random script (every order type and time in force, both sides, cancels) runs through
:func:`houseedge.research.events.run_events`; the orders and cancels it made at each step are then
replayed into a :class:`PaperBroker` fed the same bars. Fills, final statuses and positions must
be identical: both use :mod:`houseedge.core.matching`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.types import Bar, Fill, Order
from houseedge.live.paper import PaperBroker
from houseedge.research.events._run import EventContext, run_events

EVERY = timedelta(hours=6)  # four bars a day, so DAY orders live several bars
EVERY_NS = int(EVERY.total_seconds()) * 10**9
SYMBOLS = ("AAA", "BBB")
BARS = 80


def random_bars(seed: int, n: int) -> pl.DataFrame:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for symbol in SYMBOLS:
        close = 100.0
        for i in range(n):
            opening = round(close * (1 + rng.gauss(0, 0.01)), 2)
            close = round(opening * (1 + rng.gauss(0, 0.01)), 2)
            high = round(max(opening, close) * (1 + abs(rng.gauss(0, 0.005))), 2)
            low = round(min(opening, close) * (1 - abs(rng.gauss(0, 0.005))), 2)
            rows.append({"symbol": symbol, "timeframe": "6h", "ts": start + i * EVERY,
                         "open": opening, "high": high, "low": low, "close": close,
                         "volume": float(rng.randint(0, 400))})  # fmt: skip
    return pl.DataFrame(rows, schema_overrides={"ts": pl.Datetime("ns", "UTC")})


class RandomScript:
    """Random orders and cancels; records what it did at each step for the replay."""

    name = "rnd"

    def __init__(self, seed: int, quiet_after: int) -> None:
        self.rng = random.Random(seed)
        self.quiet_after = quiet_after
        self.log: dict[int, list[tuple[str, Any]]] = {}

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: EventContext) -> Sequence[Order]:
        rng, done = self.rng, self.log.setdefault(context.step, [])
        if context.step > self.quiet_after:
            return []  # the end of data ends orders in the backtest only: keep it out of play
        for state in context.open_orders():
            if rng.random() < 0.3 and context.cancel(state.order.client_order_id):
                done.append(("cancel", state.order.client_order_id))
        orders = [self._order(context, snapshot) for _ in range(rng.choice((0, 0, 1, 2)))]
        done.extend(("submit", order) for order in orders)
        return orders

    def _order(self, context: EventContext, snapshot: Any) -> Order:
        rng = self.rng
        symbol = rng.choice(SYMBOLS)
        close = snapshot.price(symbol)
        kind = rng.choice(("market", "limit", "stop", "stop_limit"))
        side = rng.choice(("buy", "sell"))
        away = 1 if side == "buy" else -1
        prices: dict[str, float] = {}
        if kind in ("limit", "stop_limit"):
            prices["limit_price"] = round(close * (1 - away * rng.uniform(-0.005, 0.02)), 2)
        if kind in ("stop", "stop_limit"):
            prices["stop_price"] = round(close * (1 + away * rng.uniform(-0.005, 0.02)), 2)
            if kind == "stop_limit":
                prices["limit_price"] = round(prices["stop_price"] * (1 + away * 0.003), 2)
        tif = rng.choice(("day", "gtc", "ioc", "fok", "gtd"))
        expire = context.ts + rng.randint(1, 8) * EVERY_NS if tif == "gtd" else None
        qty = rng.choice((0.4, 1, 5, 20, 75, 150))
        return context.order(symbol, side, qty, type=kind, tif=tif, expire_ts=expire, **prices)


def as_bars(frame: pl.DataFrame) -> list[list[Bar]]:
    """The bars grouped by time, symbols in order (as the backtest steps through them)."""
    frame = frame.with_columns(pl.col("ts").dt.epoch("ns")).sort("ts", "symbol")
    steps: dict[int, list[Bar]] = {}
    for row in frame.iter_rows(named=True):
        steps.setdefault(row["ts"], []).append(Bar(**row))
    return list(steps.values())


async def replay(
    bars: list[list[Bar]], log: dict[int, list[tuple[str, Any]]], broker: PaperBroker
) -> list[Fill]:
    fills: list[Fill] = []
    for step, at_time in enumerate(bars):
        for bar in at_time:
            fills.extend(r for r in broker.on_market(bar) if isinstance(r, Fill))
        for kind, what in log.get(step, []):
            await (broker.cancel(what) if kind == "cancel" else broker.submit(what))
    return fills


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("participation", "latency"), [(None, 0), (0.2, 0), (0.3, 1)])
def test_paper_broker_fills_equal_event_backtest(
    seed: int, participation: float | None, latency: int
) -> None:
    frame = random_bars(seed, BARS)
    costs = LinearCostModel(commission_bps=5, min_commission=0.5, spread_bps=4, slippage_bps=1)
    script = RandomScript(seed, quiet_after=BARS - 10)
    result = run_events(frame, script, costs=costs, participation=participation,
                        latency_bars=latency, cash=50_000.0)  # fmt: skip
    broker = PaperBroker(costs, latency_ns=latency * EVERY_NS, participation=participation,
                         starting_cash=50_000.0)  # fmt: skip
    fills = asyncio.run(replay(as_bars(frame), script.log, broker))

    expected = result.orders.select(
        pl.col("ts").dt.epoch("ns"), "symbol", "side", "qty", "price", "fee"
    ).rows()
    got = [(f.ts, f.symbol, str(f.side), f.qty, f.price, f.fee) for f in fills]
    assert len(expected) > 10  # the script really trades
    assert got == expected
    assert broker.anomalies == []

    statuses = dict(result.order_log.select("order_id", "status").rows())
    snapshots = asyncio.run(broker.orders_since(0))
    assert {s.client_order_id: str(s.status) for s in snapshots} == statuses
    assert {"filled", "expired", "cancelled"} <= set(statuses.values())

    positions = asyncio.run(broker.positions())
    final = result.positions.group_by("symbol").agg(pl.col("position").last())
    held = {s: q for s, q in final.rows() if q}
    assert {s: p.qty for s, p in positions.items()} == held
