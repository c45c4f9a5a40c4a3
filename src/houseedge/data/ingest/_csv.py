"""Readers of the CSV formats: every column is read as text, then parsed with located errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import polars as pl

from houseedge.data.ingest import _parse, _times
from houseedge.data.ingest._parse import (
    CSV_ROW_BASE,
    Options,
    Parsed,
    checked,
    require_columns,
    symbol_of,
)
from houseedge.data.ingest._times import parse_times
from houseedge.errors import FormatError

Reader = Callable[[Path, Options], list[Parsed]]

OHLCV = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}
_LOWER_OHLCV = {k.lower(): v for k, v in OHLCV.items()}
YAHOO = OHLCV | {"Adj Close": "adj_close"}
BACKTRADER = OHLCV | {"OpenInterest": "open_interest"}
DATE_OHLCV = ("Date", "Open", "High", "Low", "Close", "Volume")
BACKTESTING_PY = ("", *DATE_OHLCV[1:])
ZIPLINE = ("date", "open", "high", "low", "close", "volume", "dividend", "split")
TRUEFX = ("timestamp", "bid", "ask")
CME = ("timestamp_utc", "open", "high", "low", "close", "volume")


def _read_bars_csv(
    path: Path,
    opts: Options,
    fmt: str,
    time_column: str,
    columns: Mapping[str, str],
    *,
    required: Sequence[str],
    also_numbers: Sequence[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (validated bars, the frame read with numbers cast and times as ``__ts``)."""
    text = _parse.read_csv_strings(path)
    require_columns(path, fmt, text.columns, required, header_row=1)
    ts = parse_times(text[time_column], path, tz=opts.tz, row_base=CSV_ROW_BASE)
    numeric = [f for f in (*columns, *also_numbers) if f in text.columns]
    raw = _parse.numbers(text, numeric, path)
    frame = raw.select(
        pl.lit(symbol_of(path, opts.symbol)).alias("symbol"),
        pl.lit(_times.timeframe_of(ts, path, opts.timeframe)).alias("timeframe"),
        *(pl.col(f).alias(d) for f, d in columns.items() if f in raw.columns),
    ).with_columns(ts.alias("ts"))
    fields = {d: f for f, d in columns.items()} | {"ts": time_column}
    bars = checked("bars", frame, path, fields=fields, row_base=CSV_ROW_BASE)
    return bars, raw.with_columns(ts.alias("__ts"))


def bars_reader(
    fmt: str, time_column: str, columns: Mapping[str, str], required: Sequence[str]
) -> Reader:
    """Return a reader of one-symbol OHLCV CSVs whose ``columns`` map file to bar columns."""

    def read(path: Path, opts: Options) -> list[Parsed]:
        bars, _ = _read_bars_csv(path, opts, fmt, time_column, columns, required=required)
        return [Parsed("bars", bars, str(path), CSV_ROW_BASE)]

    return read


def read_cme_bars(path: Path, opts: Options) -> list[Parsed]:
    """Read CME bars whose naive ``timestamp_utc`` is stated to be UTC."""
    if opts.tz not in (None, "UTC"):
        raise FormatError(
            f"cme_bars times are UTC by their column name, not {opts.tz}",
            source=str(path),
            field="timestamp_utc",
            expected="no tz (or tz='UTC')",
        )
    utc = Options(opts.symbol, "UTC", opts.timeframe)
    bars, _ = _read_bars_csv(path, utc, "cme_bars", "timestamp_utc", _LOWER_OHLCV, required=CME)
    return [Parsed("bars", bars, str(path), CSV_ROW_BASE)]


def read_zipline_csvdir(path: Path, opts: Options) -> list[Parsed]:
    """Read a zipline csvdir file into bars and its dividend/split events.

    OHLCV in these files is already split-adjusted, so ``split`` is recorded as an event only and
    must never be applied to the bars again; ``dividend`` is cash per (split-adjusted) share on
    the ex-date. Rows with neither (dividend 0 and split 1) are not events.
    """
    bars, raw = _read_bars_csv(
        path,
        opts,
        "zipline_csvdir",
        "date",
        _LOWER_OHLCV,
        required=ZIPLINE,
        also_numbers=("dividend", "split"),
    )
    every_row = raw.select(
        pl.lit(symbol_of(path, opts.symbol)).alias("symbol"),
        pl.col("__ts").alias("ts"),
        "dividend",
        "split",
    )
    # Validate every row, so errors name exact lines, before keeping only the events.
    actions = checked(
        "corporate_actions",
        every_row,
        path,
        fields={"ts": "date", "dividend": "dividend", "split": "split"},
        row_base=CSV_ROW_BASE,
    )
    events = actions.filter((pl.col("dividend") != 0) | (pl.col("split") != 1))
    return [
        Parsed("bars", bars, str(path), CSV_ROW_BASE),
        Parsed("corporate_actions", events, str(path), 0),
    ]


_NOT_A_SYMBOL = {"", "open", "high", "low", "close", "volume", "adj close", "openinterest"}


def is_ffn_wide(found: Sequence[str]) -> bool:
    """Return whether a header is ``Date`` then symbol names (no OHLCV column)."""
    return (
        len(found) > 1
        and found[0] == "Date"
        and not any(c.lower() in _NOT_A_SYMBOL for c in found[1:])
    )


def read_ffn_wide(path: Path, opts: Options) -> list[Parsed]:
    """Read ffn's wide close prices: ``Date`` (M/D/YYYY) then one column per symbol.

    The source holds closes only, so each bar has open = high = low = close and volume 0. An
    empty cell means the symbol has no price that day and is skipped. ``symbol`` selects one
    column. Rows come in file order: line by line, columns left to right.
    """
    raw = _parse.read_csv_strings(path)
    if not is_ffn_wide(raw.columns):
        require_columns(path, "ffn_wide", raw.columns, ("Date",), header_row=1)
        raise FormatError(
            f"not a ffn_wide file: found columns {', '.join(map(_parse.shown, raw.columns))}",
            source=str(path),
            row=1,
            expected="Date then one close-price column per symbol",
        )
    symbols = _ffn_symbols(path, raw.columns[1:], opts.symbol)
    ts = parse_times(raw["Date"], path, tz=None, date_format="%m/%d/%Y", row_base=CSV_ROW_BASE)
    raw = _parse.numbers(raw, symbols, path)
    timeframe = _times.timeframe_of(ts, path, opts.timeframe)
    base = raw.with_columns(
        ts.alias("__ts"), pl.int_range(pl.len()).add(CSV_ROW_BASE).alias("__line")
    )
    parts = [_ffn_symbol(base, path, symbol, timeframe) for symbol in symbols]
    frame = pl.concat(parts).sort("__line", maintain_order=True).drop("__line")
    return [Parsed("bars", frame, str(path), 0)]


def _ffn_symbols(path: Path, columns: list[str], wanted: str | None) -> list[str]:
    if wanted is None:
        return columns
    if wanted not in columns:
        raise FormatError(
            f"no column {wanted!r}",
            source=str(path),
            row=1,
            field="symbol",
            expected=f"one of {', '.join(columns)}",
        )
    return [wanted]


def _ffn_symbol(base: pl.DataFrame, path: Path, symbol: str, timeframe: str) -> pl.DataFrame:
    part = base.filter(pl.col(symbol).is_not_null()).select(
        pl.lit(symbol).alias("symbol"),
        pl.lit(timeframe).alias("timeframe"),
        pl.col("__ts").alias("ts"),
        *(pl.col(symbol).alias(c) for c in ("open", "high", "low", "close")),
        pl.lit(0.0).alias("volume"),
        "__line",
    )
    fields = {"ts": "Date"} | dict.fromkeys(("open", "high", "low", "close"), symbol)
    bars = checked("bars", part, path, fields=fields, rows=part["__line"])
    return bars.with_columns(part["__line"])


def quotes_sequence(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``seq``: the position of a row among rows sharing (symbol, ts), in file order."""
    return frame.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int32).over("symbol", "ts").alias("seq")
    )


def read_truefx(path: Path, opts: Options) -> list[Parsed]:
    """Read TrueFX ticks (``timestamp,bid,ask``, ISO times with an offset); sizes are empty."""
    raw = _parse.read_csv_strings(path)
    require_columns(path, "truefx", raw.columns, TRUEFX, header_row=1)
    ts = parse_times(raw["timestamp"], path, tz=opts.tz, row_base=CSV_ROW_BASE)
    frame = (
        _parse.numbers(raw, ["bid", "ask"], path)
        .select(
            pl.lit(symbol_of(path, opts.symbol)).alias("symbol"),
            "bid",
            "ask",
            pl.lit(None, dtype=pl.Float64).alias("bid_size"),
            pl.lit(None, dtype=pl.Float64).alias("ask_size"),
        )
        .with_columns(ts.alias("ts"))
    )
    quotes = checked(
        "quotes", quotes_sequence(frame), path, fields={"ts": "timestamp"}, row_base=CSV_ROW_BASE
    )
    return [Parsed("quotes", quotes, str(path), CSV_ROW_BASE)]
