"""Per-symbol bar history as preallocated NumPy columns, and its window as a Polars frame.

A closed bar is written into one row of preallocated arrays (no Python lists, no frame built per
bar). The arrays keep the newest bars contiguous, so the last ``n`` bars are a view: a bounded
history slides its last ``keep`` bars back to the front when the arrays fill up (amortised O(1)
a bar), an unbounded one doubles its arrays. A frame is built only when a policy without an
incremental path (see :mod:`houseedge.live.engine.steppers`) or a sizer's inputs need one, from the
column views.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from houseedge.core.types import Bar

__all__ = ["BarRing", "History"]

_FLOATS = ("open", "high", "low", "close", "volume")
_TS = pl.Datetime("ns", "UTC")
_MIN_CAPACITY = 64


class BarRing:
    """The last ``keep`` bars of one symbol (every bar when ``keep`` is None), as columns.

    Examples
    --------
    >>> ring = BarRing("X", "1d", keep=2)
    >>> for ts in range(3):
    ...     ring.append(Bar(symbol="X", timeframe="1d", ts=ts, open=1.0, high=5.0, low=1.0,
    ...                     close=1.0 + ts, volume=0.0))
    >>> len(ring), ring.column("close").tolist()
    (2, [2.0, 3.0])
    """

    __slots__ = ("_end", "_floats", "_ts", "keep", "symbol", "timeframe")

    def __init__(self, symbol: str, timeframe: str, keep: int | None) -> None:
        self.symbol, self.timeframe, self.keep = symbol, timeframe, keep
        capacity = _MIN_CAPACITY if keep is None else max(_MIN_CAPACITY, 2 * keep)
        self._ts = np.empty(capacity, dtype=np.int64)
        self._floats = np.empty((len(_FLOATS), capacity), dtype=np.float64)
        self._end = 0

    def append(self, bar: Bar) -> None:
        """Add a closed bar (the newest)."""
        end = self._end
        if end == self._ts.size:
            end = self._make_room()
        self._ts[end] = bar.ts
        self._floats[:, end] = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        self._end = end + 1

    def _make_room(self) -> int:
        keep, end = self.keep, self._end
        if keep is not None:  # slide the window to the front: the arrays are twice as long
            self._ts[:keep] = self._ts[end - keep : end]
            self._floats[:, :keep] = self._floats[:, end - keep : end]
            return keep
        ts = np.empty(2 * end, dtype=np.int64)
        ts[:end] = self._ts
        floats = np.empty((len(_FLOATS), 2 * end), dtype=np.float64)
        floats[:, :end] = self._floats
        self._ts, self._floats = ts, floats
        return end

    def __len__(self) -> int:
        return self._end if self.keep is None else min(self._end, self.keep)

    def column(self, name: str) -> np.ndarray[Any, Any]:
        """Return a view of one column's kept values, oldest first (``ts`` as int64 ns)."""
        start = self._end - len(self)
        if name == "ts":
            return self._ts[start : self._end]
        return self._floats[_FLOATS.index(name), start : self._end]

    def frame(self) -> pl.DataFrame:
        """Return the kept bars, oldest first (``ts`` as UTC nanosecond datetimes)."""
        n = len(self)
        # Copies: Polars would share the arrays' memory, which later bars overwrite.
        columns = {name: pl.Series(name, self.column(name).copy()) for name in _FLOATS}
        return pl.DataFrame(
            {
                "ts": pl.Series("ts", self.column("ts").copy()).cast(_TS),
                **columns,
                "symbol": pl.Series("symbol", [self.symbol], pl.String).new_from_index(0, n),
                "timeframe": pl.Series("timeframe", [self.timeframe], pl.String).new_from_index(
                    0, n
                ),
            }
        )


class History:
    """The last ``maxlen`` bars of each symbol (every bar when ``maxlen`` is None), as columns.

    Examples
    --------
    >>> history = History(2)
    >>> for ts in range(3):
    ...     history.append(Bar(symbol="X", timeframe="1d", ts=ts, open=1.0, high=5.0, low=1.0,
    ...                        close=1.0 + ts, volume=0.0))
    >>> history.frame("X").get_column("close").to_list()
    [2.0, 3.0]
    """

    def __init__(self, maxlen: int | None) -> None:
        self.maxlen = maxlen
        self.rings: dict[str, BarRing] = {}

    def append(self, bar: Bar) -> None:
        """Add a closed bar."""
        ring = self.rings.get(bar.symbol)
        if ring is None:
            ring = self.rings[bar.symbol] = BarRing(bar.symbol, bar.timeframe, self.maxlen)
        ring.append(bar)

    def __len__(self) -> int:
        return sum(len(ring) for ring in self.rings.values())

    def frame(self, symbol: str) -> pl.DataFrame:
        """Return the symbol's bars, oldest first (``ts`` as UTC nanosecond datetimes)."""
        ring = self.rings.get(symbol)
        return (ring or BarRing(symbol, "", 0)).frame()
