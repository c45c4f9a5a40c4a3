"""Backtest/live parity: stored bars replayed through the engine and the paper broker trade exactly
as ``backtest()`` does for the same policy, costs and sizing.

The bars go into a tmp :class:`Store`, come back through :class:`StoreReplayFeed` (ts order,
ties by symbol), and every fill the engine journals is compared with the backtest's orders:
time, symbol, side, quantity, price and fee, exactly (no tolerance). Sizing is
:class:`FixedUnits` (price-independent, so a decision can size what the backtest sizes at the
fill; see ``houseedge.research.events.VectorAsOrders``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import DonchianBreakout, EmaCross, SmaCross
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import StoreReplayFeed
from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker
from houseedge.research.backtest._backtest import backtest

SYMBOLS = ["AAA", "BBB"]
COSTS = LinearCostModel(commission_bps=5, min_commission=0.5, spread_bps=4, slippage_bps=1)
CASH = 1_000_000.0
# Permissive limits: parity is about the pipeline; the gate must accept every order here.
LIMITS = RiskLimits(price_band=1.0, max_orders_per_window=1_000)


def _store(tmp_path: Path, periods: int, seed: int) -> Store:
    store = Store(tmp_path / "store")
    store.write("bars", synthetic_bars(SYMBOLS, periods=periods, timeframe="1d", seed=seed))
    return store


async def _live(store: Store, spec: PolicySpec, journal: Path) -> tuple[list[tuple], Any]:
    broker = PaperBroker(COSTS, starting_cash=CASH)
    feed = StoreReplayFeed(store, symbols=SYMBOLS, timeframe="1d")
    engine = Engine(broker=broker, feed=feed, policies=[spec], journal=journal, risk=LIMITS,
                    cash=CASH, costs=COSTS)  # fmt: skip
    await engine.start()
    await engine.run_until_idle(timeout=120)
    positions = await broker.positions()
    risk = engine.risk()
    await engine.stop()
    with Journal(journal, readonly=True) as j:
        fills = [(f.ts, f.symbol, str(f.side), f.qty, f.price, f.fee) for f in j.fills()]
    assert risk["rejected"] == {}
    return fills, positions


def _expected(store: Store, policy: Any, sizer: FixedUnits) -> tuple[list[tuple], dict]:
    bars = store.read("bars", symbols=SYMBOLS, timeframe="1d")
    result = backtest(bars, policy, cash=CASH, costs=COSTS, sizing=sizer)
    orders = result.orders.sort("ts", "symbol", maintain_order=True)
    rows = orders.select(
        pl.col("ts").dt.epoch("ns"), "symbol", "side", "qty", "price", "fee"
    ).rows()
    final = result.positions.group_by("symbol").agg(pl.col("position").last())
    return rows, {s: q for s, q in final.rows() if q}


@pytest.mark.parametrize(
    ("policy", "periods"),
    [
        (SmaCross(5, 20, "long_short"), 400),
        (SmaCross(3, 10), 300),
        (EmaCross(4, 12, "long_short"), 300),  # unbounded state: the engine keeps all history
        (DonchianBreakout(20, 10, "long_short"), 400),
    ],
    ids=["sma_long_short", "sma_long_only", "ema_unbounded", "donchian"],
)
def test_replay_through_the_engine_fills_exactly_as_backtest(
    tmp_path: Path, policy: Any, periods: int
) -> None:
    store = _store(tmp_path, periods, seed=3)
    sizer = FixedUnits(10)
    expected, held = _expected(store, policy, sizer)
    spec = PolicySpec(policy.name, policy, SYMBOLS, sizer=sizer)
    got, positions = asyncio.run(_live(store, spec, tmp_path / "live.db"))
    assert len(expected) >= 10  # the policy really trades on both symbols
    assert {row[1] for row in expected} == set(SYMBOLS)
    # the same fills, in the same order (the engine sees symbols in ts, symbol order)
    assert sorted(got) == sorted(expected)
    assert got == expected
    assert {s: p.qty for s, p in positions.items()} == held


TREND_FILE = '''
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Trend:
    """Long above the rolling mean of the close, short below: a user's class in a file."""

    window: int = 15

    @property
    def name(self) -> str:
        return "file_trend"

    @property
    def warmup(self) -> int:
        return self.window

    def params(self) -> dict[str, int]:
        return {"window": self.window}

    def target(self) -> pl.Expr:
        mean = pl.col("close").rolling_mean(self.window)
        return pl.when(pl.col("close") > mean).then(1.0).when(pl.col("close") < mean).then(-1.0)
'''


def test_a_policy_from_a_file_fills_in_the_paper_engine_exactly_as_its_backtest(
    tmp_path: Path,
) -> None:
    from houseedge.app.settings import LiveSettings

    path = tmp_path / "trend.py"
    path.write_text(TREND_FILE)
    store = _store(tmp_path, 300, seed=11)
    table = {
        "name": "trend",
        "policy": f"{path}:Trend",  # the service config's reference, not a built-in
        "params": {"window": 12},
        "sizer": "fixed_units",
        "sizer_params": {"units": 10},
    }
    limits = {"price_band": 1.0, "max_orders_per_window": 1_000}
    spec = LiveSettings(symbols=SYMBOLS, policies=[table], risk=limits).policy_specs()[0]
    assert type(spec.policy).__module__.startswith("houseedge.app.references.file_")
    expected, held = _expected(store, spec.policy, FixedUnits(10))
    got, positions = asyncio.run(_live(store, spec, tmp_path / "live.db"))
    assert len(expected) >= 10
    assert got == expected
    assert {s: p.qty for s, p in positions.items()} == held
