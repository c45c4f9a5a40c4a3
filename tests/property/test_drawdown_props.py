"""max_drawdown and calmar_ratio (one NumPy pass) equal the Polars drawdown expression exactly."""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.research._metric_inputs import compound_annual, returns_column
from houseedge.research.drawdown import drawdown, drawdown_depth, max_drawdown
from houseedge.research.return_metrics import calmar_ratio

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
@given(st.lists(RETURN, max_size=60), st.integers(1, 4))
def test_worst_drawdown_is_the_min_of_the_drawdown_series(
    values: list[float | None], groups: int
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
    for expected, got in (
        (frame.select(exprs), frame.select(ours)),
        (frame.group_by("g").agg(exprs).sort("g"), frame.group_by("g").agg(ours).sort("g")),
    ):
        for column in ("w", "d", "c"):
            pairs = zip(expected[column].to_list(), got[column].to_list(), strict=True)
            assert all(same(a, b) for a, b in pairs), column
