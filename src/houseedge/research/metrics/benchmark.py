"""Metrics of returns against a benchmark column: alpha, beta and up/down capture.

Both columns are in the same frame, aligned by row. Conventions are those of
:mod:`houseedge.research.metrics`, which re-exports everything here.
"""

from __future__ import annotations

import polars as pl

from houseedge.research.metrics.inputs import (
    ColumnLike,
    Rate,
    compound_annual,
    rate_column,
    returns_column,
    when_observed,
)

__all__ = ["alpha", "alpha_beta", "beta", "down_capture", "up_capture"]


def _paired_excess(
    returns: ColumnLike, benchmark: ColumnLike, risk_free: Rate
) -> tuple[pl.Expr, pl.Expr]:
    """Return both excess-return columns restricted to the rows where both are observed."""
    rf = rate_column(risk_free)
    r = returns_column(returns) - rf
    b = returns_column(benchmark) - rf
    both = r.is_not_null() & b.is_not_null()
    return r.filter(both), b.filter(both)


def _beta(r: pl.Expr, b: pl.Expr) -> pl.Expr:
    # population moments, as empyrical's nan-aware beta_aligned
    centred = b - b.mean()
    return (centred * r).mean() / (centred**2).mean()


def beta(
    returns: ColumnLike = "returns", benchmark: ColumnLike = "benchmark", *, risk_free: Rate = 0.0
) -> pl.Expr:
    """Return cov(r, b) / var(b) over the rows where both are observed (population moments).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.02, -0.02, 0.04], "benchmark": [0.01, -0.01, 0.02]})
    >>> round(df.select(beta()).item(), 4)
    2.0
    """
    r, b = _paired_excess(returns, benchmark, risk_free)
    return when_observed(r, _beta(r, b)).alias("beta")


def alpha(
    returns: ColumnLike = "returns",
    benchmark: ColumnLike = "benchmark",
    *,
    periods_per_year: float = 252,
    risk_free: Rate = 0.0,
) -> pl.Expr:
    """Return the annualised alpha: (1 + mean(r - beta * b))^periods_per_year - 1.

    Returns and benchmark are in excess of ``risk_free`` (per period); the annualisation
    compounds, as in empyrical and vectorbt.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.03, -0.01, 0.05], "benchmark": [0.01, -0.01, 0.02]})
    >>> round(df.select(alpha(periods_per_year=1)).item(), 4)
    0.01
    """
    r, b = _paired_excess(returns, benchmark, risk_free)
    value = (1.0 + (r - _beta(r, b) * b).mean()) ** periods_per_year - 1.0
    return when_observed(r, value).alias("alpha")


def alpha_beta(
    returns: ColumnLike = "returns",
    benchmark: ColumnLike = "benchmark",
    *,
    periods_per_year: float = 252,
    risk_free: Rate = 0.0,
) -> pl.Expr:
    """Return a struct ``{alpha, beta}``; see :func:`alpha` and :func:`beta`.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.03, -0.01, 0.05], "benchmark": [0.01, -0.01, 0.02]})
    >>> out = df.select(alpha_beta(periods_per_year=1)).unnest("alpha_beta")
    >>> [round(x, 4) for x in out.row(0)]
    [0.01, 2.0]
    """
    return pl.struct(
        alpha(returns, benchmark, periods_per_year=periods_per_year, risk_free=risk_free),
        beta(returns, benchmark, risk_free=risk_free),
    ).alias("alpha_beta")


def _capture(
    returns: ColumnLike, benchmark: ColumnLike, periods_per_year: float, *, up: bool
) -> pl.Expr:
    b = returns_column(benchmark)
    # a missing benchmark value is neither up nor down: the filter drops its null mask
    rows = b > 0.0 if up else b < 0.0
    r = returns_column(returns).filter(rows)
    b = b.filter(rows)
    value = compound_annual(r, periods_per_year) / compound_annual(b, periods_per_year)
    return pl.when(b.len() > 0).then(value)


def up_capture(
    returns: ColumnLike = "returns",
    benchmark: ColumnLike = "benchmark",
    *,
    periods_per_year: float = 252,
) -> pl.Expr:
    """Return CAGR of returns over CAGR of the benchmark on the periods the benchmark rose.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.02, -0.03], "benchmark": [0.01, -0.01]})
    >>> round(df.select(up_capture(periods_per_year=1)).item(), 4)
    2.0
    """
    return _capture(returns, benchmark, periods_per_year, up=True).alias("up_capture")


def down_capture(
    returns: ColumnLike = "returns",
    benchmark: ColumnLike = "benchmark",
    *,
    periods_per_year: float = 252,
) -> pl.Expr:
    """Return CAGR of returns over CAGR of the benchmark on the periods the benchmark fell.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"returns": [0.02, -0.03], "benchmark": [0.01, -0.01]})
    >>> round(df.select(down_capture(periods_per_year=1)).item(), 4)
    3.0
    """
    return _capture(returns, benchmark, periods_per_year, up=False).alias("down_capture")
