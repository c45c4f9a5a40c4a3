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


# Closes built to make targets tie: a cent grid (ties and equal averages are common), prices over
# many magnitudes, and decimals whose float sums round (0.1 + 0.3 + 0.2 > 0.6), so averages tie
# only when summed exactly.
CENTS = st.integers(9_990, 10_010).map(lambda c: c / 100)
WIDE = st.floats(1e-3, 1e9, allow_nan=False).map(lambda p: float(f"{p:.6g}"))
TIES = st.sampled_from([0.1, 0.2, 0.3, 0.6, 0.7, 1.1, 2.2, 3.3])
SPREADS = [0.0, 0.01, 0.5]


@st.composite
def tied_bars(draw: st.DrawFn, min_size: int = 1, max_size: int = 80) -> pl.DataFrame:
    """Draw one symbol's bars (columns ts, open, high, low, close, volume) where targets tie.

    Prices from one of :data:`CENTS`, :data:`WIDE`, :data:`TIES` or :data:`price`, often held
    flat for a few bars. Either the close is the open and the wicks are two fixed spreads, or
    open and close are drawn apart (:func:`ohlc`).
    """
    prices = draw(st.sampled_from([CENTS, WIDE, TIES, price]))
    n = draw(st.integers(min_size, max_size))
    if draw(st.booleans()):
        frame = ohlc(draw, n, prices, SPREADS)
    else:
        closes: list[float] = []
        while len(closes) < n:  # flat runs of 1 to 4 bars
            closes += [draw(prices)] * draw(st.sampled_from([1, 1, 2, 4]))
        up, down = draw(st.sampled_from(SPREADS)), draw(st.sampled_from(SPREADS))
        frame = pl.DataFrame({"close": closes[:n]}).select(
            open="close", high=pl.col("close") + up, low=pl.col("close") - down, close="close"
        )
    return frame.with_columns(ts=pl.int_range(pl.len()), volume=pl.lit(1.0)).select(
        "ts", "open", "high", "low", "close", "volume"
    )
