"""Backtest/live parity for the policies the engine follows incrementally, and for one it cannot.

Complements ``test_engine_parity``: the RSI and Bollinger reversions, a cross-signal SMA (all
with live steppers, see ``houseedge.live.engine.steppers``) and a subclass of SmaCross (no stepper:
the Polars target on the ring's window) replayed from the store through the engine and the
paper broker fill exactly as ``backtest()`` orders. Volatility targeting's fractional targets
make fractional quantities, which the paper broker rounds down to whole lots and the backtest
does not, so its stepper is held to the engine's own Polars path instead: the same fills.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import (
    BollingerReversion,
    RsiReversion,
    SmaCross,
    VolTargetTrend,
)
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.engine.pipeline import VectorRunner
from houseedge.live.feeds import StoreReplayFeed
from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker
from houseedge.research.backtest._backtest import backtest

SYMBOLS = ["AAA", "BBB"]
COSTS = LinearCostModel(commission_bps=5, spread_bps=4)
CASH = 1_000_000.0


@dataclass(frozen=True)
class CustomSma(SmaCross):
    """A user's subclass: same target, but not a class the engine has a stepper for."""


@dataclass(frozen=True)
class CustomVolTarget(VolTargetTrend):
    """The same, for volatility targeting."""


async def _live(store: Store, spec: PolicySpec, journal: Path) -> tuple[list[tuple], Engine]:
    engine = Engine(
        broker=PaperBroker(COSTS, starting_cash=CASH),
        feed=StoreReplayFeed(store, symbols=SYMBOLS, timeframe="1d"),
        policies=[spec],
        journal=journal,
        cash=CASH,
        costs=COSTS,
        risk=RiskLimits(price_band=1.0, max_orders_per_window=1_000),
    )
    await engine.start()
    await engine.run_until_idle(timeout=120)
    await engine.stop()
    with Journal(journal, readonly=True) as j:
        return [(f.ts, f.symbol, str(f.side), f.qty, f.price, f.fee) for f in j.fills()], engine


@pytest.mark.parametrize(
    "policy",
    [
        RsiReversion(5, 35, 65, "long_short"),
        BollingerReversion(10, 1.0, "long_short"),
        SmaCross(3, 8, "long_short", "cross"),
        CustomSma(3, 8, "long_short"),
    ],
    ids=["rsi", "bollinger", "sma_cross_signal", "subclass_polars_path"],
)
def test_engine_fills_exactly_as_backtest(tmp_path: Path, policy: Any) -> None:
    store = Store(tmp_path / "store")
    store.write("bars", synthetic_bars(SYMBOLS, periods=250, timeframe="1d", seed=11))
    sizer = FixedUnits(10)
    bars = store.read("bars", symbols=SYMBOLS, timeframe="1d")
    orders = backtest(bars, policy, cash=CASH, costs=COSTS, sizing=sizer).orders
    expected = (
        orders.sort("ts", "symbol", maintain_order=True)
        .select(pl.col("ts").dt.epoch("ns"), "symbol", "side", "qty", "price", "fee")
        .rows()
    )
    spec = PolicySpec("p", policy, SYMBOLS, sizer=sizer)
    got, engine = asyncio.run(_live(store, spec, tmp_path / "live.db"))
    assert len(expected) >= 6
    assert got == expected
    runner = engine.runners["p"]
    assert isinstance(runner, VectorRunner)
    stepped = {s: runner._steppers.get(s) is not None for s in SYMBOLS}  # which path ran
    assert stepped == dict.fromkeys(SYMBOLS, not isinstance(policy, CustomSma))


def test_vol_target_stepper_fills_as_the_polars_path(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.write("bars", synthetic_bars(SYMBOLS, periods=250, timeframe="1d", seed=11))
    params = (10, 5, 0.3, 252.0, 1.0, "long_short")
    fills = []
    for i, policy in enumerate([VolTargetTrend(*params), CustomVolTarget(*params)]):
        spec = PolicySpec("p", policy, SYMBOLS, sizer=FixedUnits(10))
        got, engine = asyncio.run(_live(store, spec, tmp_path / f"live{i}.db"))
        runner = engine.runners["p"]
        assert isinstance(runner, VectorRunner)
        assert (runner._steppers.get("AAA") is not None) == (i == 0)  # which path ran
        fills.append(got)
    assert len(fills[0]) >= 10
    assert fills[0] == fills[1]
