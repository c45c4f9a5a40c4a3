"""Stage 3 of a backtest, second half: round-trip trades from the orders and fills.

When every fill opens from flat or closes to flat (the common case), each entry pairs with the
next fill of its symbol in NumPy (:func:`whole_trades`); otherwise the FIFO ledger of
:mod:`houseedge.research.backtest.ledger` matches the orders (:func:`ledger_trades`). Both add
the excursions (``mae``, ``mfe``) over the bars each trade was exposed to, ``bars_held`` and
``r_multiple``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from houseedge.research.backtest.exits import EXIT_REASONS
from houseedge.research.backtest.frame import Array, Finalize, block_starts, symbol_offsets
from houseedge.research.backtest.ledger import TRADE_COLUMNS, round_trips
from houseedge.research.backtest.market import FillArrays

_DIRECTIONS = pl.Series(["short", "long"], dtype=pl.String)


def trades(
    frame: pl.DataFrame, orders: pl.DataFrame, fills: FillArrays, execution: str, finalize: Finalize
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the (closed, open) trades of a vectorised run's orders and fills."""
    # Fills before their bar's range: exits, finalizing closes at the open, and with next-open
    # execution every other fill (so then all but finalizing closes at the close).
    reason = orders.get_column("reason")
    if execution != "next_open":
        before_range = reason.is_in([*EXIT_REASONS, *(["finalize"] * (finalize == "open"))])
    elif finalize == "open":
        before_range = pl.repeat(True, reason.len(), eager=True)
    else:
        before_range = reason != "finalize"
    pairs = whole_trades(frame, orders, fills, before_range=before_range.to_numpy())
    if pairs is not None:
        return pairs
    closed, still_open = ledger_trades(
        frame, orders, entry_at_open=execution == "next_open", finalize=finalize
    )
    return with_risk(closed, orders, fills), still_open


def ledger_trades(
    frame: pl.DataFrame, orders: pl.DataFrame, *, entry_at_open: bool, finalize: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (closed trades, open trades) with ``mae, mfe, bars_held, r_multiple``.

    Excursions use the highs and lows of the bars the trade was exposed to (a fill at an open
    exposes its own bar, a fill at a close starts with the next), plus the fill prices.
    """
    closed, still_open = round_trips(orders)
    offsets = symbol_offsets(frame)
    last = frame.group_by("symbol").agg(last_row=pl.len() - 1)
    exit_open = (
        pl.when(pl.col("exit_row") == pl.col("last_row"))
        .then(pl.lit(finalize == "open") if finalize is not None else pl.lit(entry_at_open))
        .otherwise(pl.lit(entry_at_open))
    )
    closed = closed.join(last, on="symbol", how="left").with_columns(
        start=pl.col("symbol").replace_strict(offsets, return_dtype=pl.Int64)
        + pl.col("entry_row")
        + (0 if entry_at_open else 1),
        stop=pl.col("symbol").replace_strict(offsets, return_dtype=pl.Int64)
        + pl.col("exit_row")
        - exit_open.cast(pl.Int64),
    )
    closed = _excursions(frame, closed).drop("start", "stop", "last_row")
    extra = {"r_multiple": pl.lit(None, pl.Float64)}
    return (
        closed.with_columns(**extra),
        still_open.with_columns(
            **extra,
            mae=pl.lit(None, pl.Float64),
            mfe=pl.lit(None, pl.Float64),
            bars_held=pl.lit(None, pl.Int64),
        ),
    )


def _excursions(frame: pl.DataFrame, closed: pl.DataFrame) -> pl.DataFrame:
    high, low = frame.get_column("high").to_numpy(), frame.get_column("low").to_numpy()
    spans = (
        closed.select(trade=pl.int_range(pl.len()), bar=pl.int_ranges("start", pl.col("stop") + 1))
        .explode("bar")
        .drop_nulls()
    )
    bars = spans.get_column("bar").to_numpy()
    extremes = (
        spans.with_columns(high=pl.Series(high[bars]), low=pl.Series(low[bars]))
        .group_by("trade")
        .agg(pl.max("high"), pl.min("low"))
    )
    long = pl.col("direction") == "long"
    entry = pl.col("entry_price")
    hi = pl.max_horizontal("high", "entry_price", "exit_price")
    lo = pl.min_horizontal("low", "entry_price", "exit_price")
    return (
        closed.with_row_index("trade")
        .join(extremes.with_columns(pl.col("trade").cast(pl.UInt32)), on="trade", how="left")
        .with_columns(
            mae=pl.when(long).then(lo / entry - 1.0).otherwise(1.0 - hi / entry),
            mfe=pl.when(long).then(hi / entry - 1.0).otherwise(1.0 - lo / entry),
            bars_held=pl.col("exit_row") - pl.col("entry_row"),
        )
        .drop("trade", "high", "low")
    )


def whole_trades(
    frame: pl.DataFrame, orders: pl.DataFrame, fills: FillArrays, *, before_range: Array
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Return (closed, open) trades when every fill opens from or closes to flat, else None.

    Then FIFO matching pairs each entry with the next fill of its symbol: no ledger walk.
    ``before_range`` flags, per fill, fills that came before their bar's range (a next-open
    entry is exposed to its bar; such an exit, or an intra-bar exit, is not).
    """
    starts = block_starts(frame)
    code = np.searchsorted(starts, fills.bar, side="right") - 1
    order = np.lexsort((np.arange(code.size), code))  # by symbol, then execution order
    before = (fills.position_after - fills.qty)[order]
    after = fills.position_after[order]
    if not ((before == 0) | (after == 0)).all():
        return None
    opens = np.flatnonzero(before == 0)
    fill_code, code = code, code[order]
    nxt = np.minimum(opens + 1, max(order.size - 1, 0))
    has_exit = (opens + 1 < order.size) & (after[nxt] == 0) & (code[nxt] == code[opens])
    entry, leave = order[opens[has_exit]], order[opens[has_exit] + 1]
    closed = _pairs(frame, fills, (entry, leave), (starts, fill_code))
    closed = _excursions_at(frame, closed, entry, leave, fills, before_range)
    still = order[opens[~has_exit]]
    still_open = orders[still].select(
        "symbol",
        direction=pl.when(pl.col("side") == "buy").then(pl.lit("long")).otherwise(pl.lit("short")),
        qty="qty",
        entry_ts="ts",
        exit_ts=pl.lit(None, orders.schema["ts"]),
        entry_price="price",
        exit_price=pl.lit(None, pl.Float64),
        entry_row="row",
        exit_row=pl.lit(None, pl.Int64),
        fees="fee",
        pnl=pl.lit(None, pl.Float64),
        return_pct=pl.lit(None, pl.Float64),
        r_multiple=pl.lit(None, pl.Float64),
        mae=pl.lit(None, pl.Float64),
        mfe=pl.lit(None, pl.Float64),
        bars_held=pl.lit(None, pl.Int64),
    )
    return closed, still_open


def _pairs(
    frame: pl.DataFrame, fills: FillArrays, legs: tuple[Array, Array], blocks: tuple[Array, Array]
) -> pl.DataFrame:
    """Return the round trips of entry and exit fills ``legs`` (``blocks``: starts and codes)."""
    entry, leave = legs
    starts, code = blocks
    qty = np.abs(fills.qty[entry])
    sign = np.sign(fills.qty[entry])
    fees = fills.fee[entry] + fills.fee[leave]
    pnl = sign * qty * (fills.price[leave] - fills.price[entry]) - fees
    with np.errstate(divide="ignore", invalid="ignore"):
        r = pnl / (qty * fills.risk[entry])
    # Times, rows and symbols from the fills' bars by NumPy indexing over the trades only.
    ts = frame.get_column("ts")
    stamps = ts.to_physical().to_numpy()
    rows = fills.bar - starts[code]
    return pl.DataFrame(
        {
            "symbol": frame.get_column("symbol").gather(starts).gather(code[entry]),
            "direction": _DIRECTIONS.gather((sign > 0).astype(np.int8)),
            "qty": qty,
            "entry_ts": pl.Series(stamps[fills.bar[entry]]).cast(ts.dtype),
            "exit_ts": pl.Series(stamps[fills.bar[leave]]).cast(ts.dtype),
            "entry_price": fills.price[entry],
            "exit_price": fills.price[leave],
            "entry_row": rows[entry],
            "exit_row": rows[leave],
            "fees": fees,
            "pnl": pnl,
            "return_pct": pnl / (qty * fills.price[entry]),
            "r_multiple": pl.Series(r, dtype=pl.Float64, nan_to_null=True),
        }
    )


def _excursions_at(
    frame: pl.DataFrame,
    closed: pl.DataFrame,
    entry: Array,
    leave: Array,
    fills: FillArrays,
    before_range: Array,
) -> pl.DataFrame:
    """Add ``mae, mfe, bars_held`` from the highs and lows the trades were exposed to."""
    start = fills.bar[entry] + np.where(before_range[entry], 0, 1)
    stop = fills.bar[leave] - before_range[leave].astype(np.int64)
    high, low = frame.get_column("high").to_numpy(), frame.get_column("low").to_numpy()
    empty = start > stop
    bounds = np.column_stack([np.where(empty, 0, start), np.where(empty, 1, stop + 1)]).ravel()
    # reduceat's last segment runs to the end: a bound at the end is dropped (no padded copy
    # of the bars) unless another one also reaches it.
    bounds = bounds[:-1] if bounds.size and bounds[-1] == high.size else bounds
    if bounds.size and bounds.max() >= high.size:
        high, low = np.append(high, np.nan), np.append(low, np.nan)
    none = np.empty(0)
    top = np.where(empty, np.nan, np.maximum.reduceat(high, bounds)[::2]) if bounds.size else none
    bottom = np.where(empty, np.nan, np.minimum.reduceat(low, bounds)[::2]) if bounds.size else none
    long = pl.col("direction") == "long"
    entry_price = pl.col("entry_price")
    hi = pl.max_horizontal(pl.Series(top, dtype=pl.Float64), "entry_price", "exit_price")
    lo = pl.min_horizontal(pl.Series(bottom, dtype=pl.Float64), "entry_price", "exit_price")
    return closed.with_columns(
        mae=pl.when(long).then(lo / entry_price - 1.0).otherwise(1.0 - hi / entry_price),
        mfe=pl.when(long).then(hi / entry_price - 1.0).otherwise(1.0 - lo / entry_price),
        bars_held=pl.col("exit_row") - pl.col("entry_row"),
    ).select(*TRADE_COLUMNS, "mae", "mfe", "bars_held", "r_multiple")


def with_risk(closed: pl.DataFrame, orders: pl.DataFrame, fills: FillArrays) -> pl.DataFrame:
    """Set ``r_multiple`` on ledger trades from the initial risk of their entry fills."""
    risk = orders.select("symbol", entry_row="row", risk=pl.Series(fills.risk)).filter(
        pl.col("risk").is_not_nan()
    )
    if risk.height == 0:
        return closed
    joined = closed.drop("r_multiple").join(risk, on=["symbol", "entry_row"], how="left")
    return joined.with_columns(r_multiple=pl.col("pnl") / (pl.col("qty") * pl.col("risk"))).drop(
        "risk"
    )
