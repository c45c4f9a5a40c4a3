"""Turn metric arguments into clean expressions, shared by the metric modules.

Kept private: the public conventions are documented once, in ``houseedge.research.metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from houseedge.errors import SchemaMismatch

ColumnLike = str | pl.Expr
Rate = float | str | pl.Expr


def returns_column(returns: ColumnLike) -> pl.Expr:
    """Return ``returns`` as a Float64 expression with NaN turned into null.

    NaN and null both mean "no observation"; folding them into null lets every metric rely on
    Polars' null-skipping aggregations instead of testing for NaN.
    """
    expr = pl.col(returns) if isinstance(returns, str) else returns
    return expr.cast(pl.Float64).fill_nan(None)


def rate_column(rate: Rate) -> pl.Expr:
    """Return a per-period rate given as a constant or as a column."""
    if isinstance(rate, int | float):
        return pl.lit(float(rate), dtype=pl.Float64)
    return returns_column(rate)


def when_observed(returns: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Return ``value``, or null when ``returns`` has no observation at all."""
    return pl.when(returns.count() > 0).then(value)


def growth_factor(returns: pl.Expr) -> pl.Expr:
    """Return prod(1 + r), a missing return counting as zero (empyrical's cum_returns)."""
    return (1.0 + returns.fill_null(0.0)).product()


def wealth_path(returns: pl.Expr) -> pl.Expr:
    """Return cumprod(1 + r) element-wise, a missing return counting as zero."""
    return (1.0 + returns.fill_null(0.0)).cum_prod()


def compound_annual(returns: pl.Expr, periods_per_year: float) -> pl.Expr:
    """Return growth^(periods_per_year / n) - 1 with n counting missing periods too.

    empyrical counts a NaN as an elapsed period (the leading NaN of ``pct_change`` is still a
    day that passed), so ``len`` and not ``count`` is the number of periods.
    """
    years = returns.len().cast(pl.Float64) / periods_per_year
    return growth_factor(returns) ** (1.0 / years) - 1.0


def require_columns(frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str], what: str) -> None:
    """Raise SchemaMismatch naming the first of ``columns`` that ``frame`` lacks."""
    names = frame.collect_schema().names()
    for column in columns:
        if column not in names:
            raise SchemaMismatch(
                f"{what} lacks a column", field=column, expected=", ".join(columns)
            )
