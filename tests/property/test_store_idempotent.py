"""Idempotent ingest: any split of the same rows, written in any order and any number of times,
leaves exactly the de-duplicated union in the store."""

from __future__ import annotations

import tempfile

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.data.store import Store

DAY = 86_400 * 10**9


def bars_for(symbol: str, days: list[int], bump: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": symbol,
            "timeframe": "1d",
            "ts": [d * DAY for d in days],
            "open": [100.0 + d for d in days],
            "high": [102.0 + d + bump for d in days],
            "low": [99.0 + d for d in days],
            "close": [101.0 + d for d in days],
            "volume": [float(d) for d in days],
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))


chunks = st.lists(
    st.tuples(
        st.sampled_from(["A", "B/C"]),
        st.lists(st.integers(0, 800), min_size=1, max_size=30, unique=True),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None)
@given(chunks=chunks, order=st.randoms(use_true_random=False))
def test_any_split_and_order_gives_the_union_and_rewrites_change_nothing(
    chunks: list[tuple[str, list[int]]], order: object
) -> None:
    frames = [bars_for(symbol, sorted(days), 0.0) for symbol, days in chunks]
    expected = pl.concat(frames).unique(["symbol", "ts"]).sort("symbol", "ts")
    with tempfile.TemporaryDirectory() as root:
        store = Store(root)
        shuffled = list(frames)
        order.shuffle(shuffled)  # type: ignore[attr-defined]
        for frame in shuffled:
            store.write("bars", frame)
        got = store.read("bars").select(expected.columns).sort("symbol", "ts")
        assert got.equals(expected)
        again = [store.write("bars", frame).rows_added for frame in frames]
        assert again == [0] * len(frames)
        assert store.read("bars").select(expected.columns).sort("symbol", "ts").equals(expected)
