"""Stage 3 of a backtest: the ledger, from the fills to the orders frame and its trades.

:func:`orders_and_trades` hands both forward unbuilt (a :class:`Deferred` each): a one-symbol
run's equity needs neither, so on long runs they are built on a helper thread while the equity
frame is (:mod:`~houseedge.research.backtest.equity`), and otherwise on first access.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from houseedge.research.backtest.exits import EXIT_REASONS
from houseedge.research.backtest.frame import Finalize, block_starts
from houseedge.research.backtest.market import FillArrays
from houseedge.research.backtest.result import Deferred
from houseedge.research.backtest.trades import trades

_OWN_BAR = ("finalize", *EXIT_REASONS)
_SIDES = pl.Series(["sell", "buy"], dtype=pl.String)


def orders_frame(bars: pl.DataFrame, fills: FillArrays) -> pl.DataFrame:
    """Return the fills as the ``orders`` frame, sorted by time (stable)."""
    # Index arithmetic in NumPy over the fills, not gathers of 1M-bar columns per field.
    starts = block_starts(bars)
    code = np.searchsorted(starts, fills.bar, side="right") - 1
    rows = fills.bar - starts[code]
    ts = bars.get_column("ts")
    stamps = ts.to_physical().to_numpy()
    # The decision bar is the bar before the fill; an end-of-data close (or an exit) is
    # decided on its own bar.
    own = fills.reason.is_in(_OWN_BAR).to_numpy()
    decided = stamps[fills.bar - (~own & (rows > 0))]  # one gather: the bar or the one before
    symbol = bars.get_column("symbol")
    frame = pl.DataFrame(
        {
            "ts": pl.Series(stamps[fills.bar]).cast(ts.dtype),
            "symbol": pl.repeat(symbol[0], code.size, dtype=symbol.dtype, eager=True)
            if starts.size == 1
            else symbol.gather(starts).gather(code),
            "side": _SIDES.gather((fills.qty > 0).astype(np.int8)),
            "qty": np.abs(fills.qty),
            "price": fills.price,
            "fee": fills.fee,
            "reason": fills.reason,
            "decision_ts": pl.Series(decided).cast(ts.dtype),
            "row": rows,
            "position_after": fills.position_after,
            "cash_after": fills.cash_after,
        }
    )
    ordered = frame.get_column("ts").is_sorted()
    return frame if ordered else frame.sort("ts", maintain_order=True)


# Below this many bars the trades are built on first access, on the reader's thread.
_BACKGROUND = 1 << 18


@functools.cache
def _builder(pid: int) -> ThreadPoolExecutor:
    # One per process (a pool inherited through fork has no live thread and would hang), and
    # not the window sums' helper: a task queued behind the trades would wait for them.
    del pid
    return ThreadPoolExecutor(1, thread_name_prefix="backtest-trades")


def orders_and_trades(
    frame: pl.DataFrame, fills: FillArrays, execution: str, finalize: Finalize, *, overlap: bool
) -> tuple[Deferred[pl.DataFrame], Deferred[tuple[pl.DataFrame, pl.DataFrame]]]:
    """Return the orders and the (closed, open) trades, each built once on first access.

    With ``overlap`` on long runs both start at once on another thread, while the caller
    builds the equity frame (mostly one core): on two cores they cost no wall time. A reader
    waits for them on first access (an error surfaces there).
    """
    if overlap and frame.height >= _BACKGROUND and (os.cpu_count() or 1) >= 2:
        pool = _builder(os.getpid())
        orders = pool.submit(orders_frame, frame, fills)
        both = pool.submit(lambda: trades(frame, orders.result(), fills, execution, finalize))
        return Deferred(orders.result), Deferred(both.result)
    built = Deferred(lambda: orders_frame(frame, fills))
    return built, Deferred(lambda: trades(frame, built.get(), fills, execution, finalize))
