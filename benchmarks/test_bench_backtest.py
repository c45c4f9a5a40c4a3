"""Vectorised backtest speed against a numba loop (the floor) and a bare Polars version.

Reference task: SMA 10/50 crossover on close, long-only (target 1 while fast > slow, else flat),
all-in with fractional units, next-open execution, 0.1% fee per side, on synthetic one-minute
bars. All-in means the entry buys ``cash / (open * (1 + fee))`` units, so the fee is paid out of
the cash and the cash is exactly spent (houseedge: ``FixedFraction(1.0)``, which sizes fees
included); the exit receives ``qty * open * (1 - fee)``. Equity is marked on the close. The three
implementations must agree on the trade count, the final equity (rel 1e-9) and the max drawdown
before any of them is timed. Each reads its results the way its users would: the bare versions
return them from their own code; houseedge reads the result's trades, equity and its
``max_drawdown`` metric over the run's returns.

Run: ``uv run pytest benchmarks/test_bench_backtest.py -m benchmark --benchmark-enable``
(add ``-m "benchmark and slow"`` for the 10M-bar case).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.sizing.sizers import FixedFraction
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.research.backtest import backtest
from houseedge.research.backtest.exits import Exits
from houseedge.research.metrics.drawdown import max_drawdown

pytestmark = pytest.mark.benchmark

FAST, SLOW = 10, 50
FEE = 0.001
CASH = 100_000.0


@dataclass(frozen=True)
class Outcome:
    trades: int
    final_equity: float
    max_drawdown: float


def make_bars(n: int) -> pl.DataFrame:
    bars = synthetic_bars("BENCH", periods=n, timeframe="1m", seed=1)
    return bars.select("symbol", "ts", "open", "high", "low", "close")


@numba.njit(cache=False)
def _loop(
    open_: np.ndarray[Any, Any], close: np.ndarray[Any, Any], fast: int, slow: int,
    cash: float, fee: float,
) -> tuple[int, float, float]:  # fmt: skip
    fast_sum = slow_sum = 0.0
    qty, peak, worst, trades = 0.0, cash, 0.0, 0
    want = False
    for t in range(close.size):
        price = open_[t]
        if want and qty == 0.0:
            qty = cash / (price * (1.0 + fee))
            cash -= qty * price + qty * price * fee
            trades += 1
        elif not want and qty > 0.0:
            cash += qty * price - qty * price * fee
            qty = 0.0
        equity = cash + qty * close[t]
        peak = max(peak, equity)
        worst = min(worst, equity / peak - 1.0)
        fast_sum += close[t]
        slow_sum += close[t]
        if t >= fast:
            fast_sum -= close[t - fast]
        if t >= slow:
            slow_sum -= close[t - slow]
        want = t >= slow - 1 and fast_sum / fast > slow_sum / slow
    return trades, cash + qty * close[-1], worst


def run_numba(bars: pl.DataFrame) -> Outcome:
    open_, close = bars.get_column("open").to_numpy(), bars.get_column("close").to_numpy()
    return Outcome(*_loop(open_, close, FAST, SLOW, CASH, FEE))


@numba.njit(cache=False)
def _loop_exits(
    ohlc: tuple[np.ndarray[Any, Any], ...], fast: int, slow: int, cash: float, fee: float,
    levels: tuple[float, float],
) -> tuple[int, float, float]:  # fmt: skip
    """The reference loop with a stop-loss and a take-profit set from the entry price.

    houseedge's conventions: checked from the entry bar (a next-open fill precedes the bar's
    range), stop first when one bar holds both, a bar opening through a level fills at the
    open, and no re-entry until the signal turns off and on again.
    """
    open_, high, low, close = ohlc
    fast_sum = slow_sum = 0.0
    qty, peak, worst, trades = 0.0, cash, 0.0, 0
    want = blocked = False
    stop = take = 0.0
    for t in range(close.size):
        price = open_[t]
        if want and qty == 0.0 and not blocked:
            qty = cash / (price * (1.0 + fee))
            cash -= qty * price + qty * price * fee
            stop, take = price - price * levels[0], price + price * levels[1]
            trades += 1
        elif not want:
            if qty > 0.0:
                cash += qty * price - qty * price * fee
                qty = 0.0
            blocked = False
        if qty > 0.0 and (low[t] <= stop or high[t] >= take):
            if price <= stop or price >= take:
                fill = price
            elif low[t] <= stop:
                fill = stop
            else:
                fill = take
            cash += qty * fill - qty * fill * fee
            qty, blocked = 0.0, True
        equity = cash + qty * close[t]
        peak = max(peak, equity)
        worst = min(worst, equity / peak - 1.0)
        fast_sum += close[t]
        slow_sum += close[t]
        if t >= fast:
            fast_sum -= close[t - fast]
        if t >= slow:
            slow_sum -= close[t - slow]
        want = t >= slow - 1 and fast_sum / fast > slow_sum / slow
    return trades, cash + qty * close[-1], worst


STOP, TAKE = 0.02, 0.04


def run_numba_exits(bars: pl.DataFrame) -> Outcome:
    ohlc = tuple(bars.get_column(c).to_numpy() for c in ("open", "high", "low", "close"))
    return Outcome(*_loop_exits(ohlc, FAST, SLOW, CASH, FEE, (STOP, TAKE)))


def run_polars(bars: pl.DataFrame) -> Outcome:
    """Hand-written Polars: the per-bar equity factor of a long-only all-in strategy.

    Staged in ``with_columns`` steps so no intermediate expression is evaluated twice.
    """
    close, open_, held = pl.col("close"), pl.col("open"), pl.col("held")
    staged = (
        bars.lazy()
        .select("open", "close")
        .with_columns(held=(close.rolling_mean(FAST) > close.rolling_mean(SLOW)).shift(1))
        .with_columns(held=held.fill_null(False), previous_close=close.shift(1))
        .with_columns(was_held=held.shift(1, fill_value=False))
        .with_columns(entry=held & ~pl.col("was_held"), exit=~held & pl.col("was_held"))
        .with_columns(
            equity=CASH
            * pl.when("entry")
            .then(close / (open_ * (1 + FEE)))
            .when(held)
            .then(close / pl.col("previous_close"))
            .when("exit")
            .then(open_ * (1 - FEE) / pl.col("previous_close"))
            .otherwise(1.0)
            .cum_prod()
        )
        .select(
            trades=pl.col("entry").sum(),
            final=pl.col("equity").last(),
            mdd=pl.min_horizontal(
                (pl.col("equity") / pl.max_horizontal(pl.col("equity").cum_max(), CASH) - 1).min(),
                0.0,
            ),
        )
    )
    return Outcome(*staged.collect().row(0))


class RollingSmaCross:
    """The reference signal on Polars' own rolling_mean (the built-in SmaCross uses exact-window
    sums, which cost more than the whole engine here): isolates the engine's own time."""

    name, warmup = "rolling_sma_cross", SLOW

    def params(self) -> dict[str, int]:
        return {"fast": FAST, "slow": SLOW}

    def target(self) -> pl.Expr:
        close = pl.col("close")
        return (close.rolling_mean(FAST) > close.rolling_mean(SLOW)).cast(pl.Float64)


def _run(bars: pl.DataFrame, policy: Any, exits: Exits | None = None) -> Outcome:
    result = backtest(
        bars, policy, cash=CASH, costs=LinearCostModel(commission_bps=FEE * 1e4),
        sizing=FixedFraction(1.0), exits=exits,
    )  # fmt: skip
    trades = result.trades.height + result.open_trades.height
    # The full metrics summary is lazy (and costs more than the run): read what is compared,
    # the drawdown by houseedge's own metric over the run's returns (what a user calls).
    mdd = result.equity.select(max_drawdown("returns")).item()
    return Outcome(trades, result.equity.get_column("equity")[-1], mdd)


def run_houseedge(bars: pl.DataFrame) -> Outcome:
    return _run(bars, SmaCross(FAST, SLOW))


def run_houseedge_rolling(bars: pl.DataFrame) -> Outcome:
    return _run(bars, RollingSmaCross())


def run_houseedge_exits(bars: pl.DataFrame) -> Outcome:
    return _run(bars, SmaCross(FAST, SLOW), Exits(stop_loss=STOP, take_profit=TAKE))


RUNNERS = {
    "numba": run_numba,
    "polars": run_polars,
    "houseedge": run_houseedge,
    "houseedge_rolling": run_houseedge_rolling,
}
EXIT_RUNNERS = {"numba_exits": run_numba_exits, "houseedge_exits": run_houseedge_exits}


@pytest.fixture(scope="module")
def bars_1m() -> pl.DataFrame:
    return make_bars(1_000_000)


@pytest.fixture(scope="module")
def agreed(bars_1m: pl.DataFrame) -> Outcome:
    """Check the three agree (this also compiles the numba loop before any timing)."""
    outcomes = {name: run(bars_1m) for name, run in RUNNERS.items()}
    reference = outcomes["numba"]
    assert reference.trades > 1_000
    for name, outcome in outcomes.items():
        assert outcome.trades == reference.trades, name
        assert math.isclose(outcome.final_equity, reference.final_equity, rel_tol=1e-9), name
        assert math.isclose(outcome.max_drawdown, reference.max_drawdown, rel_tol=1e-9), name
    return reference


def test_implementations_agree(agreed: Outcome) -> None:
    assert agreed.final_equity > 0


@pytest.fixture(scope="module")
def agreed_exits(bars_1m: pl.DataFrame, agreed: Outcome) -> Outcome:
    """Check houseedge with a 2% stop and a 4% target against the extended numba loop."""
    reference, outcome = run_numba_exits(bars_1m), run_houseedge_exits(bars_1m)
    assert reference.final_equity != agreed.final_equity  # the exits fired
    assert outcome.trades == reference.trades
    assert math.isclose(outcome.final_equity, reference.final_equity, rel_tol=1e-9)
    assert math.isclose(outcome.max_drawdown, reference.max_drawdown, rel_tol=1e-9)
    return reference


@pytest.mark.parametrize("name", list(EXIT_RUNNERS))
def test_bench_exits_1m(
    benchmark: Any, bars_1m: pl.DataFrame, agreed_exits: Outcome, name: str
) -> None:
    outcome = benchmark(EXIT_RUNNERS[name], bars_1m)
    assert outcome.trades == agreed_exits.trades


@pytest.mark.parametrize("name", list(RUNNERS))
def test_bench_1m(benchmark: Any, bars_1m: pl.DataFrame, agreed: Outcome, name: str) -> None:
    outcome = benchmark(RUNNERS[name], bars_1m)
    assert outcome.trades == agreed.trades


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNNERS))
def test_bench_10m(benchmark: Any, name: str) -> None:
    bars = make_bars(10_000_000)
    if name == "numba":
        run_numba(bars.head(1_000))  # compile outside the timing
    outcome = benchmark.pedantic(RUNNERS[name], args=(bars,), rounds=1, iterations=1)
    assert outcome.trades > 0
