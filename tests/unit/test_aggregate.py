"""Live bar aggregation gives exactly the bars research builds from the same data."""

from __future__ import annotations

import random

import polars as pl
import pytest

from houseedge.core.broker import Quote, Trade
from houseedge.core.types import Bar
from houseedge.data.resample import bars_from_trades, resample_bars
from houseedge.live.aggregate import BarAggregator, Timeframe

SECOND = 10**9
OHLCV = ("symbol", "ts", "open", "high", "low", "close", "volume")
TS = pl.Datetime("ns", "UTC")


def random_trades(seed: int, n: int, *, spacing_s: int) -> list[Trade]:
    rng = random.Random(seed)
    ts = 1_704_067_200 * SECOND  # 2024-01-01
    out: list[Trade] = []
    for _ in range(n):
        ts += rng.randint(0, spacing_s * SECOND)  # ties and exact boundaries happen
        out.append(Trade(symbol=rng.choice("AB"), ts=ts, price=round(rng.uniform(90, 110), 2),
                         size=float(rng.randint(1, 9))))  # fmt: skip
    return out


def aggregate(events: list[Trade] | list[Bar], timeframe: str) -> list[tuple[object, ...]]:
    agg = BarAggregator(timeframe)
    bars = [bar for event in events for bar in agg.update(event)]
    bars += agg.flush(events[-1].ts + 10**20)
    return sorted((b.symbol, b.ts, b.open, b.high, b.low, b.close, b.volume) for b in bars)


def expected(frame: pl.LazyFrame) -> list[tuple[object, ...]]:
    out = frame.select(*OHLCV).with_columns(pl.col("ts").dt.epoch("ns")).collect()
    return sorted(out.rows())


@pytest.mark.parametrize(
    ("timeframe", "spacing_s"),
    [("1m", 20), ("5m", 90), ("1h30m", 900), ("1d", 7_200), ("1w", 86_400), ("1mo", 200_000)],
)
def test_trades_aggregate_to_bars_from_trades(timeframe: str, spacing_s: int) -> None:
    trades = random_trades(11, 1_500, spacing_s=spacing_s)
    frame = pl.DataFrame(
        [(t.symbol, t.ts, t.price, t.size) for t in trades],
        schema={"symbol": pl.String, "ts": pl.Int64, "price": pl.Float64, "size": pl.Float64},
        orient="row",
    ).with_columns(pl.col("ts").cast(TS))
    want = expected(bars_from_trades(frame.lazy(), timeframe))
    assert len(want) > 5
    assert aggregate(trades, timeframe) == want


def test_lower_timeframe_bars_aggregate_to_resample_bars() -> None:
    rng = random.Random(5)
    bars: list[Bar] = []
    for i in range(500):
        if rng.random() < 0.2:
            continue  # gaps: missing minutes
        for symbol in "AB":
            o, c = rng.uniform(90, 110), rng.uniform(90, 110)
            bars.append(Bar(symbol=symbol, timeframe="1m", ts=i * 60 * SECOND, open=o,
                            high=max(o, c) + 1, low=min(o, c) - 1, close=c,
                            volume=float(rng.randint(0, 50))))  # fmt: skip
    frame = pl.DataFrame([{k: getattr(b, k) for k in (*OHLCV, "timeframe")} for b in bars])
    frame = frame.with_columns(pl.col("ts").cast(TS))
    assert aggregate(bars, "15m") == expected(resample_bars(frame.lazy(), "15m"))


def test_a_lower_bar_ending_the_bucket_completes_it_at_once() -> None:
    agg = BarAggregator("5m")
    minute = 60 * SECOND
    out = []
    for i in range(5):
        out += agg.update(Bar(symbol="X", timeframe="1m", ts=i * minute, open=1.0 + i,
                              high=2.0 + i, low=0.5, close=1.5 + i, volume=1.0))  # fmt: skip
    assert [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in out] == [
        (0, 1.0, 6.0, 0.5, 5.5, 5.0)
    ]
    assert agg.partial("X") is None


def test_flush_emits_only_finished_buckets_and_late_events_are_dropped() -> None:
    agg = BarAggregator("1m")
    agg.update(Trade(symbol="A", ts=10 * SECOND, price=10.0, size=1.0))
    agg.update(Trade(symbol="B", ts=70 * SECOND, price=20.0, size=1.0))
    assert agg.update(Quote(symbol="A", ts=71 * SECOND, bid=9.0, ask=11.0)) == []
    assert agg.flush(59 * SECOND) == []
    assert [b.symbol for b in agg.flush(60 * SECOND)] == ["A"]
    partial = agg.partial("B")
    assert partial is not None
    assert partial.close == 20.0
    assert agg.update(Trade(symbol="A", ts=30 * SECOND, price=99.0, size=1.0)) == []
    assert agg.late == 1
    assert agg.partial("A") is None
    assert [b.ts for b in agg.flush(200 * SECOND)] == [60 * SECOND]


@pytest.mark.parametrize(
    "timeframe", ["1s", "7m", "1h", "4h", "1h30m", "1d", "3d", "1w", "2w", "1mo", "2mo", "1q", "1y"]
)
def test_bucket_starts_match_polars_truncate(timeframe: str) -> None:
    rng = random.Random(timeframe)
    stamps = [rng.randint(-(10**18), 3 * 10**18) for _ in range(300)]
    frame = Timeframe.parse(timeframe)
    series = pl.Series(stamps).cast(TS)
    truncated = series.dt.truncate(timeframe).dt.epoch("ns").to_list()
    assert [frame.start(t) for t in stamps] == truncated
    assert all(frame.start(t) <= t < frame.end(t) for t in stamps)
    assert all(frame.start(frame.end(t)) == frame.end(t) for t in stamps)


@pytest.mark.parametrize("bad", ["", "5", "m", "1mo1d", "0m", "1x"])
def test_bad_timeframes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="timeframe"):
        Timeframe.parse(bad)
