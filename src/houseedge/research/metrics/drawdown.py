"""Drawdowns: the underwater series, its worst point, rolling worst points and the period table.

Conventions are those of :mod:`houseedge.research.metrics`: a missing return is a zero return, and
the path starts from a value of 1 placed *before* the first return (empyrical), so a loss on the
first period is a drawdown. :func:`drawdown_table` follows pyfolio instead, whose peaks are dates in
the series; the two agree unless the very first return is a loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from houseedge.research.metrics._drawdown_scan import worst_ratio
from houseedge.research.metrics.inputs import (
    ColumnLike,
    require_columns,
    returns_column,
    wealth_path,
)

__all__ = [
    "drawdown",
    "drawdown_depth",
    "drawdown_table",
    "max_drawdown",
    "rolling_max_drawdown",
]


def drawdown(returns: ColumnLike = "returns") -> pl.Expr:
    """Return the drawdown series: wealth over its running peak, minus one (0 at a new high).

    Parameters
    ----------
    returns
        Column name or expression of simple per-period returns.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.1, -0.5, 0.2]})
    >>> [round(x, 4) for x in df.select(drawdown()).to_series()]
    [0.0, -0.5, -0.4]
    """
    wealth = wealth_path(returns_column(returns))
    # clip at 1: the starting value before the first return is a peak too
    return (wealth / wealth.cum_max().clip(lower_bound=1.0) - 1.0).alias("drawdown")


def max_drawdown(returns: ColumnLike = "returns") -> pl.Expr:
    """Return the worst drawdown (a negative fraction; 0 when the path never falls).

    Parameters
    ----------
    returns
        Column name or expression of simple per-period returns.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.1, -0.5, 0.2]})
    >>> round(df.select(max_drawdown()).item(), 4)
    -0.5
    """
    return _over_observed(returns, _worst).alias("max_drawdown")


def drawdown_depth(returns: ColumnLike = "returns") -> pl.Expr:
    """Return minus the worst drawdown, NaN when the path never falls (a divisor for ratios).

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"returns": [0.1, -0.5, 0.2]}).select(drawdown_depth()).item()
    0.5
    >>> pl.DataFrame({"returns": [0.1, 0.2]}).select(drawdown_depth()).item()
    nan
    """
    return _over_observed(returns, _depth).alias("drawdown_depth")


def _over_observed(returns: ColumnLike, reduce: Callable[[pl.Series], float]) -> pl.Expr:
    """Return ``reduce`` of the observed returns (NaN as null), null when there are none.

    The raw column goes into one batch function: returns_column's NaN-to-null copy and a count
    beside it would cost more than the drawdown scan (NaN is looked for, and filled, here).
    """

    def observed(values: pl.Series) -> float | None:
        if values.is_nan().any():  # NaN is no observation, as null (returns_column's rule)
            values = values.fill_nan(None)
        return None if values.null_count() == values.len() else reduce(values)

    raw = pl.col(returns) if isinstance(returns, str) else returns
    return raw.cast(pl.Float64).map_batches(observed, return_dtype=pl.Float64, returns_scalar=True)


def _worst(returns: pl.Series) -> float:
    """Return the lowest point of :func:`drawdown`, the same floats as its Polars expression.

    One sequential scan in NumPy (:mod:`houseedge.research.metrics._drawdown_scan`): Polars'
    ``cum_prod``/``cum_max`` cost several times NumPy's ``cumprod``/``maximum.accumulate``
    here, and these are the same operations in the same order (a running product, a running
    maximum, one division), so the same bits. The chunks are read as they are (no copy into
    one array).
    """
    if returns.len() == 0:
        return float("nan")
    filled = returns.fill_null(0.0) if returns.null_count() else returns
    least = worst_ratio([chunk.to_numpy() for chunk in filled.get_chunks()])
    return least - 1.0


def _depth(returns: pl.Series) -> float:
    worst = _worst(returns)
    return -worst if worst < 0.0 else float("nan")


def rolling_max_drawdown(returns: ColumnLike = "returns", window: int = 21) -> pl.Expr:
    """Return, at each row, the worst drawdown within the trailing ``window`` rows.

    Each window starts afresh from a value of 1 before its first return (vectorbt's
    ``rolling_max_drawdown``). The first ``window - 1`` rows are null.

    Parameters
    ----------
    returns
        Column name or expression of simple per-period returns.
    window
        Number of rows in each window.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.1, -0.5, 0.2, 0.5]})
    >>> df.select(rolling_max_drawdown(window=2)).to_series().round(4).to_list()
    [None, -0.5, -0.5, 0.0]
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    return (
        returns_column(returns)
        .map_batches(lambda s: _rolling_max_drawdown(s, window), return_dtype=pl.Float64)
        .alias("rolling_max_drawdown")
    )


def _rolling_max_drawdown(series: pl.Series, window: int) -> pl.Series:
    values = series.fill_null(0.0).to_numpy()
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        wealth = np.cumprod(1.0 + sliding_window_view(values, window), axis=1)
        peak = np.maximum(np.maximum.accumulate(wealth, axis=1), 1.0)
        out[window - 1 :] = (wealth / peak - 1.0).min(axis=1)
    return pl.Series(series.name, out).fill_nan(None)


def drawdown_table(
    data: pl.DataFrame | pl.LazyFrame | pl.Series,
    *,
    returns: str = "returns",
    time: str | None = "ts",
    top: int = 5,
) -> pl.DataFrame:
    """Return the ``top`` worst drawdown periods, worst first, with pyfolio's semantics.

    A period runs from its peak (the last row at a running high before the valley) through its
    valley (the lowest point, the first one on ties) to its recovery (the first row back at the
    high; null when the series ends underwater). Periods do not overlap.

    Parameters
    ----------
    data
        A frame with ``returns`` (and ``time``) columns, or a Series of returns.
    returns
        Name of the returns column.
    time
        Name of the time column, or None (and always for a Series) to label rows by position.
    top
        Maximum number of periods to return.

    Returns
    -------
    pl.DataFrame
        ``peak``, ``valley``, ``recovery`` (labels), ``net_drawdown_pct`` (positive percent)
        and ``duration``: business days from peak to recovery inclusive for date/datetime
        labels (pyfolio), rows from peak to recovery inclusive otherwise; null if not recovered.

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.Series([0.1, -0.5, 0.2, 1.0, -0.1])
    >>> drawdown_table(s, top=2).select("peak", "valley", "recovery", "net_drawdown_pct")
    shape: (2, 4)
    ┌──────┬────────┬──────────┬──────────────────┐
    │ peak ┆ valley ┆ recovery ┆ net_drawdown_pct │
    │ ---  ┆ ---    ┆ ---      ┆ ---              │
    │ i64  ┆ i64    ┆ i64      ┆ f64              │
    ╞══════╪════════╪══════════╪══════════════════╡
    │ 0    ┆ 1      ┆ 3        ┆ 50.0             │
    │ 3    ┆ 4      ┆ null     ┆ 10.0             │
    └──────┴────────┴──────────┴──────────────────┘
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    rets, labels = _returns_and_labels(data, returns, time)
    values = rets.cast(pl.Float64).fill_nan(None).fill_null(0.0).to_numpy()
    wealth = np.cumprod(1.0 + values)
    underwater = wealth / np.maximum.accumulate(wealth) - 1.0 if len(values) else values
    periods = _worst_periods(underwater, top)
    peak = pl.Series([p for p, _, _ in periods], dtype=pl.Int64)
    valley = pl.Series([v for _, v, _ in periods], dtype=pl.Int64)
    recovery = pl.Series([r for _, _, r in periods], dtype=pl.Int64)
    table = pl.DataFrame(
        {
            "peak": labels.gather(peak),
            "valley": labels.gather(valley),
            "recovery": labels.gather(recovery),
            "net_drawdown_pct": pl.Series(
                [-underwater[v] * 100.0 for _, v, _ in periods], dtype=pl.Float64
            ),
        }
    )
    return table.with_columns(duration=_durations(table, peak, recovery))


def _returns_and_labels(
    data: pl.DataFrame | pl.LazyFrame | pl.Series, returns: str, time: str | None
) -> tuple[pl.Series, pl.Series]:
    if isinstance(data, pl.Series):
        return data, pl.int_range(len(data), eager=True, dtype=pl.Int64)
    wanted = [returns] if time is None else [returns, time]
    require_columns(data, wanted, "drawdown_table input")
    frame = data.lazy().select(wanted).collect()
    if time is not None:
        # pyfolio walks the series in time order
        frame = frame.sort(time)
    if time is None:
        return frame[returns], pl.int_range(frame.height, eager=True, dtype=pl.Int64)
    return frame[returns], frame[time]


def _worst_periods(underwater: np.ndarray, top: int) -> list[tuple[int, int, int | None]]:
    below = underwater < 0.0
    edges = np.diff(np.concatenate(([False], below, [False])).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # one past the last underwater row
    periods: list[tuple[float, int, int, int | None]] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        valley = start + int(np.argmin(underwater[start:end]))
        recovery = end if end < len(underwater) else None
        # the first row is always at its own running high, so start - 1 >= 0
        periods.append((float(underwater[valley]), start - 1, valley, recovery))
    # stable sort: on equal depth the earlier period wins, as pyfolio's idxmin does
    periods.sort(key=lambda p: p[0])
    return [(peak, valley, recovery) for _, peak, valley, recovery in periods[:top]]


def _durations(table: pl.DataFrame, peak: pl.Series, recovery: pl.Series) -> pl.Series:
    if table["peak"].dtype.is_temporal():
        dates = table.select(pl.col("peak", "recovery").cast(pl.Date))
        # business_day_count excludes its end, pyfolio's date_range includes it
        counted = dates.select(
            pl.business_day_count("peak", pl.col("recovery") + pl.duration(days=1))
        ).to_series()
        return counted.cast(pl.Int64).alias("duration")
    return (recovery - peak + 1).alias("duration")
