"""Historical bars through ``reqHistoricalData`` into the store's ``bars`` dataset."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import polars as pl

from houseedge.adapters.ib.client import IbBroker
from houseedge.adapters.ib.config import IbConfig
from houseedge.adapters.ib.errors import translated
from houseedge.adapters.ib.mapping import to_ns
from houseedge.data.store import Store, WriteReport
from houseedge.errors import BrokerError

__all__ = ["BAR_SIZES", "bars_frame", "duration_of", "fetch_bars", "ingest_bars"]

BAR_SIZES: Final[dict[str, str]] = {
    "1 secs": "1s",
    "5 secs": "5s",
    "1 min": "1m",
    "5 mins": "5m",
    "15 mins": "15m",
    "30 mins": "30m",
    "1 hour": "1h",
    "4 hours": "4h",
    "1 day": "1d",
    "1 week": "1w",
}
"""IB bar size -> our timeframe."""


def bars_frame(bars: list[Any], symbol: str, timeframe: str) -> pl.DataFrame:
    """Return ib-async ``BarData`` rows as a frame in the ``bars`` dataset's columns.

    Examples
    --------
    >>> from datetime import date
    >>> from ib_async import BarData
    >>> bar = BarData(date=date(2026, 1, 2), open=1.0, high=2.0, low=0.5, close=1.5, volume=10.0,
    ...               average=1.2, barCount=3)
    >>> bars_frame([bar], "AAPL", "1d").select("ts", "close", "vwap", "trades").row(0)
    (datetime.datetime(2026, 1, 2, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 1.5, 1.2, 3)
    """
    stamps = pl.Series([to_ns(b.date) for b in bars], dtype=pl.Int64)
    return pl.DataFrame(
        {
            "symbol": [symbol] * len(bars),
            "timeframe": [timeframe] * len(bars),
            "ts": stamps.cast(pl.Datetime("ns", "UTC")),
            "open": [float(b.open) for b in bars],
            "high": [float(b.high) for b in bars],
            "low": [float(b.low) for b in bars],
            "close": [float(b.close) for b in bars],
            "volume": [float(b.volume) for b in bars],
            "vwap": [float(b.average) for b in bars],
            "trades": pl.Series([int(b.barCount) for b in bars], dtype=pl.Int64),
        }
    )


async def fetch_bars(
    broker: IbBroker,
    symbol: str,
    *,
    duration: str = "1 D",
    bar_size: str = "1 min",
    end: datetime | None = None,
    what: str = "TRADES",
    regular_hours: bool = False,
) -> pl.DataFrame:
    """Return historical bars of ``symbol`` from TWS (qualified first), oldest first.

    Raises
    ------
    BrokerError
        The bar size is not one of :data:`BAR_SIZES`, or TWS answered with an error.
    """
    if bar_size not in BAR_SIZES:
        msg = f"ib history: bar size {bar_size!r} is not one of {sorted(BAR_SIZES)}"
        raise BrokerError(msg)
    contract = await broker.contracts.qualify(broker.ib, symbol)
    with translated("history"):
        bars = await broker.ib.reqHistoricalDataAsync(
            contract,
            end or "",
            duration,
            bar_size,
            what,
            regular_hours,
            formatDate=2,
            timeout=broker.config.connect_timeout_seconds * 15,
        )
    return bars_frame(list(bars), symbol, BAR_SIZES[bar_size]).sort("ts")


def duration_of(start: datetime, end: datetime) -> str:
    """Return the IB duration string that covers ``[start, end)`` (seconds, days or years).

    Examples
    --------
    >>> from datetime import timedelta
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> duration_of(t, t + timedelta(hours=2)), duration_of(t, t + timedelta(days=40))
    ('7200 S', '40 D')
    >>> duration_of(t, t + timedelta(days=800))
    '3 Y'
    """
    seconds = max(1, math.ceil((end - start).total_seconds()))
    if seconds <= 86_400:
        return f"{seconds} S"
    days = math.ceil(seconds / 86_400)
    return f"{days} D" if days <= 365 else f"{math.ceil(days / 365)} Y"


async def ingest_bars(
    store: Store,
    symbols: Sequence[str],
    timeframe: str,
    start: datetime,
    end: datetime | None = None,
    *,
    config: IbConfig,
    what: str = "TRADES",
    regular_hours: bool = False,
) -> list[WriteReport]:
    """Fetch the bars of ``symbols`` opening in ``[start, end)`` from TWS into ``store``'s bars.

    Connects a broker of its own (``config``; one attempt, no periodic reconciliation) and
    closes it after. ``end`` None means now; ``timeframe`` is one of :data:`BAR_SIZES`' values.
    One write per symbol that has bars.

    Raises
    ------
    BrokerError
        The timeframe has no IB bar size, TWS is unreachable, or it answered with an error.
    """
    sizes = {ours: theirs for theirs, ours in BAR_SIZES.items()}
    if timeframe not in sizes:
        msg = f"ib history: timeframe {timeframe!r} is not one of {sorted(sizes)}"
        raise BrokerError(msg)
    start, end = _utc(start), _utc(end or datetime.now(UTC))
    quiet = config.model_copy(update={"reconcile_interval_seconds": 0, "connect_attempts": 1})
    broker = IbBroker(quiet)
    await broker.connect()
    reports: list[WriteReport] = []
    try:
        for symbol in symbols:
            frame = await fetch_bars(
                broker,
                symbol,
                duration=duration_of(start, end),
                bar_size=sizes[timeframe],
                end=end,
                what=what,
                regular_hours=regular_hours,
            )
            frame = frame.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
            if frame.height:
                reports.append(store.write("bars", frame, source=f"ib:{symbol}"))
    finally:
        await broker.close()
    return reports


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
