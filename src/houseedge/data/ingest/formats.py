"""The supported file formats: how each is recognised and which reader turns it into datasets.

Conventions every reader follows:

- Times are ``Datetime("ns", "UTC")``. A date-only file gives that date at 00:00 UTC: daily bars
  are labelled by their session date, not by the exchange's close time. Naive date-times are read
  in the ``tz`` the caller passes (a FormatError asks for it otherwise), unless the format states
  UTC (``cme_bars``). ``tz`` has no effect on dates or on times that carry an offset.
- The symbol is the ``symbol`` option, else what the file says (a quotes ``symbol`` column, the
  ffn column names, a freqtrade pair file name), else the file name stem (``AAPL.csv`` ->
  ``AAPL``).
- The bar timeframe is the ``timeframe`` option, else the label of the most common gap between
  timestamps (``1m``, ``1h``, ``1d``, ``1w``, ``1mo``, ...); a tie between two gaps is an error.
- Columns are read by name, so their order never matters.
- Every row is validated (``validation.validate`` with ``check_order=True``); an error names the
  file, the row (the 1-based line of a CSV, header = line 1; the 0-based row of a Parquet or
  Feather file) and the file's own column name.
- zipline csvdir prices are already split-adjusted: its ``split`` column becomes a
  ``corporate_actions`` event and is never applied to the bars again.
- ffn's wide file holds closes only: open = high = low = close, volume 0; empty cells are skipped.
- Binance ``buyer_maker`` True means the seller was the aggressor: side ``sell``.
- Quotes keep repeated timestamps: ``seq`` numbers rows sharing (symbol, ts) in file order.

Examples
--------
>>> print(FORMATS["truefx"].description)
TrueFX tick CSV timestamp,bid,ask (ISO with offset) -> quotes without sizes
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from houseedge.data.ingest import _arrow as arrow
from houseedge.data.ingest import _csv as text
from houseedge.data.ingest._parse import Options, Parsed

__all__ = ["FORMATS", "Container", "Format", "Options", "Parsed", "Reader"]

Reader = Callable[[Path, Options], list[Parsed]]
Container = Literal["csv", "parquet", "ipc"]


@dataclass(frozen=True)
class Format:
    """A supported format: how to recognise it and how to read it.

    Parameters
    ----------
    description
        One line for ``houseedge formats``.
    container
        The file kind: CSV text, Parquet or Arrow IPC (Feather).
    columns
        Columns the file must have.
    read
        The reader.
    optional
        Columns the file may have besides ``columns``.
    matches
        Whether a header or schema is this format's; by default: every one of ``columns`` is
        present and no column is outside ``columns`` and ``optional``.
    """

    description: str
    container: Container
    columns: tuple[str, ...]
    read: Reader
    optional: tuple[str, ...] = ()
    matches: Callable[[Sequence[str]], bool] | None = None

    def recognises(self, found: Sequence[str]) -> bool:
        """Return whether ``found`` (a header or schema) is this format's.

        Examples
        --------
        >>> FORMATS["yahoo"].recognises(["Date", "Open", "High", "Low", "Close", "Volume"])
        True
        """
        if self.matches is not None:
            return self.matches(found)
        return set(self.columns) <= set(found) <= set(self.columns) | set(self.optional)


FORMATS: dict[str, Format] = {
    "yahoo": Format(
        "Yahoo/backtrader CSV Date,Open,High,Low,Close[,Adj Close],Volume (any order) -> bars",
        "csv",
        text.DATE_OHLCV,
        text.bars_reader("yahoo", "Date", text.YAHOO, text.DATE_OHLCV),
        optional=("Adj Close",),
    ),
    "backtrader": Format(
        "backtrader CSV Date,Open,High,Low,Close,Volume[,OpenInterest] -> bars",
        "csv",
        text.DATE_OHLCV,
        text.bars_reader("backtrader", "Date", text.BACKTRADER, text.DATE_OHLCV),
        optional=("OpenInterest",),
    ),
    "backtesting_py": Format(
        "backtesting.py CSV: unnamed date/time index, then Open,High,Low,Close,Volume -> bars",
        "csv",
        text.BACKTESTING_PY,
        text.bars_reader("backtesting_py", "", text.OHLCV, text.BACKTESTING_PY),
    ),
    "zipline_csvdir": Format(
        "zipline csvdir CSV date,open,..,volume,dividend,split -> bars + corporate_actions",
        "csv",
        text.ZIPLINE,
        text.read_zipline_csvdir,
    ),
    "ffn_wide": Format(
        "ffn wide CSV Date (M/D/YYYY) then one close column per symbol -> close-only bars",
        "csv",
        ("Date",),
        text.read_ffn_wide,
        matches=text.is_ffn_wide,
    ),
    "binance_trades": Format(
        "Binance trades Parquet timestamp,trade_id,price,quantity,buyer_maker -> trades",
        "parquet",
        arrow.BINANCE_TRADES,
        arrow.read_binance_trades,
    ),
    "binance_quotes": Format(
        "Binance quotes Parquet timestamp,symbol,ask_size,ask,bid_size,bid -> quotes",
        "parquet",
        arrow.BINANCE_QUOTES,
        arrow.read_binance_quotes,
    ),
    "truefx": Format(
        "TrueFX tick CSV timestamp,bid,ask (ISO with offset) -> quotes without sizes",
        "csv",
        text.TRUEFX,
        text.read_truefx,
    ),
    "cme_bars": Format(
        "CME bar CSV timestamp_utc,open,high,low,close,volume (naive, stated UTC) -> bars",
        "csv",
        text.CME,
        text.read_cme_bars,
    ),
    "freqtrade": Format(
        "freqtrade Feather date (UTC candle open),open,high,low,close,volume -> bars",
        "ipc",
        arrow.FREQTRADE,
        arrow.read_freqtrade,
    ),
}
"""Every supported format by name."""
