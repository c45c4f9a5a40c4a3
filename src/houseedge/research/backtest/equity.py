"""Stage 4 of a backtest: per-bar positions, cash and equity, rebuilt from the fills.

Everything here is cumulative Polars/NumPy over bars. A one-symbol run reads the fills' own
running cash and position (:func:`single_symbol`); several symbols (and the event-driven
backtest) scatter the orders onto their bars (:func:`positions`) and sum them per time
(:func:`equity_curve`). Equity is cash plus positions marked on the close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from houseedge.research.backtest.frame import Array, symbol_offsets
from houseedge.research.backtest.market import FillArrays


def _scatter(
    size: int, index: np.ndarray[Any, Any], values: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    out = np.zeros(size)
    np.add.at(out, index, values)
    return out


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
    offsets = symbol_offsets(frame)
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
    return (
        frame.select(
            "symbol",
            "ts",
            "close",
            flow=pl.Series(_scatter(n, index, flow)),
            fee=pl.Series(_scatter(n, index, fee)),
            filled=pl.Series(_scatter(n, index, np.ones(len(index))) > 0),
            position=after,
        )
        .with_columns(
            position=over(held.forward_fill()).fill_null(0.0),
        )
        .with_columns(
            value=held * pl.col("close"),
            gross=(held * pl.col("close")).abs(),
            borrow=pl.when(held < 0).then(-held * pl.col("close") * borrow_rate).otherwise(0.0),
            in_market=(held != 0) | (over(held.shift(1, fill_value=0.0)) != 0) | pl.col("filled"),
        )
        .drop("filled")
    )


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
            .group_by("ts")
            .agg(pl.sum("flow", "fee", "borrow", "d_value", "d_gross"), pl.col("in_market").any())
            .sort("ts")
            .with_columns(
                position_value=pl.col("d_value").cum_sum(), gross=pl.col("d_gross").cum_sum()
            )
        )
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


def holdings_per_bar(
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
    money, held, in_market = holdings_per_bar(n, fills, cash, in_market=True)
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
            "ts",
            "cash",
            position_value=pl.col("held") * pl.col("close"),
            fees="fees",
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
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = _returns(curve.get_column("equity").to_numpy(), cash)
    columns = ("ts", "cash", "position_value", "gross_exposure", "fees", "borrow", "in_market")
    curve = curve.select(
        *columns, "equity", returns, exposure=pl.col("gross_exposure") / pl.col("equity")
    )

    def book() -> pl.DataFrame:
        flow = np.bincount(fills.bar, weights=-fills.qty * fills.price - fills.fee, minlength=n)
        return curve.select(
            symbol=frame.get_column("symbol"),
            ts="ts",
            close=pl.Series(close),
            flow=pl.Series(flow.astype(np.float64)),
            fee="fees",
            position=pl.Series(held),
            value="position_value",
            gross="gross_exposure",
            borrow="borrow",
            in_market="in_market",
        )

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
