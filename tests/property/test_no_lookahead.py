"""No look-ahead: features and policies computed on a prefix equal the prefix of the full result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from houseedge.core.features import indicators as f
from houseedge.core.policies.builtin import (
    BollingerReversion,
    BuyAndHold,
    DonchianBreakout,
    EmaCross,
    FixedWeights,
    RsiReversion,
    SmaCross,
    VolTargetTrend,
)
from tests.property.strategies import ohlc

FEATURES: dict[str, pl.Expr] = {
    "ret": f.returns("close"),
    "log_ret": f.log_returns("close", 2),
    "sma": f.sma("close", 4),
    "wma": f.wma("close", 3),
    "ema": f.ema("close", 4),
    "ema_first": f.ema("close", 3, seed="first"),
    "rsi": f.rsi("close", 3),
    "tr": f.true_range(),
    "atr": f.atr(n=3),
    "bands": f.bollinger("close", 4, 1.5),
    "z": f.zscore("close", 4),
    "vol": f.rolling_volatility(f.returns("close"), 3, periods_per_year=252),
    "hi": f.rolling_high("high", 3),
    "lo": f.rolling_low("low", 3),
    "swing_hi": f.swing_high("high", 2),
    "swing_lo": f.swing_low("low", 2),
    "minute": f.minute_of_day(tz="America/New_York"),
    "weekday": f.day_of_week(tz="Asia/Tokyo"),
    "session": f.session_open(),
}

POLICIES: list[Any] = [
    SmaCross(2, 5),
    SmaCross(1, 4, "long_short"),
    SmaCross(2, 4, "long_short", "cross"),
    EmaCross(2, 5, "long_short"),
    EmaCross(1, 3, signal="cross"),
    DonchianBreakout(4, 2, "long_short"),
    RsiReversion(3, 30, 70),
    RsiReversion(3, 40, 60, "long_short"),
    BollingerReversion(4, 1.0, "long_short"),
    BuyAndHold(),
    FixedWeights({"X": 0.3}),
    VolTargetTrend(3, 4, target_vol=0.2, periods_per_year=252, mode="long_short"),
    VolTargetTrend(5, 2, target_vol=0.5, periods_per_year=12, max_leverage=0.5),
]
BOUNDED = [p for p in POLICIES if not p.unbounded_state]

# Cent prices from a short list make ties (flat runs, fast == slow) common, as in real data.
price = st.one_of(
    st.sampled_from([1.0, 1.01, 1.02, 99.99, 100.0]),
    st.floats(min_value=0.01, max_value=1e5, allow_nan=False).map(lambda v: round(v, 2)),
)


@st.composite
def bars(draw: st.DrawFn, min_size: int = 1, max_size: int = 40) -> pl.DataFrame:
    """Draw valid OHLCV bars (low <= open, close <= high) on an hourly clock."""
    n = draw(st.integers(min_size, max_size))
    volume = pl.Series("volume", [draw(st.floats(0, 1e6)) for _ in range(n)], dtype=pl.Float64)
    frame = ohlc(draw, n, price, [0.0, 0.01, 0.5]).with_columns(volume)
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 10_000)))
    ts = pl.datetime_range(start, start + timedelta(hours=n - 1), "1h", eager=True)
    return frame.with_columns(symbol=pl.lit("X"), timeframe=pl.lit("1h"), ts=ts).with_columns(
        pl.col("ts").dt.cast_time_unit("ns")
    )


def _features(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(expr.alias(name) for name, expr in FEATURES.items())


def _targets(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(p.target().alias(f"{i}_{p.name}") for i, p in enumerate(POLICIES))


@settings(max_examples=60, deadline=None)
@given(frame=bars(), cut=st.floats(0, 1))
def test_features_on_a_prefix_equal_the_prefix_of_the_full_features(
    frame: pl.DataFrame, cut: float
) -> None:
    k = int(cut * frame.height)
    assert_frame_equal(_features(frame.head(k)), _features(frame).head(k), check_exact=True)


@settings(max_examples=60, deadline=None)
@given(frame=bars(), cut=st.floats(0, 1))
def test_policies_on_a_prefix_equal_the_prefix_of_the_full_targets(
    frame: pl.DataFrame, cut: float
) -> None:
    k = int(cut * frame.height)
    full = _targets(frame)
    assert_frame_equal(_targets(frame.head(k)), full.head(k), check_exact=True)
    values = full.unpivot().drop_nulls()["value"]
    assert values.is_between(-1.0, 1.0).all()


@settings(max_examples=40, deadline=None)
@given(frame=bars(min_size=2, max_size=40), cut=st.floats(0, 1))
def test_pipeline_on_a_prefix_equals_the_prefix(frame: pl.DataFrame, cut: float) -> None:
    fs = f.pipeline({"sig": f.ema("ret", 3) - f.sma("ret", 2), "ret": f.returns("close")})
    k = int(cut * frame.height)
    assert_frame_equal(fs.apply(frame.head(k)), fs.apply(frame).head(k), check_exact=True)


@settings(max_examples=40, deadline=None)
@given(frame=bars(min_size=1, max_size=40), cut=st.floats(0, 1))
def test_higher_timeframe_values_come_from_closed_bars_only(
    frame: pl.DataFrame, cut: float
) -> None:
    higher = (
        frame.group_by_dynamic("ts", every="4h", group_by="symbol")
        .agg(pl.col("high").max(), pl.col("close").last())
        .with_columns(timeframe=pl.lit("4h"))
    )
    joined = f.join_higher_timeframe(frame, higher, higher_timeframe="4h")
    k = int(cut * frame.height)
    # Any higher bar still forming at a lower bar's close must not change what it sees.
    assert_frame_equal(f.join_higher_timeframe(frame.head(k), higher, higher_timeframe="4h"),
                       joined.head(k), check_exact=True)  # fmt: skip
    seen = joined.filter(pl.col("ts_4h").is_not_null())
    closed = seen["ts_4h"] + timedelta(hours=4) <= seen["ts"] + timedelta(hours=1)
    assert closed.all()
    # A 4h bar's close is the close of the hourly bar that ends it, at or before this bar.
    ends = frame.filter((pl.col("ts").dt.hour() % 4) == 3).select("ts", "close")
    assert set(seen["close_4h"].to_list()) <= set(ends["close"].to_list())


@settings(max_examples=60, deadline=None)
@given(frame=bars(min_size=1, max_size=40))
def test_bounded_warmup_window_gives_the_full_history_value(frame: pl.DataFrame) -> None:
    for policy in BOUNDED:
        size = policy.warmup + 1
        if frame.height < size:
            continue
        full = frame.select(policy.target()).to_series()
        window = frame.tail(size).select(policy.target()).to_series()
        assert window[-1] == full[-1], policy


@settings(max_examples=30, deadline=None)
@given(frame=bars(min_size=1, max_size=30))
def test_warmup_marks_exactly_where_every_target_starts(frame: pl.DataFrame) -> None:
    for policy in POLICIES:
        target = frame.select(policy.target()).to_series()
        assert target.head(policy.warmup).null_count() == min(policy.warmup, frame.height)
        if frame.height > policy.warmup:
            assert target[policy.warmup] is not None, policy
