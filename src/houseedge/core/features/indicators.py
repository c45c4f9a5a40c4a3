"""Causal feature expressions over one symbol's bars sorted by time.

Every builder is a noun that returns a ``pl.Expr``; its first argument is a column name or an
expression. The value on row *t* uses rows ``<= t`` only, so a feature computed on a prefix of a
frame equals the prefix of the feature computed on the whole frame. Rows before a feature is
defined are null. The moving averages live in :mod:`houseedge.core.features.averages`;
time-of-day features and the multi-timeframe join in :mod:`houseedge.core.timeframes`; the
dependency-resolving pipeline in :mod:`houseedge.core.features.feature_set`. All three are
re-exported here.

Conventions
-----------
* **Windows are exact.** ``sma``, ``wma``, the standard deviations behind ``zscore``,
  ``bollinger`` and ``rolling_volatility`` compute each value from exactly the ``n`` inputs in its
  window instead of a running sum: ``sma`` from the correctly rounded window sum (exact integer
  prefix sums, see :mod:`houseedge.core.features.window_sum`: O(1) per bar whatever ``n``), the
  others in a fixed order. A window evaluation (the live engine's last ``warmup + 1`` bars)
  therefore reproduces the full-history value bit for bit, which keeps decisions on ties (flat
  prices, ``fast == slow``) identical in backtest and live. A window with a null or NaN gives null.
* **Exponential averages have unbounded memory.** ``ema`` (``alpha = 2 / (n + 1)``) and Wilder's
  smoothing (``alpha = 1 / n``, behind ``rsi`` and ``atr``) are seeded, like TA-Lib and backtrader,
  with the simple average of the first ``n`` inputs; the first value sits on the ``n``-th input.
  Every later value depends on the whole history back to that seed, so a shorter window gives a
  close but not identical value.
* **Pivots are flagged when confirmed.** ``swing_high(x, k)`` is true on bar *t* when bar
  ``t - k`` was strictly higher than the ``k`` bars on each side of it: the flag appears ``k`` bars
  after the pivot, on the first bar that could know it.
"""

from __future__ import annotations

import math

import polars as pl

from houseedge.core.features.averages import (
    IntoExpr,
    as_expr,
    check_length,
    ema,
    seeded_ewm,
    sma,
    window_std,
    wma,
)
from houseedge.core.features.feature_set import Feature, FeatureSet, pipeline
from houseedge.core.timeframes import (
    bar_close_time,
    day_of_week,
    join_higher_timeframe,
    minute_of_day,
    session_open,
)

__all__ = [
    "Feature",
    "FeatureSet",
    "IntoExpr",
    "atr",
    "bar_close_time",
    "bollinger",
    "day_of_week",
    "ema",
    "join_higher_timeframe",
    "log_returns",
    "minute_of_day",
    "pipeline",
    "returns",
    "rolling_high",
    "rolling_low",
    "rolling_volatility",
    "rsi",
    "session_open",
    "sma",
    "swing_high",
    "swing_low",
    "true_range",
    "wma",
    "zscore",
]


def returns(x: IntoExpr, n: int = 1) -> pl.Expr:
    """Return the simple return over ``n`` bars, ``x[t] / x[t - n] - 1``.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [100.0, 110.0, 99.0]})
    >>> df.select(returns("close")).to_series().round(4).to_list()
    [None, 0.1, -0.1]
    """
    check_length(n)
    value = as_expr(x)
    return value / value.shift(n) - 1.0


def log_returns(x: IntoExpr, n: int = 1) -> pl.Expr:
    """Return the log return over ``n`` bars, ``ln(x[t] / x[t - n])``.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, math.e, 1.0]})
    >>> df.select(log_returns("close")).to_series().round(6).to_list()
    [None, 1.0, -1.0]
    """
    check_length(n)
    value = as_expr(x)
    return (value / value.shift(n)).log()


def rsi(x: IntoExpr, n: int = 14) -> pl.Expr:
    """Return Wilder's relative strength index in ``[0, 100]``.

    Average gains and losses use Wilder's smoothing (``alpha = 1 / n``) seeded with the simple
    average of the first ``n`` changes, so the first value is on bar ``n`` (TA-Lib, backtrader).
    The value is ``100 * gain / (gain + loss)``; with no gain and no loss it is 50 (TA-Lib gives
    0 there, which would read a flat market as oversold).

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, 2.0, 1.0, 2.0, 3.0]})
    >>> df.select(rsi("close", 2)).to_series().round(2).to_list()
    [None, None, 50.0, 75.0, 87.5]
    """
    check_length(n)
    change = as_expr(x).cast(pl.Float64).diff()
    gain = seeded_ewm(change.clip(lower_bound=0.0), n, 1.0 / n)
    loss = seeded_ewm((-change).clip(lower_bound=0.0), n, 1.0 / n)
    # 100 / (1 + loss / gain) reads each average once; 0 / 0 (no moves at all) is NaN -> 50.
    return (100.0 / (1.0 + loss / gain)).fill_nan(50.0)


def true_range(
    high: IntoExpr = "high", low: IntoExpr = "low", close: IntoExpr = "close"
) -> pl.Expr:
    """Return the true range: the bar's range extended to the previous close (null on bar 0).

    Examples
    --------
    >>> df = pl.DataFrame({"high": [2.0, 3.0], "low": [1.0, 2.5], "close": [1.5, 2.8]})
    >>> df.select(true_range()).to_series().to_list()
    [None, 1.5]
    """
    previous = as_expr(close).shift(1)
    hi, lo = as_expr(high), as_expr(low)
    # max_horizontal skips nulls, so bar 0 (no previous close) is nulled explicitly.
    widest = pl.max_horizontal(hi - lo, (hi - previous).abs(), (lo - previous).abs())
    return pl.when(previous.is_not_null()).then(widest.cast(pl.Float64))


def atr(
    high: IntoExpr = "high",
    low: IntoExpr = "low",
    close: IntoExpr = "close",
    *,
    n: int = 14,
) -> pl.Expr:
    """Return the average true range with Wilder's smoothing; the first value is on bar ``n``.

    Examples
    --------
    >>> df = pl.DataFrame({"high": [2.0, 3.0, 3.0, 4.0], "low": [1.0, 2.0, 2.0, 2.0],
    ...                    "close": [1.5, 2.5, 2.5, 3.0]})
    >>> df.select(atr(n=2)).to_series().to_list()
    [None, None, 1.25, 1.625]
    """
    check_length(n)
    return seeded_ewm(true_range(high, low, close), n, 1.0 / n)


def rolling_high(x: IntoExpr, n: int) -> pl.Expr:
    """Return the highest value of the last ``n`` bars, this bar included.

    Examples
    --------
    >>> df = pl.DataFrame({"high": [1.0, 3.0, 2.0, 1.0]})
    >>> df.select(rolling_high("high", 2)).to_series().to_list()
    [None, 3.0, 3.0, 2.0]
    """
    check_length(n)
    return as_expr(x).rolling_max(n)


def rolling_low(x: IntoExpr, n: int) -> pl.Expr:
    """Return the lowest value of the last ``n`` bars, this bar included.

    Examples
    --------
    >>> df = pl.DataFrame({"low": [1.0, 3.0, 2.0, 4.0]})
    >>> df.select(rolling_low("low", 2)).to_series().to_list()
    [None, 1.0, 2.0, 2.0]
    """
    check_length(n)
    return as_expr(x).rolling_min(n)


def zscore(x: IntoExpr, n: int) -> pl.Expr:
    """Return ``(x - mean) / std`` over the last ``n`` values (sample std; null when it is 0).

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]})
    >>> df.select(zscore("close", 3)).to_series().round(4).to_list()
    [None, None, 1.0, 0.5774, None, None]
    """
    check_length(n, minimum=2)
    value = as_expr(x)
    std = window_std(value, n, ddof=1)
    return pl.when(std > 0).then((value - sma(value, n)) / std)


def rolling_volatility(
    x: IntoExpr, n: int, *, periods_per_year: float | None = None, ddof: int = 1
) -> pl.Expr:
    """Return the standard deviation of the last ``n`` values of a returns column.

    Parameters
    ----------
    x
        A returns column or expression (e.g. ``returns("close")``).
    n
        Window length in bars.
    periods_per_year
        When given, annualise by ``sqrt(periods_per_year)``.
    ddof
        Delta degrees of freedom: 1 (default) for the sample deviation, 0 for the population.

    Examples
    --------
    >>> df = pl.DataFrame({"ret": [0.01, -0.01, 0.01, -0.01]})
    >>> df.select(rolling_volatility("ret", 4, periods_per_year=4)).to_series().round(4).to_list()
    [None, None, None, 0.0231]
    """
    check_length(n, minimum=ddof + 1)
    std = window_std(as_expr(x), n, ddof)
    return std if periods_per_year is None else std * math.sqrt(periods_per_year)


def bollinger(x: IntoExpr, n: int = 20, k: float = 2.0) -> pl.Expr:
    """Return Bollinger bands as a struct of ``middle``, ``upper`` and ``lower``.

    ``middle`` is the ``n``-bar simple average and the bands are ``k`` population standard
    deviations (``ddof=0``, as TA-Lib and backtrader) away from it.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [1.0, 3.0, 1.0, 3.0]})
    >>> bands = df.select(bollinger("close", 2, 1.0).alias("bb")).unnest("bb")
    >>> bands.row(3)
    (2.0, 3.0, 1.0)
    """
    check_length(n)
    value = as_expr(x)
    middle = sma(value, n)
    width = window_std(value, n, ddof=0) * k
    return pl.struct(middle=middle, upper=middle + width, lower=middle - width)


def _swing(x: IntoExpr, k: int, *, high: bool) -> pl.Expr:
    check_length(k, name="k")
    value = as_expr(x)
    pivot = value.shift(k)
    before = value.shift(k + 1).rolling_max(k) if high else value.shift(k + 1).rolling_min(k)
    after = value.rolling_max(k) if high else value.rolling_min(k)
    is_pivot = (pivot > before) & (pivot > after) if high else (pivot < before) & (pivot < after)
    # Kleene logic would turn a missing left side into False; warm-up stays null instead.
    return pl.when(before.is_not_null()).then(is_pivot)


def swing_high(x: IntoExpr = "high", k: int = 2) -> pl.Expr:
    """Flag, on its confirmation bar, a pivot high ``k`` bars back (see the module notes).

    The pivot's value is ``x.shift(k)`` on the flagged bar. The first ``2k`` bars are null.

    Examples
    --------
    >>> df = pl.DataFrame({"high": [1.0, 2.0, 5.0, 3.0, 2.0, 4.0]})
    >>> df.select(swing_high("high", 2)).to_series().to_list()
    [None, None, None, None, True, False]
    """
    return _swing(x, k, high=True)


def swing_low(x: IntoExpr = "low", k: int = 2) -> pl.Expr:
    """Flag, on its confirmation bar, a pivot low ``k`` bars back (see the module notes).

    Examples
    --------
    >>> df = pl.DataFrame({"low": [5.0, 4.0, 1.0, 3.0, 4.0, 2.0]})
    >>> df.select(swing_low("low", 2)).to_series().to_list()
    [None, None, None, None, True, False]
    """
    return _swing(x, k, high=False)
