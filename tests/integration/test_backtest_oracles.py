"""The vectorised backtest reproduces backtesting.py's and backtrader's published results.

Each oracle's signal semantics are a small user-defined VectorPolicy here; its execution
conventions are backtest() parameters (finalize, sizing, costs), not special cases.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from houseedge.core.sizing.sizers import FixedFraction, FixedUnits
from houseedge.research.backtest import backtest
from houseedge.research.metrics.trades import expectancy, profit_factor


class CrossEventSma:
    """backtesting.py's SmaCross: act on a strict crossover event, then stay in (long/short)."""

    name = "sma_cross_event"

    def __init__(self, fast: int, slow: int) -> None:
        self.fast, self.slow = fast, slow

    @property
    def warmup(self) -> int:
        return self.slow

    def params(self) -> dict[str, Any]:
        return {"fast": self.fast, "slow": self.slow}

    def target(self) -> pl.Expr:
        fast = pl.col("close").rolling_mean(self.fast)
        slow = pl.col("close").rolling_mean(self.slow)
        up = (fast.shift(1) < slow.shift(1)) & (fast > slow)
        down = (slow.shift(1) < fast.shift(1)) & (slow > fast)
        return pl.when(up).then(1.0).when(down).then(-1.0).otherwise(None).forward_fill()


class CloseCrossSma:
    """backtrader's CrossOver(close, SMA), long-only: buy on an up-cross, exit on a down-cross.

    A cross compares today's difference with the last NON-ZERO difference before today.
    """

    name = "close_cross_sma"
    allow_short = False

    def __init__(self, period: int) -> None:
        self.period = period

    @property
    def warmup(self) -> int:
        return self.period

    def params(self) -> dict[str, Any]:
        return {"period": self.period}

    def target(self) -> pl.Expr:
        diff = pl.col("close") - pl.col("close").rolling_mean(self.period)
        last_nonzero = pl.when(diff != 0).then(diff).forward_fill().shift(1)
        up = (last_nonzero < 0) & (diff > 0)
        down = (last_nonzero > 0) & (diff < 0)
        return pl.when(up).then(1.0).when(down).then(0.0).otherwise(None).forward_fill()


def _case(oracle_cases: Path, case_id: str) -> dict[str, Any]:
    cases = json.loads(oracle_cases.read_text())["backtest_cases"]
    return next(case for case in cases if case["id"] == case_id)


def _ohlc(frame: pl.DataFrame, time_column: str) -> pl.DataFrame:
    return frame.rename(
        {time_column: "ts"} | {c: c.lower() for c in frame.columns if c != time_column}
    )


@pytest.fixture
def goog(real_data: Path) -> pl.DataFrame:
    frame = pl.read_csv(real_data / "backtesting_py" / "GOOG.csv", try_parse_dates=True)
    return _ohlc(frame, "")


def _close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-8)


def test_backtesting_py_sma_cross_goog(goog: pl.DataFrame, oracle_cases: Path) -> None:
    case = _case(oracle_cases, "backtesting_py.goog.smacross_10_30")
    expected = case["expected"]
    result = backtest(
        goog, CrossEventSma(10, 30), cash=case["params"]["cash"], finalize="open",
        sizing=FixedFraction(1 - sys.float_info.epsilon, whole_units=True),
    )  # fmt: skip
    trades, metrics = result.trades, result.metrics
    returns = trades.get_column("return_pct")
    geometric_mean = math.exp(returns.log1p().mean()) - 1  # pyright: ignore[reportArgumentType]
    assert trades.height == expected["# Trades"]
    assert _close(metrics["final_equity"], expected["Equity Final [$]"])
    assert _close(metrics["equity_peak"], expected["Equity Peak [$]"])
    assert _close(metrics["total_return"] * 100, expected["Return [%]"])
    assert _close(metrics["win_rate"] * 100, expected["Win Rate [%]"])
    assert _close(returns.max() * 100, expected["Best Trade [%]"])  # pyright: ignore[reportOperatorIssue]
    assert _close(returns.min() * 100, expected["Worst Trade [%]"])  # pyright: ignore[reportOperatorIssue]
    assert _close(geometric_mean * 100, expected["Avg. Trade [%]"])
    ratio = trades.select(profit_factor("return_pct"), expectancy("return_pct")).row(0)
    assert _close(ratio[0], expected["Profit Factor"])
    assert _close(ratio[1] * 100, expected["Expectancy [%]"])
    assert _close(metrics["exposure_time"] * 100, expected["Exposure Time [%]"])
    assert _close(metrics["max_drawdown"] * 100, expected["Max. Drawdown [%]"])
    listed = [*case["first_trades"], case["last_trade"]]
    for row, want in zip([0, 1, trades.height - 1], listed, strict=True):
        trade = trades.row(row, named=True)
        sign = 1 if trade["direction"] == "long" else -1
        assert sign * trade["qty"] == want["Size"]
        assert trade["entry_ts"] == date.fromisoformat(want["EntryTime"])
        assert trade["exit_ts"] == date.fromisoformat(want["ExitTime"])
        assert trade["entry_price"] == want["EntryPrice"]
        assert trade["exit_price"] == want["ExitPrice"]
        assert _close(trade["pnl"], want["PnL"])


def test_backtrader_sma15_stocklike(real_data: Path, oracle_cases: Path) -> None:
    case = _case(oracle_cases, "backtrader.tests.sma15_crossover_stocklike")
    expected = case["expected"]
    path = real_data / "backtrader" / "2006-day-001.txt"
    bars = _ohlc(pl.read_csv(path, try_parse_dates=True), "Date")
    result = backtest(
        bars, CloseCrossSma(case["params"]["sma_period"]), cash=case["params"]["cash"],
        sizing=FixedUnits(case["params"]["stake"]),
    )  # fmt: skip
    orders = result.orders.join(
        bars.select(decision_ts="ts", decision_close="close"), on="decision_ts"
    )
    for side in ("buy", "sell"):
        fills = orders.filter(pl.col("side") == side)
        created = [f"{price:.2f}" for price in fills.get_column("decision_close")]
        executed = [f"{price:.2f}" for price in fills.get_column("price")]
        assert created == expected[f"{side}_create_close"]
        assert executed == expected[f"{side}_exec_open"]
    assert f"{result.metrics['final_equity']:.2f}" == f"{expected['final_value']:.2f}"
    assert f"{result.equity.get_column('cash')[-1]:.2f}" == f"{expected['final_cash']:.2f}"
    assert result.open_trades.height == 1
