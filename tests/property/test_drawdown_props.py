"""max_drawdown and calmar_ratio (one NumPy pass) equal the Polars drawdown expression exactly.

The pass runs over blocks (carrying the running product and peak); the tests shrink the block
to a few values so every example crosses block boundaries.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.research.metrics import _drawdown_scan as scan_module
from houseedge.research.metrics.drawdown import drawdown, drawdown_depth, max_drawdown
from houseedge.research.metrics.inputs import compound_annual, returns_column
from houseedge.research.metrics.returns import calmar_ratio

RETURN = st.one_of(
    st.none(),
    st.just(math.nan),
    st.floats(min_value=-1.5, max_value=3.0, allow_nan=False, allow_infinity=False),
)


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


@settings(max_examples=200, deadline=None)
@given(st.lists(RETURN, max_size=60), st.integers(1, 4), st.sampled_from([1, 2, 3, 7, 1 << 15]))
def test_worst_drawdown_is_the_min_of_the_drawdown_series(
    values: list[float | None], groups: int, block: int
) -> None:
    frame = pl.DataFrame(
        {
            "g": [i % groups for i in range(len(values))],
            "returns": pl.Series(values, dtype=pl.Float64),
        }
    )
    r = returns_column("returns")
    polars_worst = pl.when(r.count() > 0).then(drawdown(r).min())
    depth = pl.when(polars_worst < 0).then(-polars_worst).otherwise(math.nan)
    calmar = pl.when(r.count() > 0).then(compound_annual(r, 252) / depth)
    depth = pl.when(r.count() > 0).then(depth)
    exprs = [polars_worst.alias("w"), depth.alias("d"), calmar.alias("c")]
    ours = [max_drawdown().alias("w"), drawdown_depth().alias("d"), calmar_ratio().alias("c")]
    with mock.patch.object(scan_module, "BLOCK", block):
        computed = [
            (frame.select(exprs), frame.select(ours)),
            (frame.group_by("g").agg(exprs).sort("g"), frame.group_by("g").agg(ours).sort("g")),
        ]
    for expected, got in computed:
        for column in ("w", "d", "c"):
            pairs = zip(expected[column].to_list(), got[column].to_list(), strict=True)
            assert all(same(a, b) for a, b in pairs), column


def test_a_long_series_over_many_blocks_equals_the_polars_expression() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(0.0, 0.01, 200_003)
    values[[10, 70_000]] = np.nan  # an undefined return is no observation (zero)
    values[150_000] = -1.0  # wealth to zero: the rest is a full drawdown
    frame = pl.DataFrame({"returns": values})
    expected = frame.select(drawdown(returns_column("returns")).min()).item()
    assert frame.select(max_drawdown()).item() == expected


@pytest.mark.parametrize("block", [1, 2, 5, 1 << 15])
def test_an_overflowing_path_keeps_the_whole_series_scans_nan_peak(block: int) -> None:
    """Wealth overflowing to inf then hit by a -100% return is NaN: the peak stays NaN after."""
    values = np.array([0.01, -0.5, 1e300, 1e300, -1.0, 0.5, -0.9, 0.1])
    with np.errstate(over="ignore", invalid="ignore"):
        wealth = np.cumprod(values + 1.0)
        peak = np.maximum.accumulate(np.maximum(wealth, 1.0))
        whole = float(np.fmin.reduce(wealth / peak - 1.0))
    with mock.patch.object(scan_module, "BLOCK", block):
        got = pl.DataFrame({"returns": values}).select(max_drawdown()).item()
    assert got == whole == -0.5
