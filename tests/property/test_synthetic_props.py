from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.data.synthetic import synthetic_bars, synthetic_trades
from houseedge.data.validation import validate

SETTINGS = settings(max_examples=40, deadline=None)

seeds = st.integers(min_value=0, max_value=2**63)
starts = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
grids = st.sampled_from(["24/7", "equity"]).flatmap(
    lambda session: st.tuples(
        st.just(session),
        st.sampled_from(
            ["1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d"]
            if session == "24/7"
            else ["1m", "5m", "15m", "1h", "1d"]
        ),
    )
)


@SETTINGS
@given(seed=seeds, start=starts, grid=grids, periods=st.integers(0, 400), count=st.integers(1, 3))
def test_any_bars_are_valid_and_start_at_or_after_start(
    seed: int, start: datetime, grid: tuple[str, str], periods: int, count: int
) -> None:
    session, timeframe = grid
    bars = synthetic_bars(
        count, start=start, periods=periods, timeframe=timeframe, seed=seed, session=session
    )  # type: ignore[arg-type]
    assert validate("bars", bars, check_order=True).height == count * periods
    if periods:
        assert bars["ts"].min() >= start


@SETTINGS
@given(seed=seeds, grid=grids, periods=st.integers(1, 300), extra=st.integers(1, 300))
def test_more_periods_and_more_symbols_leave_earlier_bars_unchanged(
    seed: int, grid: tuple[str, str], periods: int, extra: int
) -> None:
    session, timeframe = grid
    args = {"timeframe": timeframe, "seed": seed, "session": session, "with_regime": True}
    small = synthetic_bars(["B"], periods=periods, **args)  # type: ignore[arg-type]
    large = synthetic_bars(["A", "B", "C"], periods=periods + extra, **args)  # type: ignore[arg-type]
    assert large.filter(pl.col("symbol") == "B").head(periods).equals(small)


@SETTINGS
@given(seed=seeds, symbol=st.text(min_size=1, max_size=8), periods=st.integers(0, 300))
def test_any_trades_are_valid(seed: int, symbol: str, periods: int) -> None:
    trades = synthetic_trades(symbol, periods=periods, seed=seed)
    assert validate("trades", trades, check_order=True).height == periods
