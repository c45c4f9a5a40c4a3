"""Per-bar positions, cash and equity, and per-trade excursions, rebuilt from the fills.

Everything here is cumulative Polars/NumPy over bars: fills are scattered onto their bars, the
position is their running sum, cash the running sum of cash flows minus borrow, and equity is
cash plus positions marked on the close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from houseedge.research.backtest.ledger import TRADE_COLUMNS, round_trips
from houseedge.research.backtest.vectorized import block_starts

if TYPE_CHECKING:
    from houseedge.research.backtest.market import FillArrays

Array = np.ndarray[Any, Any]
_DIRECTIONS = pl.Series(["short", "long"], dtype=pl.String)


def _scatter(
    size: int, index: np.ndarray[Any, Any], values: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    out = np.zeros(size)
    np.add.at(out, index, values)
    return out


def _offsets(frame: pl.DataFrame) -> dict[str, int]:
    """Return the global index of each symbol's first bar in the (symbol, ts)-sorted frame."""
    firsts = frame.with_row_index("at").group_by("symbol", maintain_order=True).agg(pl.first("at"))
    return dict(firsts.iter_rows())


def _last_per_bar(
    size: int, index: np.ndarray[Any, Any], values: np.ndarray[Any, Any]
) -> pl.Series:
    """Return ``values`` placed at ``index`` (the last one wins), null elsewhere."""
    out = np.full(size, np.nan)
    # Fancy assignment leaves repeated indices unordered; keep each bar's last fill explicitly.
    reversed_index = index[::-1]
    unique, first_from_end = np.unique(reversed_index, return_index=True)
    out[unique] = values[::-1][first_from_end]
    return pl.Series(out).fill_nan(None)


def positions(frame: pl.DataFrame, orders: pl.DataFrame, borrow_rate: float) -> pl.DataFrame:
    """Return per-bar ``symbol, ts, close, flow, fee, position, value, gross, borrow, in_market``.

    The position is the loop's own running position after each bar's last fill, carried forward
    (not a re-summed cumulative, which drifts by float dust over many fills).
    """
    offsets = _offsets(frame)
    index = (
        orders.get_column("symbol").replace_strict(offsets, return_dtype=pl.Int64)
        + orders.get_column("row")
    ).to_numpy()
    signed = np.where(orders.get_column("side").to_numpy() == "buy", 1.0, -1.0)
    signed *= orders.get_column("qty").to_numpy()
    fee = orders.get_column("fee").to_numpy()
    flow = -signed * orders.get_column("price").to_numpy() - fee
    n = frame.height
    multi = len(offsets) > 1

    def over(expr: pl.Expr) -> pl.Expr:
        return expr.over("symbol") if multi else expr

    held = pl.col("position")
    after = _last_per_bar(n, index, orders.get_column("position_after").to_numpy())
    return frame.select(
        "symbol", "ts", "close",
        flow=pl.Series(_scatter(n, index, flow)),
        fee=pl.Series(_scatter(n, index, fee)),
        filled=pl.Series(_scatter(n, index, np.ones(len(index))) > 0),
        position=after,
    ).with_columns(
        position=over(held.forward_fill()).fill_null(0.0),
    ).with_columns(
        value=held * pl.col("close"),
        gross=(held * pl.col("close")).abs(),
        borrow=pl.when(held < 0).then(-held * pl.col("close") * borrow_rate).otherwise(0.0),
        in_market=(held != 0) | (over(held.shift(1, fill_value=0.0)) != 0) | pl.col("filled"),
    ).drop("filled")  # fmt: skip


def equity_curve(book: pl.DataFrame, orders: pl.DataFrame, cash: float) -> pl.DataFrame:
    """Return the portfolio per time: cash, position value, gross exposure, equity, returns.

    Cash is the trading cash recorded after the last fill at or before each time (exact, as
    the loop computed it) minus the borrow accrued so far.
    """
    multi = book.get_column("symbol").n_unique() > 1
    if multi:
        # A symbol without a bar at some time keeps its last value: sum value *changes* per time.
        def change(c: str) -> pl.Expr:
            return pl.col(c) - pl.col(c).shift(1, fill_value=0.0).over("symbol")

        per_time = (
            book.with_columns(d_value=change("value"), d_gross=change("gross"))
            .group_by("ts").agg(
                pl.sum("flow", "fee", "borrow", "d_value", "d_gross"), pl.col("in_market").any()
            ).sort("ts")
            .with_columns(
                position_value=pl.col("d_value").cum_sum(), gross=pl.col("d_gross").cum_sum()
            )
        )  # fmt: skip
    else:
        per_time = book.select(
            "ts", "flow", "fee", "borrow", "in_market", position_value="value", gross="gross"
        )
    trading_cash = orders.group_by("ts", maintain_order=True).agg(pl.last("cash_after"))
    per_time = per_time.join_asof(
        trading_cash, on="ts", strategy="backward", check_sortedness=False
    )
    equity = pl.col("cash") + pl.col("position_value")
    return (
        per_time.select(
            "ts",
            cash=pl.col("cash_after").fill_null(cash) - pl.col("borrow").cum_sum(),
            position_value="position_value",
            gross_exposure="gross",
            fees="fee",
            borrow="borrow",
            in_market=pl.col("in_market") | (pl.col("gross") > 0),
        )
        .with_columns(equity=equity)
        .with_columns(
            returns=pl.col("equity").pct_change().fill_null(pl.col("equity") / cash - 1.0),
            exposure=pl.col("gross_exposure") / pl.col("equity"),
        )
    )


def trades(
    frame: pl.DataFrame, orders: pl.DataFrame, *, entry_at_open: bool, finalize: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (closed trades, open trades) with ``mae, mfe, bars_held, r_multiple``.

    Excursions use the highs and lows of the bars the trade was exposed to (a fill at an open
    exposes its own bar, a fill at a close starts with the next), plus the fill prices.
    """
    closed, still_open = round_trips(orders)
    offsets = _offsets(frame)
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


def _per_bar(
    n: int, fills: FillArrays, cash: float, *, in_market: bool = False
) -> tuple[Array, Array, Array]:
    """Return the trading cash and the position after each bar's last fill, and fill flags.

    ``in_market``: the flags say whether a position was held at some point of each bar. All
    are constant between fills, so repeated over runs of bars (one pass writing each output).
    """
    bars = fills.bar
    flags = np.zeros(n, dtype=bool)
    if not bars.size:
        return np.full(n, cash), np.zeros(n), flags
    last = np.flatnonzero(np.append(bars[1:] != bars[:-1], True))
    runs = np.diff(bars[last], prepend=0, append=n)
    position = np.concatenate([[0.0], fills.position_after[last]])
    held = np.repeat(position, runs)
    money = np.repeat(np.concatenate([[cash], fills.cash_after[last]]), runs)
    if in_market:
        flags = np.repeat(position != 0, runs)
    flags[bars] = True
    return money, held, flags


def single_symbol(
    frame: pl.DataFrame, fills: FillArrays, cash: float, borrow_rate: float
) -> tuple[pl.DataFrame, Callable[[], pl.DataFrame]]:
    """Return the equity frame of a one-symbol run, and a function building its positions.

    The same columns as :func:`equity_curve` and :func:`positions`, without per-time grouping
    (one symbol): the per-bar arithmetic in parallel Polars stages into reused memory (fresh
    NumPy arrays of 10M bars cost as much in page faults as arithmetic), returns in NumPy.
    """
    n, close = frame.height, frame.get_column("close").to_numpy()
    money, held, in_market = _per_bar(n, fills, cash, in_market=True)
    borrow = np.zeros(0)
    if borrow_rate:
        borrow = np.where(held < 0, -(held * close) * borrow_rate, 0.0)
        money = money - np.cumsum(borrow)
    # Without fills bincount returns integers: keep the columns float.
    fees = np.bincount(fills.bar, weights=fills.fee, minlength=n).astype(np.float64, copy=False)
    columns = {"ts": frame.get_column("ts"), "cash": money, "held": held, "close": close}
    value = pl.col("position_value")
    # Eager stages (the in-memory engine: the streaming one splits columns into morsels).
    curve = (
        pl.DataFrame(columns | {"fees": fees, "in_market": in_market})
        .select(
            "ts", "cash", position_value=pl.col("held") * pl.col("close"), fees="fees",
            # Without borrow a literal column: no zeroed array of every bar.
            borrow=pl.Series(borrow) if borrow_rate else pl.lit(0.0),
            in_market="in_market",
        )
        # The value is a column of its own: written as cash + held * close, Polars fuses the
        # equity into one fma (other bits than the engine's and the sweep's multiply-then-add).
        .with_columns(
            # Never short (no -0.0 either) on positive closes: the value is its own absolute.
            gross_exposure=value if _unsigned(fills, close) else value.abs(),
            equity=pl.col("cash") + value,
        )
    )  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = _returns(curve.get_column("equity").to_numpy(), cash)
    columns = ("ts", "cash", "position_value", "gross_exposure", "fees", "borrow", "in_market")
    curve = curve.select(
        *columns, "equity", returns, exposure=pl.col("gross_exposure") / pl.col("equity")
    )

    def book() -> pl.DataFrame:
        flow = np.bincount(fills.bar, weights=-fills.qty * fills.price - fills.fee, minlength=n)
        return curve.select(
            symbol=frame.get_column("symbol"), ts="ts", close=pl.Series(close),
            flow=pl.Series(flow.astype(np.float64)), fee="fees", position=pl.Series(held),
            value="position_value", gross="gross_exposure", borrow="borrow",
            in_market="in_market",
        )  # fmt: skip

    return curve, book


def _unsigned(fills: FillArrays, close: Array) -> bool:
    """Return whether every position is at least +0.0 and every close above 0 (not NaN)."""
    return not np.signbit(fills.position_after).any() and bool(close.size and close.min() > 0)


def _returns(equity: Array, cash: float) -> pl.Series:
    """Return ``pl.Series(equity).pct_change().fill_null(first)``, bits and chunks alike.

    That is ``(x - prev) / prev`` in a chunk after the first return, against the starting
    cash (a Series' std sums chunk by chunk, so the layout is kept as well as the values).
    """
    first = float(equity[0]) / cash - 1.0 if equity.size else 0.0
    if equity.size < 2:
        return pl.Series("returns", equity).pct_change().fill_null(first)
    rest = np.subtract(equity[1:], equity[:-1])
    rest /= equity[:-1]
    head = pl.Series("returns", [first], dtype=pl.Float64)
    return pl.concat([head, pl.Series("returns", rest)], rechunk=False)


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
        "symbol", direction=pl.when(pl.col("side") == "buy").then(pl.lit("long"))
        .otherwise(pl.lit("short")), qty="qty", entry_ts="ts",
        exit_ts=pl.lit(None, orders.schema["ts"]), entry_price="price",
        exit_price=pl.lit(None, pl.Float64), entry_row="row", exit_row=pl.lit(None, pl.Int64),
        fees="fee", pnl=pl.lit(None, pl.Float64), return_pct=pl.lit(None, pl.Float64),
        r_multiple=pl.lit(None, pl.Float64), mae=pl.lit(None, pl.Float64),
        mfe=pl.lit(None, pl.Float64), bars_held=pl.lit(None, pl.Int64),
    )  # fmt: skip
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
            "qty": qty, "entry_ts": pl.Series(stamps[fills.bar[entry]]).cast(ts.dtype),
            "exit_ts": pl.Series(stamps[fills.bar[leave]]).cast(ts.dtype),
            "entry_price": fills.price[entry], "exit_price": fills.price[leave],
            "entry_row": rows[entry], "exit_row": rows[leave],
            "fees": fees, "pnl": pnl, "return_pct": pnl / (qty * fills.price[entry]),
            "r_multiple": pl.Series(r, dtype=pl.Float64, nan_to_null=True),
        }
    )  # fmt: skip


def _excursions_at(
    frame: pl.DataFrame, closed: pl.DataFrame, entry: Array, leave: Array, fills: FillArrays,
    before_range: Array,
) -> pl.DataFrame:  # fmt: skip
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
