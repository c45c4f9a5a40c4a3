"""Path-dependent exits and periodic rebalancing of the vectorised backtest."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.sizing.sizers import FixedFraction, FixedUnits, SizingRequest, TargetWeights
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.research.backtest import backtest
from houseedge.research.backtest.exits import Exits


class Listed:
    """A policy given by its list of targets (one per bar of each symbol)."""

    name, warmup = "listed", 0

    def __init__(self, values: list[float]) -> None:
        self.values = values

    def params(self) -> dict[str, Any]:
        return {}

    def target(self) -> pl.Expr:
        return pl.lit(pl.Series(self.values, dtype=pl.Float64))


def listed(values: list[float]) -> Listed:
    return Listed(values)


def bars(rows: list[tuple[float, float, float, float]]) -> pl.DataFrame:
    """Bars from (open, high, low, close) rows, one a day."""
    frame = pl.DataFrame(rows, schema=["open", "high", "low", "close"], orient="row")
    return frame.with_columns(ts=pl.int_range(pl.len()))


@dataclass(frozen=True)
class Loop:
    """FixedFraction behind a wrapper: the engine cannot take the closed form."""

    inner: FixedFraction

    name = "wrapped"

    def params(self) -> dict[str, Any]:
        return {}

    def inputs(self) -> dict[str, pl.Expr]:
        return {}

    def quantity(self, request: SizingRequest) -> float:
        return self.inner.quantity(request)


FLAT = (100.0, 100.5, 99.5, 100.0)


def test_stop_fills_at_level_and_gap_fills_at_open() -> None:
    # Enter at bar 1's open (100); 2% stop at 98. Bar 2 touches 97.5: fill at 98.
    frame = bars([FLAT, FLAT, (99.0, 99.5, 97.5, 98.5), FLAT])
    result = backtest(frame, listed([1.0] * 4), exits=Exits(stop_loss=0.02), sizing=FixedUnits())
    exits = result.orders.filter(pl.col("reason") == "stop_loss")
    assert exits.select("ts", "price").rows() == [(2, 98.0)]
    # Opening through the stop fills at the (worse) open.
    gap = bars([FLAT, FLAT, (96.0, 97.0, 95.0, 96.5), FLAT])
    result = backtest(gap, listed([1.0] * 4), exits=Exits(stop_loss=0.02), sizing=FixedUnits())
    assert result.orders.filter(pl.col("reason") == "stop_loss")["price"].to_list() == [96.0]
    trade = result.trades.row(0, named=True)
    assert trade["r_multiple"] == pytest.approx((96.0 - 100.0) / 2.0)


@pytest.mark.parametrize(
    ("rule", "reason"),
    [("stop_first", "stop_loss"), ("target_first", "take_profit"), ("nearest_open", "take_profit")],
)
def test_same_bar_rule_decides_between_stop_and_target(rule: Any, reason: str) -> None:
    # Bar 2 spans both 98 (stop) and 104 (target); its open 103 is nearer the target.
    frame = bars([FLAT, FLAT, (103.0, 105.0, 97.0, 100.0), FLAT])
    rules = Exits(stop_loss=0.02, take_profit=0.04, same_bar=rule)
    result = backtest(frame, listed([1.0] * 4), exits=rules, sizing=FixedUnits())
    assert result.orders.get_column("reason").to_list() == ["open", reason]


def test_entry_bar_is_checked_only_when_asked() -> None:
    frame = bars([FLAT, (100.0, 100.5, 97.0, 99.0), FLAT, FLAT])
    hit = backtest(frame, listed([1.0] * 4), exits=Exits(stop_loss=0.02), sizing=FixedUnits())
    assert hit.orders.get_column("ts").to_list() == [1, 1]
    later = Exits(stop_loss=0.02, entry_bar=False)
    missed = backtest(frame, listed([1.0] * 4), exits=later, sizing=FixedUnits())
    assert missed.orders.height == 1


def test_no_reentry_until_the_target_changes() -> None:
    frame = bars([FLAT, FLAT, (99.0, 99.5, 97.0, 98.0), FLAT, FLAT, FLAT, FLAT])
    targets = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    result = backtest(frame, listed(targets), exits=Exits(stop_loss=0.02), sizing=FixedUnits())
    assert result.orders.select("ts", "reason").rows() == [
        (1, "open"),
        (2, "stop_loss"),
        (5, "open"),
    ]


def test_trailing_breakeven_and_partial_exits() -> None:
    rows = [FLAT, FLAT, (101.0, 103.0, 100.5, 102.5), (102.5, 104.5, 102.0, 104.0),
            (104.0, 104.2, 101.0, 101.5), FLAT]  # fmt: skip
    rules = Exits(stop_loss=0.02, trailing=0.02, partial=[(1.0, 0.5)])
    result = backtest(bars(rows), listed([1.0] * 6), exits=rules, sizing=FixedUnits(10))
    orders = result.orders.select("ts", "qty", "price", "reason").rows()
    # Partial half at 102 (1R) on bar 2; the trailing stop from the 104.5 high is 102.41.
    assert orders[:2] == [(1, 10.0, 100.0, "open"), (2, 5.0, 102.0, "partial")]
    assert orders[2][:2] == (4, 5.0)
    assert orders[2][2] == pytest.approx(104.5 - 104.5 * 0.02 * 100 / 104.5)
    assert orders[2][3] == "trailing_stop"
    moved = Exits(stop_loss=0.02, breakeven_at_r=1.0)
    result = backtest(bars(rows), listed([1.0] * 6), exits=moved, sizing=FixedUnits())
    # From bar 3 (after bar 2 reached 1R) the stop sits at the entry price.
    assert result.orders.select("ts", "price", "reason").rows()[-1] == (5, 100.0, "trailing_stop")


@pytest.fixture(scope="module")
def market() -> pl.DataFrame:
    return synthetic_bars("AAA", periods=3_000, timeframe="1h", seed=11)


@pytest.mark.parametrize("mode", ["long_only", "long_short"])
def test_closed_form_agrees_with_the_event_loop(market: pl.DataFrame, mode: Any) -> None:
    costs = LinearCostModel(commission_bps=10, spread_bps=4)
    rules = Exits(stop_loss=0.01, take_profit=0.02, same_bar="nearest_open")
    runs = [
        backtest(market, SmaCross(10, 40, mode), costs=costs, sizing=sizing, exits=rules)
        for sizing in (FixedFraction(0.9), Loop(FixedFraction(0.9)))
    ]
    fast, loop = (r.orders for r in runs)
    assert fast.height > 50
    assert fast.get_column("reason").value_counts().height >= 3
    assert fast.select("ts", "side", "reason").equals(loop.select("ts", "side", "reason"))
    for column in ("qty", "price", "fee", "cash_after"):
        gap = (fast.get_column(column) - loop.get_column(column)).abs().max()
        assert gap <= 1e-9 * float(loop.get_column(column).abs().max() or 1.0)  # pyright: ignore
    assert math.isclose(
        runs[0].metrics["final_equity"], runs[1].metrics["final_equity"], rel_tol=1e-9
    )
    risky = runs[0].trades.filter(pl.col("r_multiple").is_not_null())
    assert risky.height == runs[0].trades.height
    stops = runs[0].trades.join(
        runs[0].orders.filter(reason="stop_loss").select(exit_ts="ts", exit_price="price"),
        on=["exit_ts", "exit_price"],
    )
    assert stops.height > 10
    assert (stops.get_column("r_multiple") < -0.99).all()


def test_periodic_rebalancing_restores_the_weights() -> None:
    basket = synthetic_bars(["A", "B", "C"], periods=24 * 60, timeframe="1h", seed=5)
    weights = {"A": 0.5, "B": 0.3, "C": 0.2}
    result = backtest(
        basket, listed([1.0] * (24 * 60)), sizing=TargetWeights(weights), rebalance="1w",
    )  # fmt: skip
    fills = result.orders
    rebalanced = fills.filter(pl.col("reason") == "rebalance").get_column("ts").unique()
    assert rebalanced.len() >= 7
    after = fills.filter(pl.col("ts").is_in(rebalanced.implode()))
    held = after.join(result.equity.select("ts", "equity"), on="ts")
    # Marked at the fill prices, each symbol is back to its weight of the equity.
    marks = held.group_by("ts", "symbol").agg(
        pl.col("position_after").last(), pl.col("price").last()
    )
    shares = marks.join(result.equity.select("ts", "equity", "cash"), on="ts").with_columns(
        weight=pl.col("position_after") * pl.col("price")
    )
    totals = shares.group_by("ts").agg(pl.sum("weight"), pl.first("cash"))
    shares = shares.join(totals.rename({"weight": "invested"}), on="ts").with_columns(
        share=pl.col("weight") / (pl.col("invested") + pl.col("cash"))
    )
    for symbol, weight in weights.items():
        values = shares.filter(symbol=symbol).get_column("share")
        assert values.len() == rebalanced.len()
        assert (values - weight).abs().max() < 1e-9  # pyright: ignore[reportOperatorIssue]
    plain = backtest(basket, listed([1.0] * (24 * 60)), sizing=TargetWeights(weights))
    assert plain.orders.height == 3
