"""Readers of the Parquet and Arrow IPC (Feather) formats; their columns are already typed."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from houseedge.data.ingest import _times
from houseedge.data.ingest._csv import quotes_sequence
from houseedge.data.ingest._parse import Options, Parsed, checked, require_columns, symbol_of
from houseedge.errors import FormatError, InvalidData

BINANCE_TRADES = ("timestamp", "trade_id", "price", "quantity", "buyer_maker")
BINANCE_QUOTES = ("timestamp", "symbol", "ask_size", "ask", "bid_size", "bid")
FREQTRADE = ("date", "open", "high", "low", "close", "volume")


def _read(
    path: Path, fmt: str, read: Callable[[Path], pl.DataFrame], required: Sequence[str]
) -> pl.DataFrame:
    try:
        raw = read(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise FormatError(f"cannot read the file as {fmt}: {exc}", source=str(path)) from exc
    require_columns(path, fmt, raw.columns, required, header_row=None)
    return raw


def _aggressor(buyer_maker: pl.Series, path: Path) -> pl.Series:
    # The buyer's order was resting, so the seller crossed the spread: a sell-initiated trade.
    text = buyer_maker.cast(pl.String).str.to_lowercase()
    bad = (text.is_not_null() & ~text.is_in(["true", "false"])).arg_true()
    if len(bad):
        raise InvalidData(
            f"buyer_maker is {buyer_maker[int(bad[0])]!r}",
            source=str(path),
            row=int(bad[0]),
            field="buyer_maker",
            expected="'True' or 'False'",
        )
    return text.replace_strict(
        {"true": "sell", "false": "buy"}, default=None, return_dtype=pl.String
    ).alias("side")


def read_binance_trades(path: Path, opts: Options) -> list[Parsed]:
    """Read Binance trades; ``buyer_maker`` True means the seller was the aggressor (side sell)."""
    raw = _read(path, "binance_trades", pl.read_parquet, BINANCE_TRADES)
    ts = _times.to_utc(raw["timestamp"], path, tz=opts.tz, field="timestamp")
    frame = raw.select(
        pl.lit(symbol_of(path, opts.symbol)).alias("symbol"),
        pl.col("price"),
        pl.col("quantity").alias("size"),
        pl.col("trade_id").cast(pl.String),
    ).with_columns(ts.alias("ts"), _aggressor(raw["buyer_maker"], path))
    fields = {
        "ts": "timestamp",
        "price": "price",
        "size": "quantity",
        "side": "buyer_maker",
        "trade_id": "trade_id",
    }
    return [Parsed("trades", checked("trades", frame, path, fields=fields), str(path), 0)]


def read_binance_quotes(path: Path, opts: Options) -> list[Parsed]:
    """Read Binance top-of-book quotes; the file's ``symbol`` column names the instrument."""
    raw = _read(path, "binance_quotes", pl.read_parquet, BINANCE_QUOTES)
    ts = _times.to_utc(raw["timestamp"], path, tz=opts.tz, field="timestamp")
    symbol = pl.lit(opts.symbol) if opts.symbol else pl.col("symbol")
    frame = raw.select(symbol.alias("symbol"), "bid", "ask", "bid_size", "ask_size")
    frame = quotes_sequence(frame.with_columns(ts.alias("ts")))
    quotes = checked("quotes", frame, path, fields={"ts": "timestamp", "symbol": "symbol"})
    return [Parsed("quotes", quotes, str(path), 0)]


_FREQTRADE_NAME = re.compile(r"(?P<pair>.+?)-\d+(?:mo|[smhdwMy])(?:-\w+)?")


def read_freqtrade(path: Path, opts: Options) -> list[Parsed]:
    """Read freqtrade candles (``date`` = candle open time, UTC).

    Without ``symbol``, the pair comes from freqtrade's file naming: ``ETH_BTC-5m`` -> ``ETH/BTC``.
    """
    raw = _read(path, "freqtrade", pl.read_ipc, FREQTRADE)
    ts = _times.to_utc(raw["date"], path, tz=opts.tz, field="date")
    named = _FREQTRADE_NAME.fullmatch(path.stem)
    pair = named["pair"].replace("_", "/") if named else None
    frame = raw.select(
        pl.lit(symbol_of(path, opts.symbol, pair)).alias("symbol"),
        pl.lit(_times.timeframe_of(ts, path, opts.timeframe)).alias("timeframe"),
        *FREQTRADE[1:],
    ).with_columns(ts.alias("ts"))
    bars = checked("bars", frame, path, fields={"ts": "date"})
    return [Parsed("bars", bars, str(path), 0)]
