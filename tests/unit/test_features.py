from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from houseedge.core.features import indicators as f
from houseedge.errors import PolicyError


def _walk(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.cumprod(1.0 + rng.normal(0.0, 0.02, n))
    spread = np.abs(rng.normal(0.0, 0.01, n)) * close
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    return pl.DataFrame({"open": open_, "high": high, "low": low, "close": close})


def _col(frame: pl.DataFrame, expr: pl.Expr) -> np.ndarray:
    return frame.select(expr.cast(pl.Float64)).to_series().to_numpy()


def _ref_sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for t in range(n - 1, len(x)):
        out[t] = x[t - n + 1 : t + 1].mean()
    return out


def _ref_recursive(x: np.ndarray, n: int, alpha: float, start: int) -> np.ndarray:
    # Seeded with the mean of the n values ending at `start`, as TA-Lib and backtrader do.
    out = np.full(len(x), np.nan)
    if start < len(x):
        out[start] = x[start - n + 1 : start + 1].mean()
    for t in range(start + 1, len(x)):
        out[t] = (1 - alpha) * out[t - 1] + alpha * x[t]
    return out


def _ref_rsi(close: np.ndarray, n: int) -> np.ndarray:
    change = np.diff(close, prepend=np.nan)
    gain = _ref_recursive(np.clip(change, 0, None), n, 1 / n, n)
    loss = _ref_recursive(np.clip(-change, 0, None), n, 1 / n, n)
    return 100 * gain / (gain + loss)


def test_moving_averages_match_loop_references() -> None:
    frame = _walk(120)
    close = frame["close"].to_numpy()
    np.testing.assert_allclose(_col(frame, f.sma("close", 7)), _ref_sma(close, 7), rtol=1e-12)
    weights = np.arange(1, 6, dtype=float)
    wma = [np.nan] * 4 + [close[t - 4 : t + 1] @ weights / weights.sum() for t in range(4, 120)]
    np.testing.assert_allclose(_col(frame, f.wma("close", 5)), wma, rtol=1e-12)
    ema = _ref_recursive(close, 10, 2 / 11, 9)
    np.testing.assert_allclose(_col(frame, f.ema("close", 10)), ema, rtol=1e-12)


def test_ema_first_seed_starts_on_the_first_value() -> None:
    frame = pl.DataFrame({"x": [4.0, 1.0, 7.0]})
    alpha = 0.5
    expected = [4.0, 4.0 * (1 - alpha) + 1.0 * alpha]
    expected.append(expected[-1] * (1 - alpha) + 7.0 * alpha)
    assert frame.select(f.ema("x", 3, seed="first")).to_series().to_list() == expected
    with pytest.raises(ValueError, match="seed"):
        f.ema("x", 3, seed="bogus")  # type: ignore[arg-type]


def test_ema_seed_skips_leading_nulls_of_its_input() -> None:
    frame = pl.DataFrame({"close": [1.0, 2.0, 4.0, 8.0]})
    got = frame.select(f.ema(f.returns("close"), 2)).to_series().to_list()
    # returns are [null, 1, 1, 1]: the seed is the mean of the first two returns, on bar 2.
    assert got == [None, None, 1.0, 1.0]


def test_rsi_and_atr_use_wilder_smoothing() -> None:
    frame = _walk(80)
    close = frame["close"].to_numpy()
    np.testing.assert_allclose(_col(frame, f.rsi("close", 14)), _ref_rsi(close, 14), rtol=1e-10)
    prev = np.concatenate([[np.nan], close[:-1]])
    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    tr = np.maximum.reduce([high - low, np.abs(high - prev), np.abs(low - prev)])
    np.testing.assert_allclose(_col(frame, f.true_range()), tr, rtol=1e-12)
    np.testing.assert_allclose(_col(frame, f.atr(n=5)), _ref_recursive(tr, 5, 0.2, 5), rtol=1e-12)


def test_rsi_edges_flat_is_neutral_and_rising_is_100() -> None:
    frame = pl.DataFrame({"flat": [5.0] * 6, "up": [1.0, 2, 3, 4, 5, 6]})
    assert frame.select(f.rsi("flat", 3)).to_series().to_list()[3:] == [50.0] * 3
    assert frame.select(f.rsi("up", 3)).to_series().to_list()[3:] == [100.0] * 3


def test_volatility_zscore_and_bollinger_match_numpy() -> None:
    frame = _walk(60)
    close = frame["close"].to_numpy()
    ret = close[1:] / close[:-1] - 1
    vol = [np.nan] * 10 + [np.std(ret[t - 10 : t], ddof=1) for t in range(10, 60)]
    got = _col(frame, f.rolling_volatility(f.returns("close"), 10, periods_per_year=252))
    np.testing.assert_allclose(got, np.array(vol) * math.sqrt(252), rtol=1e-10)
    z = [np.nan] * 4 + [
        (close[t] - close[t - 4 : t + 1].mean()) / np.std(close[t - 4 : t + 1], ddof=1)
        for t in range(4, 60)
    ]
    np.testing.assert_allclose(_col(frame, f.zscore("close", 5)), z, rtol=1e-10)
    bands = frame.select(f.bollinger("close", 5, 2.5).alias("bb")).unnest("bb")
    std = np.array([np.nan] * 4 + [np.std(close[t - 4 : t + 1]) for t in range(4, 60)])
    mid = _ref_sma(close, 5)
    np.testing.assert_allclose(bands["middle"].to_numpy(), mid, rtol=1e-12)
    np.testing.assert_allclose(bands["upper"].to_numpy(), mid + 2.5 * std, rtol=1e-12)
    np.testing.assert_allclose(bands["lower"].to_numpy(), mid - 2.5 * std, rtol=1e-12)


def test_flat_prices_give_zero_deviation_not_nan() -> None:
    frame = pl.DataFrame({"close": [1e6 + 0.1] * 8})
    bands = frame.select(f.bollinger("close", 4).alias("bb")).unnest("bb")
    assert bands["upper"].to_list()[3:] == bands["middle"].to_list()[3:]
    assert frame.select(f.zscore("close", 4)).to_series().null_count() == 8


def _window_mismatches(frame: pl.DataFrame, expr: pl.Expr, n: int) -> list[int]:
    full = frame.select(expr).to_series()
    return [
        end
        for end in range(n, frame.height + 1)
        if frame.slice(end - n, n).select(expr).to_series()[-1] != full[end - 1]
    ]


def test_window_features_reproduce_from_the_window_alone() -> None:
    # Cent prices: a running sum leaves rounding behind after values leave the window, so a
    # plain rolling mean evaluated on the window alone differs in the last bits on some bars.
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": np.round(100 * np.cumprod(1 + rng.normal(0, 0.02, 60)), 2)})
    assert _window_mismatches(frame, pl.col("x").rolling_mean(3), 3)
    exprs = [f.sma("x", 3), f.wma("x", 3), f.zscore("x", 3), f.rolling_volatility("x", 3)]
    for expr in [*exprs, f.bollinger("x", 3).struct.field("lower")]:
        assert _window_mismatches(frame, expr, 3) == []


def test_windows_with_nulls_are_null() -> None:
    frame = pl.DataFrame({"x": [1.0, None, 3.0, 4.0, 5.0]})
    assert frame.select(f.sma("x", 2)).to_series().to_list() == [None, None, None, 3.5, 4.5]
    assert frame.select(f.rolling_volatility("x", 2)).to_series().null_count() == 3


def test_returns_and_rolling_extremes() -> None:
    frame = pl.DataFrame({"x": [1.0, 2.0, 4.0, 3.0]})
    assert frame.select(f.returns("x", 2)).to_series().to_list() == [None, None, 3.0, 0.5]
    logs = frame.select(f.log_returns("x")).to_series().to_list()
    assert logs[1:] == pytest.approx([math.log(2), math.log(2), math.log(0.75)])
    assert frame.select(f.rolling_high("x", 3)).to_series().to_list() == [None, None, 4.0, 4.0]
    assert frame.select(f.rolling_low("x", 3)).to_series().to_list() == [None, None, 1.0, 2.0]


def test_swings_are_flagged_k_bars_late_and_need_strict_extremes() -> None:
    frame = pl.DataFrame({"high": [1.0, 3.0, 2.0, 1.0, 2.0, 2.0, 1.0, 0.5]})
    flags = frame.select(f.swing_high("high", 2)).to_series().to_list()
    # Bar 1 (3.0) lacks two bars before it; the tie 2.0, 2.0 at bars 4-5 is no pivot.
    assert flags == [None, None, None, None, False, False, False, False]
    frame = pl.DataFrame({"high": [1.0, 2.0, 5.0, 4.0, 3.0, 6.0], "low": [5.0, 4.0, 1.0, 2, 3, 4]})
    assert frame.select(f.swing_high("high", 2)).to_series().to_list()[4] is True
    assert frame.select(f.swing_low("low", 2)).to_series().to_list()[4] is True


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_window_lengths_are_validated(bad: object) -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        f.sma("x", bad)  # type: ignore[arg-type]


def _stamps(*hours_utc: tuple[int, int, int, int]) -> pl.DataFrame:
    ts = [datetime(2024, m, d, h, mi, tzinfo=UTC) for m, d, h, mi in hours_utc]
    return pl.DataFrame({"ts": ts}).with_columns(pl.col("ts").dt.cast_time_unit("ns"))


def test_time_of_day_follows_the_time_zone_and_dst() -> None:
    # 14:30 UTC is 09:30 in New York in winter (EST) and 10:30 in summer (EDT).
    frame = _stamps((1, 8, 14, 30), (7, 8, 14, 30))
    assert frame.select(f.minute_of_day()).to_series().to_list() == [870, 870]
    ny = frame.select(f.minute_of_day(tz="America/New_York")).to_series().to_list()
    assert ny == [570, 630]
    assert frame.select(f.day_of_week()).to_series().to_list() == [1, 1]


def test_session_open_handles_bounds_weekends_and_overnight_sessions() -> None:
    frame = _stamps((1, 8, 14, 29), (1, 8, 14, 30), (1, 8, 20, 59), (1, 8, 21, 0), (1, 6, 15, 0))
    assert frame.select(f.session_open()).to_series().to_list() == [False, True, True, False, False]
    overnight = f.session_open(tz="UTC", start="22:00", end="06:00", weekdays=range(1, 8))
    night = _stamps((1, 8, 23, 0), (1, 9, 5, 59), (1, 9, 6, 0), (1, 9, 12, 0))
    assert night.select(overnight).to_series().to_list() == [True, True, False, False]
    with pytest.raises(ValueError, match="HH:MM"):
        f.session_open(start="9h30")


def _hourly(symbol: str, start: datetime, closes: list[float]) -> pl.DataFrame:
    ts = [start + timedelta(hours=i) for i in range(len(closes))]
    return pl.DataFrame(
        {"symbol": symbol, "timeframe": "1h", "ts": ts, "close": closes}
    ).with_columns(pl.col("ts").dt.cast_time_unit("ns"))


def _four_hourly(hourly: pl.DataFrame) -> pl.DataFrame:
    return (
        hourly.group_by_dynamic("ts", every="4h", group_by="symbol")
        .agg(pl.col("close").last())
        .with_columns(timeframe=pl.lit("4h"))
    )


def test_higher_timeframe_join_uses_only_closed_bars() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hourly = pl.concat(
        [_hourly("A", start, [float(i) for i in range(10)]), _hourly("B", start, [50.0] * 10)]
    )
    out = f.join_higher_timeframe(hourly, _four_hourly(hourly), higher_timeframe="4h")
    a = out.filter(pl.col("symbol") == "A")
    # The 00:00-04:00 bar closes at 04:00, the close of the 03:00 hourly bar (close 3.0).
    assert a["close_4h"].to_list() == [None, None, None, 3.0, 3.0, 3.0, 3.0, 7.0, 7.0, 7.0]
    assert out.filter(pl.col("symbol") == "B")["close_4h"].drop_nulls().unique().to_list() == [50.0]
    closed_by = a["ts_4h"] + timedelta(hours=4)
    assert ((closed_by <= a["ts"] + timedelta(hours=1)) | closed_by.is_null()).all()
    assert {"timeframe_4h", "symbol"} <= set(out.columns)
    assert "symbol_4h" not in out.columns


def test_higher_timeframe_join_keeps_laziness_and_names() -> None:
    hourly = _hourly("A", datetime(2024, 1, 1, tzinfo=UTC), [1.0, 2.0, 3.0, 4.0, 5.0])
    higher = _four_hourly(hourly)
    lazy = f.join_higher_timeframe(
        hourly.lazy().drop("timeframe"),
        higher,
        higher_timeframe="4h",
        lower_timeframe="1h",
        suffix="_h",
    )
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect()["close_h"].to_list() == [None, None, None, 4.0, 4.0]
    with pytest.raises(ValueError, match="timeframe"):
        f.join_higher_timeframe(hourly, higher, higher_timeframe="4 hours")


def test_pipeline_orders_dependencies_into_stages() -> None:
    features = {
        "sig": f.sma("ret", 2) > 0,
        "ret": f.returns("close"),
        "level": pl.col("close") * 2,
        "both": pl.col("sig") & (pl.col("level") > 2),
    }
    fs = f.pipeline(features)
    assert fs.order == (("ret", "level"), ("sig",), ("both",))
    frame = pl.DataFrame({"close": [1.0, 2.0, 3.0, 2.0]})
    out = fs.apply(frame)
    expected = frame.with_columns(ret=f.returns("close"), level=pl.col("close") * 2)
    expected = expected.with_columns(sig=f.sma("ret", 2) > 0)
    expected = expected.with_columns(both=pl.col("sig") & (pl.col("level") > 2))
    assert_frame_equal(out, expected)
    assert_frame_equal(fs.apply(frame.lazy()).collect(), expected)


def test_pipeline_rejects_cycles_and_unknown_columns() -> None:
    with pytest.raises(PolicyError, match="cycle: a, b, c"):
        f.pipeline({"a": pl.col("b"), "b": pl.col("c"), "c": pl.col("a") + 1})
    fs = f.pipeline({"a": pl.col("close") + pl.col("nope")})
    with pytest.raises(PolicyError, match="nope"):
        fs.apply(pl.DataFrame({"close": [1.0]}))


def test_pipeline_feature_may_replace_its_input_column() -> None:
    fs = f.pipeline({"close": pl.col("close").fill_null(strategy="forward"), "d": pl.col("close")})
    out = fs.apply(pl.DataFrame({"close": [1.0, None, 2.0]}))
    assert_series_equal(out["d"], pl.Series("d", [1.0, 1.0, 2.0]))
    assert fs.inputs() == {"close"}
