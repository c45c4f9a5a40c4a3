"""Build higher-timeframe bars from lower ones, and bars from trades.

Convention
    Buckets are **left-closed** ``[start, start + every)`` and a bar is **labelled by its open
    time** (the bucket start), in UTC. A bucket holds the bars whose *open* time falls in it, so
    a 1-minute bar labelled 09:59 belongs to the 09:00 hourly bar. With ``tz`` the buckets are
    aligned to that zone's wall clock (a ``"1d"`` bar in ``America/New_York`` runs from local
    midnight to local midnight, across DST changes) and the label is still stored in UTC.
    ``offset`` shifts the bucket boundaries (``"9h30m"`` aligns daily buckets to a 09:30 session
    open). Only buckets that contain at least one input bar are emitted (no fabricated bars).

Aggregation rules: open = first open, high = max high, low = min low, close = last close,
volume = sum, vwap = volume-weighted vwap (or close when the input has no vwap), trades = sum
(or the number of input rows).

Examples
--------
>>> import polars as pl
>>> minute = pl.DataFrame({"symbol": "X", "timeframe": "1m",
...     "ts": pl.datetime_range(pl.datetime(2024, 1, 1, 9, 58, time_zone="UTC"),
...         pl.datetime(2024, 1, 1, 10, 1, time_zone="UTC"), "1m", eager=True),
...     "open": [1.0, 2.0, 3.0, 4.0], "high": [1.5, 2.5, 3.5, 4.5], "low": [0.5, 1.5, 2.5, 3.5],
...     "close": [1.2, 2.2, 3.2, 4.2], "volume": [1.0, 1.0, 1.0, 1.0]})
>>> hourly = resample_bars(minute.lazy(), "1h").collect()
>>> hourly.select("ts", "open", "high", "low", "close", "volume").rows()[1]
(datetime.datetime(2024, 1, 1, 10, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 3.0, 4.5, 2.5, 4.2, 2.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

TS = pl.Datetime("ns", "UTC")


def _dynamic(
    frame: pl.LazyFrame,
    every: str,
    by: Sequence[str],
    tz: str | None,
    offset: str | None,
    aggs: Sequence[pl.Expr],
) -> pl.LazyFrame:
    index = "ts"
    if tz is not None:
        # Buckets follow the zone's wall clock; the label goes back to UTC below.
        index = "_local_ts"
        frame = frame.with_columns(_local_ts=pl.col("ts").dt.convert_time_zone(tz))
    grouped = (
        frame.sort([*by, index])
        .group_by_dynamic(
            index,
            every=every,
            period=every,
            offset=offset,
            closed="left",
            label="left",
            group_by=list(by),
            start_by="window",
        )
        .agg(aggs)
    )
    if index != "ts":
        grouped = grouped.drop("ts", strict=False).rename({index: "ts"})
    return grouped.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("ns"))


def resample_bars(
    bars: pl.LazyFrame,
    every: str,
    *,
    by: Sequence[str] = ("symbol",),
    tz: str | None = None,
    offset: str | None = None,
    timeframe: str | None = None,
) -> pl.LazyFrame:
    """Aggregate bars into buckets of ``every`` (a Polars duration: ``"1h"``, ``"1d"``).

    Parameters
    ----------
    bars
        Bars of one timeframe (filter first when the frame holds several).
    every
        Bucket length.
    by
        Columns that identify a series.
    tz
        Time zone whose wall clock aligns the buckets; UTC when omitted.
    offset
        Shift of bucket boundaries.
    timeframe
        Label of the output ``timeframe`` column; ``every`` when omitted.
    """
    names = bars.collect_schema().names()
    vwap = (
        (pl.col("vwap") * pl.col("volume")).sum() / pl.col("volume").sum()
        if "vwap" in names
        else (pl.col("close") * pl.col("volume")).sum() / pl.col("volume").sum()
    )
    aggs = [
        pl.col("open").first(),
        pl.col("high").max(),
        pl.col("low").min(),
        pl.col("close").last(),
        pl.col("volume").sum(),
        pl.when(pl.col("volume").sum() > 0)
        .then(vwap)
        .otherwise(pl.col("close").last())
        .alias("vwap"),
        (pl.col("trades").sum() if "trades" in names else pl.len().cast(pl.Int64)).alias("trades"),
    ]
    out = _dynamic(bars, every, by, tz, offset, aggs)
    return out.select(
        *by,
        pl.lit(timeframe or every).alias("timeframe"),
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "vwap",
        "trades",
    )


def bars_from_trades(
    trades: pl.LazyFrame,
    every: str,
    *,
    by: Sequence[str] = ("symbol",),
    tz: str | None = None,
    offset: str | None = None,
) -> pl.LazyFrame:
    """Build OHLCV bars from ticks (``ts, price, size``), with vwap and trade counts.

    Examples
    --------
    >>> import polars as pl
    >>> ticks = pl.DataFrame({"symbol": "X", "ts": [0, 30 * 10**9, 61 * 10**9],
    ...     "price": [10.0, 12.0, 11.0], "size": [1.0, 3.0, 2.0]}).with_columns(
    ...     pl.col("ts").cast(pl.Datetime("ns", "UTC")))
    >>> bars_from_trades(ticks.lazy(), "1m").collect().select("open", "high", "close", "vwap",
    ...     "trades").rows()
    [(10.0, 12.0, 12.0, 11.5, 2), (11.0, 11.0, 11.0, 11.0, 1)]
    """
    aggs = [
        pl.col("price").first().alias("open"),
        pl.col("price").max().alias("high"),
        pl.col("price").min().alias("low"),
        pl.col("price").last().alias("close"),
        pl.col("size").sum().alias("volume"),
        ((pl.col("price") * pl.col("size")).sum() / pl.col("size").sum()).alias("vwap"),
        pl.len().cast(pl.Int64).alias("trades"),
    ]
    out = _dynamic(trades, every, by, tz, offset, aggs)
    return out.select(
        *by,
        pl.lit(every).alias("timeframe"),
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "vwap",
        "trades",
    )
