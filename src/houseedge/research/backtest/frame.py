"""The prepared frame every stage of a backtest reads: its columns, blocks and options.

:func:`~houseedge.research.backtest.targets.prepare` returns the bars sorted by symbol, then
time, one contiguous block per symbol, with engine columns added (``row``, ``target``,
``wanted``, ``quote``, ``change``, and the cost model's, sizer's and exits' inputs under the
prefixes below). The later stages read that frame through the helpers here; none of them calls
back into the stage that built it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl

from houseedge.errors import SchemaMismatch

Array = np.ndarray[Any, Any]

Execution = Literal["next_open", "next_close"]
"""Where a decision on bar *t*'s close fills: bar *t + 1*'s open or close."""

Finalize = Literal["open", "close"] | None
"""Whether open positions close on each symbol's last bar, and at which price."""

Rebalance = Literal["on_change", "every_bar"] | str
"""When held positions are resized back to their targets: only when the target changes
(``"on_change"``), on every bar, or on the first bar of each calendar period (``"1d"``,
``"1w"``, ``"1mo"``: any Polars ``dt.truncate`` interval)."""

DEFAULT_SYMBOL = "asset"
"""Symbol given to bars that have no ``symbol`` column."""

COST_PREFIX, SIZE_PREFIX, EXIT_PREFIX = "cost:", "size:", "exit:"
"""Prefixes of the cost model's, the sizer's and the exits' input columns."""

BAR_COLUMNS = ("ts", "open", "high", "low", "close")
"""The columns every backtest needs (``symbol`` is optional: :data:`DEFAULT_SYMBOL`)."""


def require_bar_columns(frame: pl.DataFrame, source: str, extra: tuple[str, ...] = ()) -> None:
    """Raise :class:`~houseedge.errors.SchemaMismatch` naming the first missing bar column.

    Examples
    --------
    >>> from houseedge.errors import SchemaMismatch
    >>> try:
    ...     require_bar_columns(pl.DataFrame({"ts": [1]}), "backtest")
    ... except SchemaMismatch as error:
    ...     print(error.field, error.expected)
    open ts, open, high, low, close
    """
    required = (*BAR_COLUMNS, *extra)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        msg = f"bars lack column(s) {', '.join(missing)}"
        raise SchemaMismatch(msg, source=source, field=missing[0], expected=", ".join(required))


def block_starts(frame: pl.DataFrame) -> Array:
    """Return the index of each symbol's first bar in a prepared frame.

    ``row`` counts bars within each symbol, so it ends at ``height - 1`` only when one symbol
    spans the whole frame: an O(1) answer for the common case instead of a pass over rows.

    Examples
    --------
    >>> block_starts(pl.DataFrame({"row": [0, 1, 2, 0, 1]})).tolist()
    [0, 3]
    """
    row = frame.get_column("row")
    if frame.height == 0 or row[-1] == frame.height - 1:
        return np.zeros(min(frame.height, 1), dtype=np.int64)
    return np.flatnonzero(row.to_numpy() == 0)


def symbol_offsets(frame: pl.DataFrame) -> dict[str, int]:
    """Return the index of each symbol's first bar in a (symbol, ts)-sorted frame, by symbol.

    Examples
    --------
    >>> symbol_offsets(pl.DataFrame({"symbol": ["A", "A", "B"]}))
    {'A': 0, 'B': 2}
    """
    firsts = frame.with_row_index("at").group_by("symbol", maintain_order=True).agg(pl.first("at"))
    return dict(firsts.iter_rows())
