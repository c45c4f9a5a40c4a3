"""Hypothesis strategies shared by the property suites."""

from __future__ import annotations

import polars as pl
from hypothesis import strategies as st

# Few distinct prices: averages tie often, so zero targets (sign 0) are drawn too.
price = st.one_of(
    st.sampled_from([99.0, 100.0, 101.0]),
    st.floats(min_value=50.0, max_value=150.0).map(lambda v: round(v, 2)),
)


def ohlc(
    draw: st.DrawFn, n: int, prices: st.SearchStrategy[float], wicks: list[float]
) -> pl.DataFrame:
    """Draw ``n`` valid bars (0 <= low <= open, close <= high): columns open, high, low, close."""
    rows = []
    for _ in range(n):
        open_, close = draw(prices), draw(prices)
        high = max(open_, close) + draw(st.sampled_from(wicks))
        low = max(min(open_, close) - draw(st.sampled_from(wicks)), 0.0)
        rows.append((open_, high, low, close))
    return pl.DataFrame(rows, schema=["open", "high", "low", "close"], orient="row")


@st.composite
def hourly_bars(draw: st.DrawFn, min_size: int = 2, max_size: int = 70) -> pl.DataFrame:
    """Draw valid hourly bars (low <= open, close <= high) with columns ts, open/high/low/close."""
    frame = ohlc(draw, draw(st.integers(min_size, max_size)), price, [0.0, 0.5, 3.0])
    return frame.with_columns(ts=pl.int_range(pl.len()) * 3_600)
