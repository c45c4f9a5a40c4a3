"""Properties of the vectorised backtest: no look-ahead, and exact window sums."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from houseedge.core.costs import LinearCostModel
from houseedge.core.features.window_sum import window_sums
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.sizing.sizers import FixedFraction, FixedUnits
from houseedge.research.backtest import backtest
from houseedge.research.backtest.exits import Exits
from tests.property.strategies import hourly_bars

SETUPS: dict[str, dict[str, Any]] = {
    "plain": {},
    "exits": {"exits": Exits(stop_loss=0.02, take_profit=0.03)},
    "trailing": {
        "exits": Exits(stop_loss=0.02, trailing=0.01, partial=[(1.0, 0.5)]),
        "sizing": FixedUnits(3),
    },
    "costs": {
        "costs": LinearCostModel(commission_bps=10, spread_bps=5),
        "sizing": FixedFraction(0.5),
        "exits": Exits(stop_loss=0.01, same_bar="nearest_open"),
    },
}


@settings(max_examples=60, deadline=None)
@given(frame=hourly_bars(8, 60), cut=st.floats(0.1, 1.0), setup=st.sampled_from(sorted(SETUPS)))
def test_a_prefix_of_the_bars_gives_the_prefix_of_the_run(
    frame: pl.DataFrame, cut: float, setup: str
) -> None:
    options = SETUPS[setup]
    policy = SmaCross(2, 4, "long_short")
    full = backtest(frame, policy, **options)
    k = max(int(cut * frame.height), 1)
    part = backtest(frame.head(k), policy, **options)
    last = frame.get_column("ts")[k - 1]
    assert_frame_equal(part.orders, full.orders.filter(pl.col("ts") <= last), check_exact=True)
    assert_frame_equal(part.equity, full.equity.head(k), check_exact=True)
    closed = full.trades.filter(pl.col("exit_ts") <= last)
    assert_frame_equal(part.trades, closed, check_exact=True)


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
            st.sampled_from([0.1, 0.2, 0.3, 1e-9, 100.01]),
        ),
        min_size=1,
        max_size=40,
    ),
    n=st.integers(1, 12),
)
def test_window_sums_are_correctly_rounded_and_window_alone(values: list[float], n: int) -> None:
    x = np.array(values)
    sums = window_sums(x, [n])[0]
    for end in range(n - 1, x.size):
        window = x[end - n + 1 : end + 1]
        assert sums[end] == math.fsum(window)
        assert window_sums(window, [n])[0][-1] == sums[end]
    assert np.isnan(sums[: n - 1]).all()
