"""Return and risk metrics over a column of simple per-period returns, as Polars expressions.

The conventions (missing values, annualisation, rates, ddof, library differences) are set out
once in :mod:`houseedge.research.metrics`, which re-exports everything here.
"""

from __future__ import annotations

import math

import polars as pl

from houseedge.research.metrics.drawdown import drawdown_depth
from houseedge.research.metrics.inputs import (
    ColumnLike,
    Rate,
    compound_annual,
    growth_factor,
    rate_column,
    returns_column,
    wealth_path,
    when_observed,
)

__all__ = [
    "annual_return",
    "annual_volatility",
    "calmar_ratio",
    "conditional_value_at_risk",
    "cum_returns",
    "downside_risk",
    "omega_ratio",
    "rolling_sharpe",
    "sharpe_ratio",
    "simple_returns",
    "sortino_ratio",
    "stability_of_timeseries",
    "tail_ratio",
    "total_return",
    "value_at_risk",
]

SECONDS_PER_DAY = 86_400.0


def simple_returns(prices: ColumnLike = "close") -> pl.Expr:
    """Return p[t] / p[t-1] - 1 element-wise; the first row is null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"close": [10.0, 11.0, 9.9]})
    >>> df.select(simple_returns()).to_series().round(4).to_list()
    [None, 0.1, -0.1]
    """
    return returns_column(prices).pct_change().alias("returns")


def cum_returns(returns: ColumnLike = "returns", *, starting_value: float = 0.0) -> pl.Expr:
    """Return cumulative returns element-wise (wealth when ``starting_value`` is not 0).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.1, None, -0.5]})
    >>> df.select(cum_returns()).to_series().round(4).to_list()
    [0.1, 0.1, -0.45]
    """
    wealth = wealth_path(returns_column(returns))
    value = wealth - 1.0 if starting_value == 0 else wealth * starting_value
    return value.alias("cum_returns")


def total_return(returns: ColumnLike = "returns") -> pl.Expr:
    """Return the compounded return over the whole column (empyrical ``cum_returns_final``).

    Examples
    --------
    >>> import polars as pl
    >>> round(pl.DataFrame({"returns": [0.1, -0.5, 0.2]}).select(total_return()).item(), 4)
    -0.34
    """
    r = returns_column(returns)
    return when_observed(r, growth_factor(r) - 1.0).alias("total_return")


def annual_return(
    returns: ColumnLike = "returns",
    *,
    periods_per_year: float = 252,
    time: ColumnLike | None = None,
    days_per_year: float = 365.25,
) -> pl.Expr:
    """Return the compound annual growth rate (CAGR).

    With ``time=None`` the span is the number of rows (missing ones included) over
    ``periods_per_year`` (empyrical). With a ``time`` column it is the calendar time from the
    first to the last row in years of ``days_per_year`` days (ffn's ``calc_cagr``, 365.25).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.1, 0.1]})
    >>> round(df.select(annual_return(periods_per_year=2)).item(), 4)
    0.21
    """
    r = returns_column(returns)
    if time is None:
        value = compound_annual(r, periods_per_year)
    else:
        t = pl.col(time) if isinstance(time, str) else time
        seconds = (t.max() - t.min()).dt.total_seconds(fractional=True)
        value = growth_factor(r) ** (days_per_year * SECONDS_PER_DAY / seconds) - 1.0
    return when_observed(r, value).alias("annual_return")


def annual_volatility(
    returns: ColumnLike = "returns", *, periods_per_year: float = 252, ddof: int = 1
) -> pl.Expr:
    """Return the standard deviation of returns scaled by sqrt(periods_per_year).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.01, -0.01]})
    >>> round(df.select(annual_volatility(periods_per_year=4, ddof=0)).item(), 4)
    0.02
    """
    r = returns_column(returns)
    return when_observed(r, r.std(ddof) * math.sqrt(periods_per_year)).alias("annual_volatility")


def sharpe_ratio(
    returns: ColumnLike = "returns",
    *,
    periods_per_year: float = 252,
    risk_free: Rate = 0.0,
    ddof: int = 1,
) -> pl.Expr:
    """Return mean(r - rf) / std(r - rf) * sqrt(periods_per_year), rf per period.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.01, 0.03]})
    >>> round(df.select(sharpe_ratio(periods_per_year=1, ddof=0)).item(), 4)
    2.0
    """
    excess = returns_column(returns) - rate_column(risk_free)
    value = excess.mean() / excess.std(ddof) * math.sqrt(periods_per_year)
    return when_observed(excess, value).alias("sharpe_ratio")


def _downside(excess: pl.Expr) -> pl.Expr:
    # root mean square of the shortfalls over ALL observations, not only the losing ones
    return (excess.clip(upper_bound=0.0) ** 2).mean().sqrt()


def downside_risk(
    returns: ColumnLike = "returns", *, periods_per_year: float = 252, required_return: Rate = 0.0
) -> pl.Expr:
    """Return sqrt(mean(min(r - required, 0)^2)) * sqrt(periods_per_year).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.02, -0.02]})
    >>> round(df.select(downside_risk(periods_per_year=2)).item(), 4)
    0.02
    """
    excess = returns_column(returns) - rate_column(required_return)
    value = _downside(excess) * math.sqrt(periods_per_year)
    return when_observed(excess, value).alias("downside_risk")


def sortino_ratio(
    returns: ColumnLike = "returns", *, periods_per_year: float = 252, required_return: Rate = 0.0
) -> pl.Expr:
    """Return the annualised mean excess return over the annualised downside risk.

    No shortfall at all gives +inf (a positive mean over zero risk).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.04, -0.02]})
    >>> round(df.select(sortino_ratio(periods_per_year=1)).item(), 4)
    0.7071
    """
    excess = returns_column(returns) - rate_column(required_return)
    value = excess.mean() / _downside(excess) * math.sqrt(periods_per_year)
    return when_observed(excess, value).alias("sortino_ratio")


def calmar_ratio(returns: ColumnLike = "returns", *, periods_per_year: float = 252) -> pl.Expr:
    """Return annual_return / |max_drawdown|; NaN when there is no drawdown (empyrical).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.5, -0.2]})
    >>> round(df.select(calmar_ratio(periods_per_year=2)).item(), 4)
    1.0
    """
    r = returns_column(returns)
    # dividing by NaN when nothing was lost gives the NaN, with one drawdown pass
    return when_observed(r, compound_annual(r, periods_per_year) / drawdown_depth(r)).alias(
        "calmar_ratio"
    )


def omega_ratio(
    returns: ColumnLike = "returns",
    *,
    periods_per_year: float = 252,
    risk_free: Rate = 0.0,
    required_return: float = 0.0,
) -> pl.Expr:
    """Return the sum of gains over the sum of losses around a threshold.

    The threshold is ``risk_free`` (per period) plus ``required_return`` converted from an
    ANNUAL rate: (1 + required_return)^(1 / periods_per_year) - 1, as empyrical and vectorbt do.
    No loss gives +inf (vectorbt; empyrical returns NaN).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.03, -0.01, 0.01, -0.02]})
    >>> round(df.select(omega_ratio()).item(), 4)
    1.3333
    """
    if required_return <= -1.0:
        raise ValueError(f"required_return must exceed -1, got {required_return}")
    if periods_per_year == 1:
        threshold = required_return
    else:
        threshold = (1.0 + required_return) ** (1.0 / periods_per_year) - 1.0
    excess = returns_column(returns) - rate_column(risk_free) - threshold
    gains = excess.clip(lower_bound=0.0).sum()
    losses = excess.clip(upper_bound=0.0).sum().abs()  # abs, not negation: -0.0 would give -inf
    return when_observed(excess, gains / losses).alias("omega_ratio")


def value_at_risk(returns: ColumnLike = "returns", *, cutoff: float = 0.05) -> pl.Expr:
    """Return the historical VaR: the ``cutoff`` quantile of returns, linear interpolation.

    The sign is kept: a loss is negative (empyrical ``value_at_risk``).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [-0.04, -0.02, 0.0, 0.02, 0.04]})
    >>> round(df.select(value_at_risk(cutoff=0.125)).item(), 4)
    -0.03
    """
    r = returns_column(returns)
    return r.quantile(cutoff, interpolation="linear").alias("value_at_risk")


def conditional_value_at_risk(returns: ColumnLike = "returns", *, cutoff: float = 0.05) -> pl.Expr:
    """Return the expected shortfall: the mean of the k + 1 smallest returns.

    k = floor((n - 1) * cutoff) with n the number of observed returns (vectorbt and empyrical
    once missing values are dropped).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [-0.04, -0.02, 0.0, 0.02, 0.04]})
    >>> round(df.select(conditional_value_at_risk(cutoff=0.25)).item(), 4)
    -0.03
    """
    r = returns_column(returns)
    kept = ((r.count().cast(pl.Float64) - 1.0) * cutoff).floor() + 1.0
    value = r.filter(r.rank("ordinal") <= kept).mean()
    return when_observed(r, value).alias("conditional_value_at_risk")


def tail_ratio(returns: ColumnLike = "returns") -> pl.Expr:
    """Return |95th percentile| / |5th percentile| of returns (linear interpolation).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [-0.01, 0.0, 0.02]})
    >>> round(df.select(tail_ratio()).item(), 4)
    2.0
    """
    r = returns_column(returns)
    upper = r.quantile(0.95, interpolation="linear").abs()
    lower = r.quantile(0.05, interpolation="linear").abs()
    return when_observed(r, upper / lower).alias("tail_ratio")


def stability_of_timeseries(returns: ColumnLike = "returns") -> pl.Expr:
    """Return the R^2 of a straight-line fit to cumulative log returns against time.

    Missing returns are dropped before cumulating (empyrical).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.01, 0.01, 0.01]})
    >>> round(df.select(stability_of_timeseries()).item(), 4)
    1.0
    """
    observed = returns_column(returns).drop_nulls()
    step = observed.cum_count().cast(pl.Float64)
    value = pl.corr(step, observed.log1p().cum_sum()) ** 2
    return when_observed(observed, value).alias("stability_of_timeseries")


def rolling_sharpe(
    returns: ColumnLike = "returns",
    window: int = 63,
    *,
    periods_per_year: float = 252,
    risk_free: Rate = 0.0,
    ddof: int = 1,
) -> pl.Expr:
    """Return the Sharpe ratio over each trailing ``window`` rows, element-wise.

    A window holding a missing return is null, as are the first ``window - 1`` rows.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.01, 0.03, 0.01]})
    >>> df.select(rolling_sharpe(window=2, periods_per_year=1, ddof=0)).to_series().to_list()
    [None, 2.0, 2.0]
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    excess = returns_column(returns) - rate_column(risk_free)
    mean = excess.rolling_mean(window)
    std = excess.rolling_std(window, ddof=ddof)
    return (mean / std * math.sqrt(periods_per_year)).alias("rolling_sharpe")
