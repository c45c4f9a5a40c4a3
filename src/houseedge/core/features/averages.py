"""Exact moving averages: simple, weighted, exponential, and the window helpers they share.

Windows are exact: ``sma`` comes from the correctly rounded window sum (exact integer prefix
sums, :mod:`houseedge.core.features.window_sum`), ``wma`` and :func:`window_std` from each
window's own inputs in a fixed order, so a window evaluation (the live engine's last
``warmup + 1`` bars) reproduces the full-history value bit for bit. Exponential averages
(:func:`ema`, :func:`seeded_ewm`) are seeded with the simple average of their first ``n``
inputs and then remember their whole history. The indicators built on them are in
:mod:`houseedge.core.features.indicators`, which re-exports the public names.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any, Literal

import polars as pl

from houseedge.core.features.window_sum import in_halves, window_sums

__all__ = [
    "IntoExpr",
    "as_expr",
    "check_length",
    "ema",
    "seeded_ewm",
    "sma",
    "window_means",
    "window_std",
    "wma",
]

IntoExpr = str | pl.Expr
"""A column name or an expression."""


def as_expr(x: IntoExpr) -> pl.Expr:
    """Return ``x`` as an expression: a column name becomes ``pl.col(x)``.

    Examples
    --------
    >>> as_expr("close").meta.output_name()
    'close'
    """
    return pl.col(x) if isinstance(x, str) else x


def check_length(n: object, name: str = "n", minimum: int = 1) -> None:
    """Raise ``ValueError`` unless ``n`` is an integer ``>= minimum`` (a window length).

    Window lengths often come from sweeps and configs: floats and bools are rejected early.

    Examples
    --------
    >>> check_length(2.0)
    Traceback (most recent call last):
    ...
    ValueError: n must be an integer >= 1, got 2.0
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        msg = f"{name} must be an integer >= {minimum}, got {n!r}"
        raise ValueError(msg)


def _window_mean(x: pl.Expr, weights: list[float]) -> pl.Expr:
    # Weighted rolling windows are computed window by window (no running sum), which is what
    # makes them reproducible from the window alone. They reject nulls, so nulls travel as NaN.
    values = x.cast(pl.Float64).fill_null(math.nan)
    return values.rolling_mean(len(weights), weights=weights).fill_nan(None)


def window_means(x: IntoExpr, ns: tuple[int, ...], combine: Any = None) -> pl.Expr:
    """Return the exact simple averages of ``x`` over each window length in ``ns``.

    The averages share one pass over the data. ``combine`` (an element-wise function of the
    NumPy arrays of the averages, NaN where null: it may be applied to parts of them, and may
    overwrite them) maps them to the one returned column; by default there must be one length
    and its average is returned.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, 2.0, 3.0, 5.0]})
    >>> df.select(window_means("close", (1, 2), lambda a, b: a - b)).to_series().to_list()
    [None, 0.5, 0.5, 1.0]
    """
    for n in ns:
        check_length(n)

    def evaluate(series: pl.Series) -> pl.Series:
        means = window_sums(series.to_numpy(), ns, means=True)

        def part(start: int, stop: int) -> None:
            parts = [values[start:stop] for values in means]
            result = combine(*parts)
            if result is not parts[0]:  # into the first average's buffer (fresh, read by now)
                parts[0][:] = result

        if combine is not None:
            in_halves(part, series.len())  # both cores, as the sums (every step is element-wise)
        return pl.Series(series.name, means[0], dtype=pl.Float64, nan_to_null=True)

    return as_expr(x).cast(pl.Float64).map_batches(evaluate, return_dtype=pl.Float64)


def window_std(x: pl.Expr, n: int, ddof: int) -> pl.Expr:
    """Return the standard deviation of the last ``n`` values, from the window alone.

    Null while the window is incomplete or holds a null. Every value is computed in a fixed
    order from its own ``n`` inputs, so a window evaluation repeats the full-history bits.

    Examples
    --------
    >>> df = pl.DataFrame({"x": [1.0, 3.0, 1.0]})
    >>> df.select(window_std(pl.col("x"), 2, ddof=0)).to_series().to_list()
    [None, 1.0, 1.0]
    """
    # Deviations from the window's newest value are small (about a standard deviation), so the
    # one-pass formula on them keeps its digits where one on raw prices would lose them all to
    # cancellation; the terms are cheap element-wise shifts, so the tree stays small.
    # The sums are left folds, not sum_horizontal: its parallel reduction may add in another
    # order from run to run (so other last bits), and a live evaluation must repeat them.
    values = x.cast(pl.Float64)
    steps = [values.shift(i) - values for i in range(1, n)]
    total = functools.reduce(operator.add, steps, pl.lit(0.0))
    squares = functools.reduce(operator.add, [step**2 for step in steps], pl.lit(0.0))
    variance = ((squares - total * total / n) / (n - ddof)).clip(lower_bound=0.0)
    # a null inside the window nulls the sums; the window mean says whether it is whole
    return pl.when(_window_mean(values, [1.0] * n).is_not_null()).then(variance.sqrt())


def sma(x: IntoExpr, n: int) -> pl.Expr:
    """Return the simple moving average of the last ``n`` values (exact window, see module).

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, 2.0, 3.0, 4.0]})
    >>> df.select(sma("close", 3)).to_series().to_list()
    [None, None, 2.0, 3.0]
    """
    return window_means(x, (n,))


def wma(x: IntoExpr, n: int) -> pl.Expr:
    """Return the linearly weighted moving average: weight ``n`` on the newest value, 1 oldest.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, 2.0, 4.0]})
    >>> df.select(wma("close", 3)).to_series().round(4).to_list()
    [None, None, 2.8333]
    """
    check_length(n)
    return _window_mean(as_expr(x), [float(w) for w in range(1, n + 1)])


def seeded_ewm(x: pl.Expr, n: int, alpha: float) -> pl.Expr:
    """Return the recursive average with weight ``alpha``, seeded with the first ``n``-bar SMA.

    The first value is on the first bar with ``n`` valid inputs; ``ema`` (``alpha = 2 / (n +
    1)``) and Wilder's smoothing (``alpha = 1 / n``, behind ``rsi`` and ``atr``) are this.

    Examples
    --------
    >>> df = pl.DataFrame({"x": [1.0, 3.0, 5.0]})
    >>> df.select(seeded_ewm(pl.col("x"), 2, 0.5)).to_series().to_list()
    [None, 2.0, 3.5]
    """
    # Seed with the first full simple average, then run the recursive average from there on.
    # The seed row is found from x's own validity so the (costlier) average appears only once.
    values = x.cast(pl.Float64)
    whole = values.fill_nan(None).is_not_null().cast(pl.Int32).rolling_sum(n) == n
    since = whole.fill_null(False).cum_max().cast(pl.Int32).cum_sum()
    seeded = pl.when(since == 1).then(window_means(values, (n,))).when(since > 1).then(values)
    return seeded.ewm_mean(alpha=alpha, adjust=False, ignore_nulls=True, min_samples=1)


def ema(x: IntoExpr, n: int, *, seed: Literal["sma", "first"] = "sma") -> pl.Expr:
    """Return the exponential moving average with ``alpha = 2 / (n + 1)`` and ``adjust=False``.

    Parameters
    ----------
    x
        Input column or expression.
    n
        Span of the average.
    seed
        ``"sma"`` (default, as TA-Lib and backtrader): the first value is the simple average of
        the first ``n`` inputs, on the ``n``-th input. ``"first"`` (as pandas
        ``ewm(adjust=False)``): the first value is the first input.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, 2.0, 3.0, 6.0]})
    >>> df.select(ema("close", 3)).to_series().to_list()
    [None, None, 2.0, 4.0]
    >>> df.select(ema("close", 3, seed="first")).to_series().to_list()
    [1.0, 1.5, 2.25, 4.125]
    """
    check_length(n)
    alpha = 2.0 / (n + 1)
    if seed == "sma":
        return seeded_ewm(as_expr(x), n, alpha)
    if seed == "first":
        return as_expr(x).cast(pl.Float64).ewm_mean(alpha=alpha, adjust=False, ignore_nulls=True)
    msg = f"seed must be 'sma' or 'first', got {seed!r}"
    raise ValueError(msg)
