"""prepare's target cleaning: nulls, NaN and (without shorts) negatives are flat, then shifted."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from houseedge.core.costs import NO_COSTS
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.errors import PolicyError
from houseedge.research.backtest import prepare


class Given:
    """A policy whose target is the bars' ``given`` column."""

    name, warmup = "given", 0

    def params(self) -> dict[str, Any]:
        return {}

    def target(self) -> pl.Expr:
        return pl.col("given")


def _bars(values: list[float | None], symbols: int = 1) -> pl.DataFrame:
    n = len(values) // symbols
    rows = [(f"S{s}", t, 10.0 + t) for s in range(symbols) for t in range(n)]
    frame = pl.DataFrame(rows, schema=["symbol", "ts", "close"], orient="row")
    return frame.with_columns(
        open=pl.col("close"),
        high=pl.col("close"),
        low=pl.col("close"),
        given=pl.Series(values, dtype=pl.Float64),
    )


def _expected(values: list[float | None], allow_short: bool) -> list[float]:
    out = []
    for value in values:
        flat = value is None or math.isnan(value)
        out.append(0.0 if flat else value if allow_short else max(value, 0.0))  # type: ignore[arg-type]
    return out


CASES = {
    "warm-up nulls": [None, None, 0.5, -1.0, 1.0, 0.0],
    "nulls inside": [0.5, None, -0.5, None, 1.0, None],
    "NaN": [None, float("nan"), 1.0, -0.25, float("nan"), 1.0],
    "all null": [None] * 6,
    "no nulls": [1.0, -1.0, 0.0, 0.25, -0.0, 1.0],
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("allow_short", [True, False])
def test_targets_are_cleaned_then_shifted_one_bar(case: str, allow_short: bool) -> None:
    values = CASES[case]
    frame = prepare(_bars(values), Given(), NO_COSTS, FixedUnits(), allow_short=allow_short)
    target = _expected(values, allow_short)
    assert frame.get_column("target").to_list() == target
    wanted = [0.0, *target[:-1]]
    assert frame.get_column("wanted").to_list() == wanted
    changes = [w != before for w, before in zip(wanted, [0.0, *wanted[:-1]], strict=True)]
    assert frame.get_column("change").to_list() == changes


def test_each_symbol_starts_flat() -> None:
    values = [None, 1.0, 1.0, None, -1.0, -1.0]
    frame = prepare(_bars(values, symbols=2), Given(), NO_COSTS, FixedUnits())
    assert frame.get_column("wanted").to_list() == [0.0, 0.0, 1.0, 0.0, 0.0, -1.0]


@pytest.mark.parametrize("values", [[None, 0.5, 1.5], [0.0, -2.0, 0.0]])
def test_a_target_outside_the_unit_range_names_its_row(values: list[float | None]) -> None:
    bad = next(i for i, v in enumerate(values) if v is not None and abs(v) > 1)
    with pytest.raises(PolicyError, match=f"at row {bad};"):
        prepare(_bars(values), Given(), NO_COSTS, FixedUnits())
