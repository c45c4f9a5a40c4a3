"""Historical klines from Binance into the store's ``bars`` dataset.

``GET /api/v3/klines`` pages of at most 1,000 bars from ``startTime``; each row
``[open time, open, high, low, close, volume, close time, quote volume, trades, ...]`` becomes a
bar labelled by its open time. Only *closed* bars are kept (a bar whose close time is in the
future is still forming). Writes are the store's: validated, idempotent and atomic, so running
the same range twice adds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from houseedge import logs
from houseedge.adapters.binance._lib import client_class, close_client
from houseedge.adapters.binance._rest import PAGE, BinanceRest
from houseedge.adapters.binance.config import BinanceConfig
from houseedge.adapters.binance.mapping import NANOS_PER_MS
from houseedge.adapters.binance.ratelimit import RateLimiter
from houseedge.core.types import Bar
from houseedge.data.store import Store, WriteReport

__all__ = ["fetch_klines", "ingest_bars", "kline_bar", "klines_frame", "rows_to_bars"]


def kline_bar(symbol: str, interval: str, kline: Any) -> Bar:
    """Return the bar of a kline stream payload (``schemas.Kline``)."""
    return Bar(
        symbol=symbol,
        timeframe=interval,
        ts=kline.start * NANOS_PER_MS,
        open=float(kline.open),
        high=float(kline.high),
        low=float(kline.low),
        close=float(kline.close),
        volume=float(kline.volume),
    )


def rows_to_bars(symbol: str, interval: str, rows: Sequence[Sequence[Any]]) -> list[Bar]:
    """Return the bars of REST kline rows.

    Examples
    --------
    >>> row = [0, "1.0", "2.0", "0.5", "1.5", "10", 59_999, "15", 3, "5", "7", "0"]
    >>> rows_to_bars("X", "1m", [row])[0].close
    1.5
    """
    return [
        Bar(
            symbol=symbol,
            timeframe=interval,
            ts=int(r[0]) * NANOS_PER_MS,
            open=float(Decimal(r[1])),
            high=float(Decimal(r[2])),
            low=float(Decimal(r[3])),
            close=float(Decimal(r[4])),
            volume=float(Decimal(r[5])),
        )
        for r in rows
    ]


def klines_frame(symbol: str, interval: str, rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    """Return kline rows as a ``bars`` frame (with the ``trades`` count).

    Examples
    --------
    >>> row = [60_000, "1.0", "2.0", "0.5", "1.5", "10", 119_999, "15", 3, "5", "7", "0"]
    >>> klines_frame("X", "1m", [row]).select("ts", "close", "trades").row(0)
    (datetime.datetime(1970, 1, 1, 0, 1, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 1.5, 3)
    """
    columns = {
        "symbol": [symbol] * len(rows),
        "timeframe": [interval] * len(rows),
        "ts": [int(r[0]) * NANOS_PER_MS for r in rows],
        **{
            name: [float(Decimal(r[i])) for r in rows]
            for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1)
        },
        "trades": [int(r[8]) for r in rows],
    }
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))


async def fetch_klines(
    rest: BinanceRest, symbol: str, interval: str, start_ms: int, end_ms: int
) -> list[list[Any]]:
    """Return the closed kline rows with open time in ``[start_ms, end_ms)``, page by page."""
    out: list[list[Any]] = []
    now_ms = time.time_ns() // NANOS_PER_MS
    cursor = start_ms
    while cursor < end_ms:
        page = await rest.call(
            "klines",
            symbol=symbol,
            interval=interval,
            startTime=cursor,
            endTime=end_ms - 1,
            limit=PAGE,
        )
        rows = [r for r in page if int(r[0]) < end_ms and int(r[6]) < now_ms]
        out += rows
        if len(page) < PAGE:
            break
        cursor = int(page[-1][0]) + 1
    return out


async def ingest_bars(
    store: Store,
    symbols: Sequence[str],
    timeframe: str,
    start: datetime,
    end: datetime | None = None,
    *,
    config: BinanceConfig,
) -> list[WriteReport]:
    """Fetch the closed klines of ``symbols`` opening in ``[start, end)`` into ``store``'s bars.

    ``end`` None means now; ``timeframe`` is a kline interval (``1m``, ``1h``, ``1d``). One
    write per symbol that has bars (klines are public: no keys are used).
    """
    limiter = RateLimiter(max_attempts=config.max_attempts, max_backoff=config.backoff_max_seconds)
    client = client_class(config)()
    log = logs.get_logger("houseedge.adapters.binance")
    start_ms = _ms(start)
    end_ms = time.time_ns() // NANOS_PER_MS if end is None else _ms(end)
    reports: list[WriteReport] = []
    try:
        rest = BinanceRest(client, limiter, config.market)
        for symbol in symbols:
            rows = await fetch_klines(rest, symbol, timeframe, start_ms, end_ms)
            if not rows:
                continue
            frame = klines_frame(symbol, timeframe, rows)
            report = store.write("bars", frame, source=f"binance:{symbol}:{timeframe}")
            reports.append(report)
            log.info(
                "binance.klines_ingested", symbol=symbol, rows=len(rows), added=report.rows_added
            )
    finally:
        await close_client(client)
    return reports


def _ms(moment: datetime) -> int:
    """Return an aware datetime (naive: UTC) as epoch milliseconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
