"""The sweep's metrics-only kernel: where it applies, where it hands over, and its fills."""

from __future__ import annotations

import numpy as np
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.sizing.sizers import FixedFraction, FixedUnits
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.research.backtest._backtest import backtest
from houseedge.research.sweep import _kernel as kernel
from houseedge.research.sweep import _metrics as closed_form
from houseedge.research.sweep._grid import sweep

COSTS = LinearCostModel(commission_bps=10, spread_bps=2)


def _setup(sizing: object = None, costs: object = COSTS, finalize: str | None = None) -> object:
    sizing = FixedFraction(1.0) if sizing is None else sizing
    return kernel.Setup(100_000.0, costs, sizing, "next_open", None, finalize, 252)  # type: ignore[arg-type]


def _tape(quote: list[float]) -> closed_form.Tape:
    prices = np.array(quote)
    return closed_form.Tape(prices, prices, prices, {})


def test_changes_are_the_bars_whose_wanted_exposure_differs_from_the_bar_before() -> None:
    # wanted is the target one bar later: [0, 0, 1, 1, 0, -1]; the last decision never fills
    bars, wanted = closed_form.changes(np.array([0.0, 1.0, 1.0, 0.0, -1.0, 1.0]))
    assert bars.tolist() == [2, 4, 5]
    assert wanted.tolist() == [1.0, 0.0, -1.0]
    first, _ = closed_form.changes(np.array([True, True, False]))  # wanted: [0, 1, 1]
    assert first.tolist() == [1]


def test_coverage_is_one_symbol_linear_costs_and_fixed_fraction_or_units() -> None:
    minimum = LinearCostModel(min_commission=1)
    assert closed_form.covers(_setup(), 1)  # type: ignore[arg-type]
    assert closed_form.covers(_setup(FixedUnits(2), minimum), 1)  # type: ignore[arg-type]
    assert not closed_form.covers(_setup(), 2)  # type: ignore[arg-type]
    assert not closed_form.covers(_setup(FixedFraction(1.0, whole_units=True)), 1)  # type: ignore[arg-type]
    assert not closed_form.covers(_setup(costs=minimum), 1)  # type: ignore[arg-type]
    assert not closed_form.covers(_setup(costs=LinearCostModel(borrow_bps=10)), 1)  # type: ignore[arg-type]
    assert not closed_form.covers(_setup(FixedUnits(2), LinearCostModel(borrow_bps=10)), 1)  # type: ignore[arg-type]


def test_fixed_units_fills_book_cash_as_the_event_loop() -> None:
    tape = _tape([10.0, 10.0, 11.0, 12.0, 12.0, 9.0, 9.0])
    target = np.array([0.0, 1.0, 1.0, -1.0, -1.0, 0.0, 0.0])
    setup = _setup(FixedUnits(2), LinearCostModel(commission_per_share=0.5, min_commission=1.5))
    fills = closed_form.run(tape, setup, target)  # type: ignore[arg-type]
    assert fills is not None
    # buy 2 at 11, sell 2 at 12 then short 2 at 12, cover at 9; fees max(2 * 0.5, 1.5)
    assert fills.bar.tolist() == [2, 4, 4, 6]
    assert fills.qty.tolist() == [2.0, -2.0, -2.0, 2.0]
    assert fills.fee.tolist() == [1.5] * 4
    assert fills.cash_after.tolist() == [99_976.5, 99_999.0, 100_021.5, 100_002.0]
    assert fills.closed == 2


def test_a_resize_or_lost_equity_hands_the_set_to_the_engine() -> None:
    tape = _tape([10.0, 10.0, 11.0, 12.0, 12.0, 12.0])
    resize = np.array([0.0, 0.5, 1.0, 1.0, 0.0, 0.0])
    assert closed_form.run(tape, _setup(), resize) is None  # type: ignore[arg-type]
    whole = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    fills = closed_form.run(tape, _setup(), whole)  # type: ignore[arg-type]
    assert fills is not None and fills.bar.tolist() == [2, 5] and fills.closed == 1
    # A short of 1.5x equity through a tripling price loses more than everything: the engine
    # sizes the next position in its event loop.
    ruin = _tape([10.0, 10.0, 30.0, 30.0, 30.0, 30.0, 30.0])
    short = np.array([-1.0, -1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    assert closed_form.run(ruin, _setup(FixedFraction(1.5)), short) is None  # type: ignore[arg-type]


def test_out_of_range_float_targets_are_not_claimed() -> None:
    assert closed_form.clean(np.array([0.0, 1.5]), True) is None
    cleaned = closed_form.clean(np.array([np.nan, -1.0, 1.0]), False)
    assert cleaned is not None and cleaned.tolist() == [0.0, 0.0, 1.0]


def test_a_metrics_only_sweep_never_runs_the_engine_per_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bars = synthetic_bars(["AAA"], periods=800, timeframe="1h", seed=3)

    def engine(*_: object, **__: object) -> None:
        raise AssertionError("the metrics-only kernel should have computed this set")

    monkeypatch.setattr(kernel, "run_target", engine)
    monkeypatch.setattr(kernel, "run_curve", engine)
    grid = {"fast": [3, 8], "slow": [20, 50], "mode": ["long_only", "long_short"]}
    result = sweep(bars, SmaCross, grid, costs=COSTS, finalize="close")
    for row in result.frame.iter_rows(named=True):
        policy = SmaCross(row["fast"], row["slow"], row["mode"])
        expected = backtest(bars, policy, costs=COSTS, finalize="close").metrics
        assert row["final_equity"] == expected["final_equity"]
        assert row["trades"] == expected["trades"] > 0
        assert row["sharpe_ratio"] == pytest.approx(expected["sharpe_ratio"], rel=1e-12)
