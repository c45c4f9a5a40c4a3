from __future__ import annotations

import math

import polars as pl
import pytest

from houseedge.core.policies.builtin import SmaCross
from houseedge.core.sizing.hybrid import Hybrid, InputAbove, NearTarget
from houseedge.core.sizing.inputs import realised_volatility
from houseedge.core.sizing.sizers import Sizer
from houseedge.core.sizing.utility import (
    KellyBinary,
    KellyContinuous,
    TargetHitting,
    VolatilityTarget,
)
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.research.backtest import backtest

CASH, BARS, MINUTES_PER_YEAR = 100_000.0, 1_500, 525_600.0
LOOKBACK = 60


def _sizers() -> dict[str, tuple[Sizer, float]]:
    """Each sizer with its leverage cap."""
    regime = InputAbove("vol", realised_volatility(30, MINUTES_PER_YEAR), 0.5)
    near = NearTarget(1.2 * CASH, within=0.05)
    return {
        "volatility_target": (VolatilityTarget(0.3, LOOKBACK, MINUTES_PER_YEAR, 1.5), 1.5),
        "kelly_binary": (KellyBinary(0.7, 2.0, fraction=2.0, max_leverage=0.9), 0.9),
        "kelly_continuous": (KellyContinuous(LOOKBACK, MINUTES_PER_YEAR, 0.5, 3.0), 3.0),
        "target_by_deadline": (
            TargetHitting(target=1.2 * CASH, horizon=BARS, lookback=LOOKBACK, max_leverage=2.0),
            2.0,
        ),
        "target_before_floor": (
            TargetHitting(
                target=1.1 * CASH, floor=0.9 * CASH, horizon=BARS, lookback=LOOKBACK,
                max_leverage=2.5, n_paths=200, grid_size=10,
            ),
            2.5,
        ),
        "hybrid": (
            Hybrid(
                rules=[
                    (near, VolatilityTarget(0.1, 30, MINUTES_PER_YEAR, 2.0)),
                    (regime, KellyContinuous(LOOKBACK, MINUTES_PER_YEAR, 0.25, 2.0)),
                ],
                default=KellyContinuous(LOOKBACK, MINUTES_PER_YEAR, 1.0, 2.0),
            ),
            2.0,
        ),
    }  # fmt: skip


SIZERS = _sizers()


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    return synthetic_bars(["A"], periods=BARS, seed=7)


def _fill_leverage(orders: pl.DataFrame) -> pl.Series:
    """Return |position| / equity right after each open or resize (no costs: equity unchanged)."""
    entries = orders.filter(pl.col("reason").is_in(["open", "resize"]))
    value = pl.col("position_after") * pl.col("price")
    return entries.select((value.abs() / (pl.col("cash_after") + value)).alias("x")).to_series()


@pytest.mark.parametrize("name", list(SIZERS))
def test_sizer_runs_in_the_backtest_and_respects_its_cap(name: str, bars: pl.DataFrame) -> None:
    sizer, cap = SIZERS[name]
    result = backtest(bars, SmaCross(5, 30, mode="long_short"), cash=CASH, sizing=sizer)
    orders = result.orders
    assert result.params["sizing"] == sizer.name
    assert orders.filter(pl.col("reason") == "open").height > 5
    leverage = _fill_leverage(orders)
    assert leverage.max() <= cap * (1 + 1e-9)  # pyright: ignore[reportOperatorIssue]
    assert leverage.min() > 0  # pyright: ignore[reportOperatorIssue]
    sides = orders.filter(pl.col("reason") == "open").get_column("position_after")
    assert (sides > 0).any()
    assert (sides < 0).any()
    if sizer.inputs() and not isinstance(sizer, Hybrid):
        assert orders.get_column("row").min() > LOOKBACK  # pyright: ignore[reportOperatorIssue]
    equity = result.equity.get_column("equity")
    assert equity.len() == BARS
    assert bool(equity.is_finite().all())
    assert equity.min() > 0  # pyright: ignore[reportOperatorIssue]


def test_kelly_binary_holds_exactly_its_fraction_at_every_entry(bars: pl.DataFrame) -> None:
    sizer = KellyBinary(0.55, 1.0, fraction=0.5)
    result = backtest(bars, SmaCross(5, 30), cash=CASH, sizing=sizer)
    leverage = _fill_leverage(result.orders)
    assert leverage.len() > 5
    assert leverage.to_list() == pytest.approx([0.5 * (0.55 - 0.45)] * leverage.len())


def test_volatility_target_sizes_down_in_wilder_markets() -> None:
    calm = synthetic_bars(["A"], periods=800, seed=3)
    wild = calm.with_columns(
        (pl.col(c).first() * (pl.col(c) / pl.col(c).first()) ** 3).alias(c)
        for c in ("open", "high", "low", "close")
    )
    sizer = VolatilityTarget(0.05, 30, MINUTES_PER_YEAR, 10.0)
    policy = SmaCross(5, 30)
    calm_leverage = _fill_leverage(backtest(calm, policy, cash=CASH, sizing=sizer).orders)
    wild_leverage = _fill_leverage(backtest(wild, policy, cash=CASH, sizing=sizer).orders)
    assert wild_leverage.median() < calm_leverage.median() / 2  # pyright: ignore[reportOperatorIssue]


def test_sizers_run_per_symbol_on_a_basket() -> None:
    basket = synthetic_bars(["A", "B", "C"], periods=600, seed=2)
    sizer = KellyContinuous(LOOKBACK, MINUTES_PER_YEAR, 0.5, 1.0)
    result = backtest(basket, SmaCross(5, 30), cash=CASH, sizing=sizer)
    assert set(result.orders.get_column("symbol")) == {"A", "B", "C"}
    first_rows = result.orders.group_by("symbol").agg(pl.col("row").min()).get_column("row")
    assert first_rows.min() > LOOKBACK  # pyright: ignore[reportOperatorIssue]
    gross = result.equity.get_column("gross_exposure") / result.equity.get_column("equity")
    # One cap per position; three positions at most, plus what prices drift between fills.
    assert gross.max() < 3.0 * 1.2  # pyright: ignore[reportOperatorIssue]
    assert math.isfinite(result.equity.get_column("equity")[-1])
