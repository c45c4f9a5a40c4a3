"""Historical stock bars from Alpaca's market-data API into the store.

alpaca-py's ``StockHistoricalDataClient`` (``raw_data=True``, pages followed by the library) fetches
``GET /v2/stocks/bars``; the bars are decoded with msgspec (:class:`~.schemas.BarMsg`), labelled
by their open time (UTC ns, as Alpaca stamps them) and written through
:meth:`~houseedge.data.store.Store.write` (validated, idempotent).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import polars as pl
from alpaca.data.enums import Adjustment
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from houseedge.adapters.alpaca.config import AlpacaConfig
from houseedge.adapters.alpaca.errors import translated
from houseedge.adapters.alpaca.mapping import parse_ts
from houseedge.adapters.alpaca.schemas import BarMsg, convert
from houseedge.data.store import Store, WriteReport
from houseedge.errors import ConfigError

__all__ = ["fetch_bars", "ingest_bars", "timeframe_of"]

# Looked up by name: alpaca-py annotates the members as ``str``, which hides their enum type.
_UNITS: Final = {
    "m": TimeFrameUnit["Minute"],
    "h": TimeFrameUnit["Hour"],
    "d": TimeFrameUnit["Day"],
    "w": TimeFrameUnit["Week"],
    "mo": TimeFrameUnit["Month"],
}


def timeframe_of(timeframe: str) -> TimeFrame:
    """Return alpaca-py's ``TimeFrame`` for one of ours (``"5m"``, ``"1h"``, ``"1d"``).

    Examples
    --------
    >>> str(timeframe_of("15m")), str(timeframe_of("1d"))
    ('15Min', '1Day')
    """
    match = re.fullmatch(r"(\d+)(mo|m|h|d|w)", timeframe)
    if match is None:
        msg = f"timeframe {timeframe!r}: Alpaca bars take <n>m, <n>h, 1d, 1w or <n>mo"
        raise ConfigError(msg)
    return TimeFrame(int(match[1]), _UNITS[match[2]])


def fetch_bars(
    config: AlpacaConfig,
    symbols: Sequence[str],
    timeframe: str,
    start: datetime,
    end: datetime | None = None,
    *,
    adjustment: str = "raw",
) -> pl.DataFrame:
    """Return the bars of ``symbols`` in ``[start, end]`` as a frame of the ``bars`` columns."""
    client = StockHistoricalDataClient(
        config.api_key.get_secret_value(),
        config.api_secret.get_secret_value(),
        raw_data=True,
        url_override=config.data_url,
    )
    request = StockBarsRequest(
        symbol_or_symbols=list(symbols),
        timeframe=timeframe_of(timeframe),
        start=start,
        end=end,
        adjustment=Adjustment(adjustment),
    )
    with translated("bars"):
        raw: dict[str, Any] = client.get_stock_bars(request)  # type: ignore[assignment]
        by_symbol = convert(raw, dict[str, list[BarMsg]])
    rows = [
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "ts": parse_ts(b.t),
            "open": b.o,
            "high": b.h,
            "low": b.l,
            "close": b.c,
            "volume": b.v,
            "vwap": b.vw,
            "trades": b.n,
        }
        for symbol, bars in by_symbol.items()
        for b in bars
    ]
    schema = {
        "symbol": pl.String,
        "timeframe": pl.String,
        "ts": pl.Int64,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Float64,
        "vwap": pl.Float64,
        "trades": pl.Int64,
    }
    frame = pl.DataFrame(rows, schema=schema)
    return frame.with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC"))).sort("symbol", "ts")


async def ingest_bars(
    store: Store,
    symbols: Sequence[str],
    timeframe: str,
    start: datetime,
    end: datetime | None = None,
    *,
    config: AlpacaConfig,
    adjustment: str = "raw",
) -> list[WriteReport]:
    """Fetch the bars of ``symbols`` opening in ``[start, end)`` into ``store``'s ``bars``.

    ``end`` None means now. The blocking alpaca-py call runs in a thread; the write is the
    store's (validated, idempotent), one for all the symbols.
    """
    frame = await asyncio.to_thread(
        fetch_bars, config, symbols, timeframe, start, end, adjustment=adjustment
    )
    if end is not None:
        frame = frame.filter(pl.col("ts") < end)
    return [store.write("bars", frame, source=f"alpaca:{','.join(symbols)}")]
