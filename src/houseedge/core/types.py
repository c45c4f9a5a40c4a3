"""Domain types shared by research and live code.

Timestamps are UTC nanoseconds since the epoch (``int``), matching Polars
``Datetime("ns", "UTC")``.
"""

from __future__ import annotations

import enum

import msgspec

NANOS_PER_SECOND = 1_000_000_000


class Side(enum.StrEnum):
    """Direction of an order or fill."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for a buy and -1 for a sell.

        Examples
        --------
        >>> Side.SELL.sign
        -1
        """
        return 1 if self is Side.BUY else -1


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    """One OHLCV bar, labelled by its open time.

    Examples
    --------
    >>> Bar(symbol="AAPL", timeframe="1d", ts=0, open=1.0, high=2.0, low=0.5, close=1.5,
    ...     volume=10.0).close
    1.5
    """

    symbol: str
    timeframe: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            msg = f"bar {self.symbol}@{self.ts}: OHLC inconsistent (low <= open, close <= high)"
            raise ValueError(msg)
