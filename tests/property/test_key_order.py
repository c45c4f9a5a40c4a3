"""The store's key-order check (binary search over sorted series columns) agrees with the
definition: rows sorted by the dataset's sort order with no key repeated. Key columns hold no
nulls by then (validation rejects them)."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from houseedge.data.schemas import spec_of
from houseedge.data.validation import in_key_order, series_bounds

ROW = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(["1d", "1m"]),
    st.integers(0, 4),
)


def frame_of(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"symbol": pl.String, "timeframe": pl.String, "ts": pl.Int64}, orient="row"
    ).with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))


def strictly_increasing(rows: list[tuple[str, str, int]]) -> bool:
    return all(a < b for a, b in itertools.pairwise(rows))


@given(st.lists(ROW, max_size=12), st.booleans())
def test_in_key_order_is_sorted_without_repeats(
    rows: list[tuple[str, str, int]], presort: bool
) -> None:
    if presort:
        rows = sorted(set(rows))
    assert in_key_order(spec_of("bars"), frame_of(rows)) == strictly_increasing(rows)


@given(st.lists(st.sampled_from(["A", "B", "C"]), max_size=12))
def test_series_bounds_are_the_runs_of_a_sorted_column(symbols: list[str]) -> None:
    bounds = series_bounds(pl.DataFrame({"s": symbols}, schema={"s": pl.String}), ["s"])
    if symbols != sorted(symbols):
        assert bounds is None
        return
    starts = [i for i in range(len(symbols)) if i == 0 or symbols[i] != symbols[i - 1]]
    assert bounds == [*starts, len(symbols)]
