"""Live bar aggregation: trades (or lower-timeframe bars) into bars, as they arrive.

The convention is :mod:`houseedge.data.resample`'s, so live bars equal the bars research builds
from the same data: buckets are **left-closed** ``[start, start + timeframe)``, in UTC, aligned
as Polars ``dt.truncate`` aligns them (fixed durations on the epoch, weeks on Mondays, months,
quarters and years on the calendar), and a bar is **labelled by its open time**. open = first,
high = max, low = min, close = last, volume = sum; only buckets with data become bars.

A bucket is complete when an event of its symbol at or beyond its end arrives, when a
lower-timeframe bar that ends exactly at its end arrives, or when :meth:`BarAggregator.flush` is
called with a time at or beyond its end (a timer, for quiet markets).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Final

from houseedge.core.broker import MarketEvent, Quote, Trade
from houseedge.core.types import NANOS_PER_SECOND, Bar

__all__ = ["BarAggregator", "Timeframe"]

_UNIT_NS: Final = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": NANOS_PER_SECOND,
    "m": 60 * NANOS_PER_SECOND,
    "h": 3_600 * NANOS_PER_SECOND,
    "d": 86_400 * NANOS_PER_SECOND,
    "w": 7 * 86_400 * NANOS_PER_SECOND,
}
_MONTHS: Final = {"mo": 1, "q": 3, "y": 12}
_PART = re.compile(r"(\d+)(ns|us|ms|s|mo|m|h|d|w|q|y)")
_WEEK_ORIGIN: Final = 4 * 86_400 * NANOS_PER_SECOND  # Monday 1970-01-05, as Polars aligns weeks
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A bar length (a Polars duration string) and the bucket arithmetic of its bars.

    Examples
    --------
    >>> hour = Timeframe.parse("1h")
    >>> hour.start(5_400 * 10**9), hour.end(5_400 * 10**9)
    (3600000000000, 7200000000000)
    >>> Timeframe.parse("1mo").end(0) // (86_400 * 10**9)  # January has 31 days
    31
    """

    text: str
    nanos: int  # fixed length in ns (0 for calendar timeframes)
    months: int  # calendar length in months (0 for fixed timeframes)
    origin: int  # the bucket grid's origin for fixed timeframes

    @staticmethod
    @functools.cache
    def parse(text: str) -> Timeframe:
        """Return the timeframe ``text`` (``"1m"``, ``"1h30m"``, ``"1d"``, ``"1w"``, ``"1mo"``)."""
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            msg = f"timeframe must be a Polars duration like '5m', '1h' or '1d', got {text!r}"
            raise ValueError(msg)
        nanos = sum(int(n) * _UNIT_NS[u] for n, u in parts if u in _UNIT_NS)
        months = sum(int(n) * _MONTHS[u] for n, u in parts if u in _MONTHS)
        if (nanos and months) or not (nanos or months):
            msg = f"timeframe {text!r} mixes calendar and fixed units, or is zero"
            raise ValueError(msg)
        weeks = all(u == "w" for _, u in parts)
        return Timeframe(text, nanos, months, _WEEK_ORIGIN if weeks else 0)

    def start(self, ts: int) -> int:
        """Return the start (label) of the bucket holding ``ts``."""
        if self.nanos:
            return (ts - self.origin) // self.nanos * self.nanos + self.origin
        day = _EPOCH + dt.timedelta(microseconds=ts // 1_000)
        index = (day.year - 1970) * 12 + day.month - 1
        return _month_ns(index - index % self.months)

    def end(self, ts: int) -> int:
        """Return the end (exclusive) of the bucket holding ``ts``: the next bucket's start."""
        start = self.start(ts)
        if self.nanos:
            return start + self.nanos
        day = _EPOCH + dt.timedelta(microseconds=start // 1_000)
        return _month_ns((day.year - 1970) * 12 + day.month - 1 + self.months)


def _month_ns(index: int) -> int:
    year, month = divmod(index, 12)
    moment = dt.datetime(1970 + year, month + 1, 1, tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1_000


@dataclass(slots=True)
class _Building:
    start: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class BarAggregator:
    """Turn a stream of trades (or lower-timeframe bars) into bars of ``timeframe``.

    Feed events with :meth:`update`; it returns the bars they complete (oldest first). Events
    older than the bucket being built (out of order) cannot amend an emitted bar: they are
    dropped and counted in :attr:`late`. Quotes carry no trade and are ignored.

    Examples
    --------
    >>> agg = BarAggregator("1m")
    >>> second = 10**9
    >>> agg.update(Trade(symbol="X", ts=0, price=10.0, size=1.0))
    []
    >>> agg.update(Trade(symbol="X", ts=30 * second, price=12.0, size=3.0))
    []
    >>> [(b.ts, b.open, b.high, b.close, b.volume)
    ...  for b in agg.update(Trade(symbol="X", ts=61 * second, price=11.0, size=2.0))]
    [(0, 10.0, 12.0, 12.0, 4.0)]
    >>> [(b.ts, b.close) for b in agg.flush(120 * second)]
    [(60000000000, 11.0)]
    """

    def __init__(self, timeframe: str) -> None:
        self.timeframe = Timeframe.parse(timeframe)
        self.late = 0
        """Events dropped because their bucket was already emitted."""
        self._building: dict[str, _Building] = {}
        self._done: dict[str, int] = {}  # end of the last emitted bucket, by symbol

    def update(self, event: MarketEvent) -> list[Bar]:
        """Add one event; return the bars it completes (zero or one; two for a bar closing both)."""
        if isinstance(event, Trade):
            return self._add(
                event.symbol,
                event.ts,
                event.price,
                event.price,
                event.price,
                event.price,
                event.size,
                event.ts,
            )
        if isinstance(event, Quote):
            return []
        end = Timeframe.parse(event.timeframe).end(event.ts) if event.timeframe else event.ts
        return self._add(
            event.symbol,
            event.ts,
            event.open,
            event.high,
            event.low,
            event.close,
            event.volume,
            end,
        )

    def flush(self, now_ns: int) -> list[Bar]:
        """Return (and forget) every bar whose bucket ended at or before ``now_ns``."""
        done = [s for s, b in self._building.items() if b.end <= now_ns]
        return [self._emit(symbol) for symbol in sorted(done)]

    def partial(self, symbol: str) -> Bar | None:
        """Return the bar being built for ``symbol`` so far (None when there is none)."""
        building = self._building.get(symbol)
        return None if building is None else self._bar(symbol, building)

    def _add(
        self, symbol: str, ts: int, o: float, h: float, lo: float, c: float, v: float, until: int
    ) -> list[Bar]:
        out: list[Bar] = []
        b = self._building.get(symbol)
        if b is not None and ts >= b.end:
            out.append(self._emit(symbol))
            b = None
        if ts < (b.start if b is not None else self._done.get(symbol, ts)):
            self.late += 1  # its bucket was emitted (or skipped): a bar cannot be amended
            return out
        if b is None:
            frame = self.timeframe
            b = _Building(frame.start(ts), frame.end(ts), o, h, lo, c, v)
            self._building[symbol] = b
        else:
            b.high, b.low, b.close = max(b.high, h), min(b.low, lo), c
            b.volume += v
        if until >= b.end:  # a lower-timeframe bar that closes the bucket completes it now
            out.append(self._emit(symbol))
        return out

    def _emit(self, symbol: str) -> Bar:
        building = self._building.pop(symbol)
        self._done[symbol] = building.end
        return self._bar(symbol, building)

    def _bar(self, symbol: str, b: _Building) -> Bar:
        return Bar(
            symbol=symbol,
            timeframe=self.timeframe.text,
            ts=b.start,
            open=b.open,
            high=b.high,
            low=b.low,
            close=b.close,
            volume=b.volume,
        )
