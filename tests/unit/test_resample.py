"""Resampling conventions against a plain-Python reference."""

from __future__ import annotations

import datetime as dt

import polars as pl

from houseedge.data.resample import bars_from_trades, resample_bars
from houseedge.data.synthetic import synthetic_bars


def reference(bars: pl.DataFrame, seconds: int) -> list[tuple[object, ...]]:
    buckets: dict[tuple[str, int], list[dict[str, object]]] = {}
    for row in bars.sort("symbol", "ts").iter_rows(named=True):
        ts = row["ts"]
        start = int(ts.timestamp()) // seconds * seconds
        buckets.setdefault((row["symbol"], start), []).append(row)
    out = []
    for (symbol, start), rows in sorted(buckets.items()):
        out.append(
            (
                symbol,
                start,
                rows[0]["open"],
                max(r["high"] for r in rows),
                min(r["low"] for r in rows),
                rows[-1]["close"],
                sum(r["volume"] for r in rows),
            )
        )
    return out


def test_hourly_bars_match_the_reference_for_every_symbol() -> None:
    minute = synthetic_bars(["A", "B"], periods=300, timeframe="1m", start="2024-03-01T00:17")
    got = resample_bars(minute.lazy(), "1h").collect()
    rows = [
        (
            r["symbol"],
            int(r["ts"].timestamp()),
            r["open"],
            r["high"],
            r["low"],
            r["close"],
            r["volume"],
        )
        for r in got.iter_rows(named=True)
    ]
    expected = reference(minute, 3600)
    assert [r[:6] for r in rows] == [r[:6] for r in expected]
    assert all(abs(a[6] - b[6]) < 1e-6 for a, b in zip(rows, expected, strict=True))
    assert got["timeframe"].unique().to_list() == ["1h"]
    assert got["ts"].dtype == pl.Datetime("ns", "UTC")


def test_daily_buckets_follow_the_local_wall_clock_across_dst() -> None:
    hours = pl.datetime_range(
        dt.datetime(2024, 3, 9, 5, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 11, 3, tzinfo=dt.UTC),
        "1h",
        eager=True,
    )
    bars = pl.DataFrame(
        {
            "symbol": "X",
            "ts": hours.dt.cast_time_unit("ns"),
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 1.0,
        }
    )
    got = resample_bars(bars.lazy(), "1d", tz="America/New_York").collect()
    # New York midnight is 05:00 UTC before the 10 March DST change and 04:00 UTC after.
    assert [t.isoformat() for t in got["ts"]] == [
        "2024-03-09T05:00:00+00:00",
        "2024-03-10T05:00:00+00:00",
    ]
    assert got["volume"].to_list() == [24.0, 23.0]


def test_bars_from_trades_have_vwap_and_counts() -> None:
    ticks = pl.DataFrame(
        {
            "symbol": ["X"] * 4,
            "ts": [0, 10, 59, 60],
            "price": [10.0, 11.0, 9.0, 12.0],
            "size": [1.0, 1.0, 2.0, 5.0],
        }
    ).with_columns(pl.col("ts").mul(10**9).cast(pl.Datetime("ns", "UTC")))
    got = bars_from_trades(ticks.lazy(), "1m").collect()
    assert got.select("open", "high", "low", "close", "volume", "vwap", "trades").rows() == [
        (10.0, 11.0, 9.0, 9.0, 4.0, 9.75, 3),
        (12.0, 12.0, 12.0, 12.0, 5.0, 12.0, 1),
    ]
