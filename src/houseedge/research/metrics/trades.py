"""Trade metrics over a trade ledger, and market exposure over a position frame.

Column contract
---------------
A trade ledger has one row per closed trade:

==============  =========================  ============================================
column          type                       meaning
==============  =========================  ============================================
``pnl``         float                      profit or loss of the trade, after costs
``return_pct``  float                      trade return as a fraction (0.05 = +5%)
``r_multiple``  float, nullable            pnl over initial risk; null when unknown
``bars_held``   integer                    bars from entry to exit
``entry_ts``    Datetime("ns", "UTC")      entry time
``exit_ts``     Datetime("ns", "UTC")      exit time
==============  =========================  ============================================

The expression builders take the column to read, so other ledgers fit by naming it.
:func:`trade_summary` needs ``pnl``, ``return_pct``, ``r_multiple`` and ``bars_held``.
:func:`exposure` reads an equity/position frame: one row per bar with a signed ``position``
(or an ``exposure`` fraction), where a non-zero value means the bar is in the market.

As for return metrics, NaN and null are missing and are dropped; no observation gives null.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from houseedge.research.metrics.inputs import (
    ColumnLike,
    require_columns,
    returns_column,
    when_observed,
)

__all__ = [
    "average_r",
    "expectancy",
    "exposure",
    "profit_factor",
    "r_distribution",
    "trade_summary",
    "win_rate",
]

SUMMARY_COLUMNS = ("pnl", "return_pct", "r_multiple", "bars_held")


def win_rate(pnl: ColumnLike = "pnl") -> pl.Expr:
    """Return the fraction of trades with a positive pnl (a zero pnl is not a win).

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"pnl": [10.0, -5.0, 0.0, 20.0]}).select(win_rate()).item()
    0.5
    """
    p = returns_column(pnl)
    return when_observed(p, (p > 0.0).mean()).alias("win_rate")


def profit_factor(pnl: ColumnLike = "pnl") -> pl.Expr:
    """Return gross profit over gross loss; +inf with no losing trade, NaN with neither.

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"pnl": [10.0, -5.0, 20.0]}).select(profit_factor()).item()
    6.0
    """
    p = returns_column(pnl)
    gains = p.clip(lower_bound=0.0).sum()
    losses = p.clip(upper_bound=0.0).sum().abs()  # abs, not negation: -0.0 would give -inf
    return when_observed(p, gains / losses).alias("profit_factor")


def expectancy(pnl: ColumnLike = "pnl") -> pl.Expr:
    """Return the mean outcome per trade (win_rate * mean win - loss_rate * mean loss).

    Pass ``"return_pct"`` or ``"r_multiple"`` for the expectancy in those units.

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"pnl": [10.0, -5.0, 25.0]}).select(expectancy()).item()
    10.0
    """
    p = returns_column(pnl)
    return when_observed(p, p.mean()).alias("expectancy")


def average_r(r_multiple: ColumnLike = "r_multiple") -> pl.Expr:
    """Return the mean R multiple over the trades whose R is known.

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"r_multiple": [2.0, None, -1.0]}).select(average_r()).item()
    0.5
    """
    r = returns_column(r_multiple)
    return when_observed(r, r.mean()).alias("average_r")


def exposure(position: ColumnLike = "position") -> pl.Expr:
    """Return the fraction of bars in the market (a non-zero position or exposure).

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"position": [0.0, 1.0, -2.0, 0.0]}).select(exposure()).item()
    0.5
    """
    p = returns_column(position)
    return when_observed(p, (p != 0.0).mean()).alias("exposure")


def r_distribution(
    trades: pl.DataFrame | pl.LazyFrame,
    *,
    column: str = "r_multiple",
    bin_width: float = 0.5,
) -> pl.DataFrame:
    """Return a histogram of R multiples with contiguous bins [lower, upper).

    Empty bins between the smallest and the largest R are kept (count 0) so the frame plots as
    is; trades without an R are left out.

    Examples
    --------
    >>> import polars as pl
    >>> trades = pl.DataFrame({"r_multiple": [-1.0, -0.8, 2.1, None]})
    >>> r_distribution(trades, bin_width=1.0)
    shape: (4, 4)
    ┌───────┬───────┬───────┬──────────┐
    │ lower ┆ upper ┆ count ┆ fraction │
    │ ---   ┆ ---   ┆ ---   ┆ ---      │
    │ f64   ┆ f64   ┆ u32   ┆ f64      │
    ╞═══════╪═══════╪═══════╪══════════╡
    │ -1.0  ┆ 0.0   ┆ 2     ┆ 0.666667 │
    │ 0.0   ┆ 1.0   ┆ 0     ┆ 0.0      │
    │ 1.0   ┆ 2.0   ┆ 0     ┆ 0.0      │
    │ 2.0   ┆ 3.0   ┆ 1     ┆ 0.333333 │
    └───────┴───────┴───────┴──────────┘
    """
    if not bin_width > 0.0:
        raise ValueError(f"bin_width must be positive, got {bin_width}")
    require_columns(trades, [column], "trade frame")
    r = trades.lazy().select(returns_column(column).drop_nulls().alias("r")).collect()["r"]
    counts = (
        r.to_frame()
        .group_by(bin=(pl.col("r") / bin_width).floor().cast(pl.Int64))
        .agg(count=pl.len())
    )
    bins = pl.Series("bin", [], dtype=pl.Int64)
    if not counts.is_empty():
        low, high = counts["bin"].min(), counts["bin"].max()
        bins = pl.int_range(pl.lit(low), pl.lit(high) + 1, eager=True, dtype=pl.Int64).alias("bin")
    return (
        bins.to_frame()
        .join(counts, on="bin", how="left")
        .select(
            lower=pl.col("bin") * bin_width,
            upper=(pl.col("bin") + 1) * bin_width,
            count=pl.col("count").fill_null(0).cast(pl.UInt32),
            fraction=pl.col("count").fill_null(0) / len(r),
        )
    )


def trade_summary(
    trades: pl.DataFrame | pl.LazyFrame, *, by: str | Sequence[str] | None = None
) -> pl.DataFrame:
    """Return one row of trade statistics (one per group with ``by``).

    Examples
    --------
    >>> import polars as pl
    >>> trades = pl.DataFrame(
    ...     {
    ...         "pnl": [10.0, -5.0, 25.0],
    ...         "return_pct": [0.02, -0.01, 0.05],
    ...         "r_multiple": [2.0, -1.0, None],
    ...         "bars_held": [3, 1, 8],
    ...     }
    ... )
    >>> trade_summary(trades).select("trades", "win_rate", "profit_factor", "average_r").row(0)
    (3, 0.6666666666666666, 7.0, 0.5)
    """
    keys = [by] if isinstance(by, str) else list(by or [])
    require_columns(trades, [*keys, *SUMMARY_COLUMNS], "trade frame")
    pnl = returns_column("pnl")
    metrics = [
        pl.len().alias("trades"),
        win_rate(),
        profit_factor(),
        expectancy(),
        when_observed(pnl, pnl.sum()).alias("total_pnl"),
        when_observed(pnl, pnl.filter(pnl > 0.0).mean()).alias("average_win"),
        when_observed(pnl, pnl.filter(pnl < 0.0).mean()).alias("average_loss"),
        expectancy("return_pct").alias("average_return"),
        average_r(),
        pl.col("bars_held").cast(pl.Float64).mean().alias("average_bars_held"),
    ]
    frame = trades.lazy()
    if keys:
        return frame.group_by(keys, maintain_order=True).agg(metrics).collect()
    return frame.select(metrics).collect()
