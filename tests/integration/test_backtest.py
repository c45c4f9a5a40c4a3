"""End-to-end behaviour of the vectorised backtest on small synthetic markets."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.sizing.sizers import FixedFraction, FixedUnits, TargetWeights
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.errors import PolicyError, SchemaMismatch
from houseedge.research.backtest import backtest


class ExprPolicy:
    """A policy given by an expression (a user class satisfying VectorPolicy)."""

    warmup = 0

    def __init__(self, expr: pl.Expr, name: str = "expr") -> None:
        self.expr, self._name = expr, name

    @property
    def name(self) -> str:
        return self._name

    def params(self) -> dict[str, Any]:
        return {"expr": str(self.expr)}

    def target(self) -> pl.Expr:
        return self.expr


def sma_trend(fast: int = 5, slow: int = 20, short: bool = False) -> ExprPolicy:
    diff = pl.col("close").rolling_mean(fast) - pl.col("close").rolling_mean(slow)
    side = diff.sign().cast(pl.Float64)
    return ExprPolicy(side if short else side.clip(lower_bound=0.0), "sma_trend")


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    return synthetic_bars(["AAA", "BBB"], periods=400, timeframe="1d", seed=7)


@pytest.fixture(scope="module")
def one(bars: pl.DataFrame) -> pl.DataFrame:
    return bars.filter(pl.col("symbol") == "AAA")


def _with_bar(orders: pl.DataFrame, bars: pl.DataFrame) -> pl.DataFrame:
    return orders.join(bars.select("symbol", "ts", "open", "close"), on=["symbol", "ts"])


@pytest.mark.parametrize(("execution", "quote"), [("next_open", "open"), ("next_close", "close")])
def test_fills_happen_on_the_bar_after_the_decision(
    one: pl.DataFrame, execution: str, quote: str
) -> None:
    result = backtest(one, sma_trend(), execution=execution)  # pyright: ignore[reportArgumentType]
    orders = _with_bar(result.orders, one)
    assert orders.height > 4
    assert (orders.get_column("price") == orders.get_column(quote)).all()
    times = one.get_column("ts")
    index = {t: i for i, t in enumerate(times.to_list())}
    for ts, decided in orders.select("ts", "decision_ts").iter_rows():
        assert index[ts] == index[decided] + 1


def test_future_bars_do_not_change_past_fills(one: pl.DataFrame) -> None:
    full = backtest(one, sma_trend(short=True)).orders
    cut = one.head(250)
    partial = backtest(cut, sma_trend(short=True)).orders
    last_ts = cut.get_column("ts")[-1]
    assert partial.height > 0
    assert (
        full.filter(pl.col("ts") <= last_ts)
        .select("ts", "side")
        .equals(partial.select("ts", "side"))
    )


def test_cash_ledger_and_trades_agree_with_costs(one: pl.DataFrame) -> None:
    costs = LinearCostModel(commission_bps=10, spread_bps=20, min_commission=1.0)
    result = backtest(one, sma_trend(short=True), cash=10_000.0, costs=costs, finalize="close")
    orders = _with_bar(result.orders, one)
    sign = pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0)
    quote = pl.when(pl.col("reason") == "finalize").then("close").otherwise("open")
    expected_price = quote * (1 + sign * 10e-4)
    assert orders.select((pl.col("price") - expected_price).abs().max()).item() < 1e-9
    fees = pl.max_horizontal(pl.col("qty") * pl.col("price") * 1e-3, pl.lit(1.0))
    assert orders.select((pl.col("fee") - fees).abs().max()).item() < 1e-9
    assert result.open_trades.height == 0
    pnl = result.trades.get_column("pnl").sum()
    assert math.isclose(result.metrics["final_equity"], 10_000.0 + pnl, rel_tol=1e-12)
    assert math.isclose(result.metrics["total_fees"], result.trades.get_column("fees").sum())


def test_reversal_closes_then_opens_from_realised_cash(one: pl.DataFrame) -> None:
    result = backtest(one, sma_trend(short=True), sizing=FixedFraction(1.0, whole_units=True))
    orders = result.orders
    reversals = orders.filter(pl.col("ts").is_duplicated())
    assert reversals.height >= 4
    reasons = reversals.group_by("ts", maintain_order=True).agg("reason").get_column("reason")
    assert all(r == ["close", "open"] for r in reasons.to_list())
    opens = reversals.filter(reason="open").join(result.equity.select("ts", "cash"), on="ts")
    sign = pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0)
    realised = pl.col("cash") + sign * pl.col("qty") * pl.col("price")
    # All-in: the new position is as many whole units as the cash the close realised buys.
    assert opens.select(pl.col("qty") == (realised / pl.col("price")).floor()).to_series().all()
    assert result.trades.get_column("direction").n_unique() == 2


def test_borrow_is_charged_on_shorts_each_bar(one: pl.DataFrame) -> None:
    always_short = ExprPolicy(pl.lit(-1.0))
    costs = LinearCostModel(borrow_bps=500, periods_per_year=252)
    result = backtest(one, always_short, cash=1_000.0, costs=costs, sizing=FixedUnits(2))
    positions = result.positions
    expected = positions.select(
        (-pl.col("position").clip(upper_bound=0) * pl.col("close") * 0.05 / 252).sum()
    ).item()
    assert expected > 0
    assert math.isclose(result.metrics["total_borrow"], expected)
    free = backtest(one, always_short, cash=1_000.0, sizing=FixedUnits(2))
    gap = free.metrics["final_equity"] - result.metrics["final_equity"]
    assert math.isclose(gap, expected)


def test_allow_short_false_turns_shorts_flat(one: pl.DataFrame) -> None:
    result = backtest(one, sma_trend(short=True), allow_short=False)
    assert set(result.trades.get_column("direction")) == {"long"}
    assert (result.positions.get_column("position") >= 0).all()


def test_partial_targets_resize_the_position(one: pl.DataFrame) -> None:
    steps = pl.when(pl.int_range(pl.len()) < 100).then(0.5).otherwise(1.0)
    result = backtest(one, ExprPolicy(steps), sizing=FixedUnits(10))
    assert result.orders.select("qty", "reason").rows() == [(5.0, "open"), (5.0, "resize")]


def test_symbols_are_evaluated_separately(bars: pl.DataFrame) -> None:
    both = backtest(bars, sma_trend(short=True), cash=1_000.0, sizing=FixedUnits(1))
    separate = [
        backtest(bars.filter(symbol=s), sma_trend(short=True), cash=1_000.0, sizing=FixedUnits(1))
        for s in ("AAA", "BBB")
    ]
    combined = pl.concat([r.orders for r in separate]).sort("ts", "symbol", maintain_order=True)
    ordered = both.orders.sort("ts", "symbol", maintain_order=True)
    assert ordered.drop("cash_after").equals(combined.drop("cash_after"))
    gains = sum(r.metrics["final_equity"] - 1_000.0 for r in separate)
    assert math.isclose(both.metrics["final_equity"] - 1_000.0, gains, rel_tol=1e-9)


def test_target_weights_split_the_portfolio(bars: pl.DataFrame) -> None:
    result = backtest(bars.lazy(), ExprPolicy(pl.lit(1.0)), cash=10_000.0, sizing=TargetWeights())
    first = _with_bar(result.orders, bars)
    assert first.height == 2
    notional = first.get_column("qty") * first.get_column("price")
    assert notional.to_list() == pytest.approx([5_000.0, 5_000.0])


def test_volatility_slippage_uses_the_decision_bar(one: pl.DataFrame) -> None:
    frame = one.with_columns(atr=(pl.col("high") - pl.col("low")).rolling_mean(5))
    costs = LinearCostModel(slippage_fraction=0.5, slippage_scale="atr")
    result = backtest(frame, sma_trend(), costs=costs)
    decided = result.orders.join(
        frame.select(decision_ts="ts", atr="atr", symbol="symbol"), on=["symbol", "decision_ts"]
    )
    fill = _with_bar(decided, frame)
    side = pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0)
    gap = pl.col("price") - (pl.col("open") + side * 0.5 * pl.col("atr"))
    assert fill.height == result.orders.height
    assert fill.select(gap.abs().max()).item() < 1e-9


def test_trades_carry_excursions_and_durations(one: pl.DataFrame) -> None:
    trades = backtest(one, sma_trend()).trades
    assert trades.height > 2
    assert (trades.get_column("mae") <= 0).all()
    assert (trades.get_column("mfe") >= 0).all()
    assert (trades.get_column("bars_held") == trades["exit_row"] - trades["entry_row"]).all()
    assert trades.get_column("r_multiple").null_count() == trades.height


def test_bad_inputs_raise_named_errors(one: pl.DataFrame) -> None:
    with pytest.raises(PolicyError, match=r"\[-1, 1\]"):
        backtest(one, ExprPolicy(pl.lit(2.0)))
    with pytest.raises(SchemaMismatch, match="open"):
        backtest(one.drop("open"), sma_trend())
    with pytest.raises(ValueError, match="execution"):
        backtest(one, sma_trend(), execution="same_close")  # pyright: ignore[reportArgumentType]


def test_params_record_the_configuration(one: pl.DataFrame) -> None:
    params = backtest(one, sma_trend(), finalize="open").params
    assert params["policy"] == "sma_trend"
    assert params["sizing"] == "fixed_fraction"
    assert params["execution"] == "next_open"
    assert params["finalize"] == "open"


def test_finalize_closes_each_symbol_on_its_own_last_bar(bars: pl.DataFrame) -> None:
    ragged = bars.filter(
        (pl.col("symbol") == "AAA") | (pl.int_range(pl.len()).over("symbol") < 300)
    )
    costs = LinearCostModel(commission_bps=5, borrow_bps=100)
    result = backtest(ragged, sma_trend(short=True), cash=10_000.0, costs=costs, finalize="open")
    finals = _with_bar(result.orders.filter(reason="finalize"), ragged)
    last = ragged.group_by("symbol").agg(pl.col("ts").max())
    assert finals.join(last, on=["symbol", "ts"]).height == finals.height == 2
    assert result.open_trades.height == 0
    assert (
        result.positions.group_by("symbol").agg(pl.col("position").last())["position"] == 0
    ).all()
    # The per-time cash agrees with re-summing every fill's cash flow and the borrow.
    flows = result.positions.group_by("ts").agg(pl.sum("flow")).sort("ts").get_column("flow")
    resummed = 10_000.0 + flows.cum_sum() - result.equity.get_column("borrow").cum_sum()
    assert (result.equity["cash"] - resummed).abs().max() < 1e-6  # pyright: ignore[reportOperatorIssue]
    pnl = result.trades["pnl"].sum() - result.metrics["total_borrow"]
    assert math.isclose(result.metrics["final_equity"], 10_000.0 + pnl, rel_tol=1e-9)
