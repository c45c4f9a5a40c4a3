"""Metrics as frames: one summary row of the standard return metrics, and calendar periods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeVar

import polars as pl

from houseedge.research.metrics.benchmark import alpha, beta
from houseedge.research.metrics.drawdown import max_drawdown
from houseedge.research.metrics.inputs import ColumnLike, Rate, require_columns
from houseedge.research.metrics.returns import (
    annual_return,
    annual_volatility,
    calmar_ratio,
    conditional_value_at_risk,
    downside_risk,
    omega_ratio,
    sharpe_ratio,
    sortino_ratio,
    stability_of_timeseries,
    tail_ratio,
    total_return,
    value_at_risk,
)

__all__ = ["Period", "aggregate_returns", "summary"]

Period = Literal["daily", "weekly", "monthly", "quarterly", "yearly"]
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

_TRUNCATE_EVERY: dict[str, str] = {
    "daily": "1d",
    "weekly": "1w",
    "monthly": "1mo",
    "quarterly": "1q",
    "yearly": "1y",
}


def aggregate_returns(
    frame: FrameT,
    convert_to: Period = "monthly",
    *,
    returns: str = "returns",
    time: str = "ts",
    by: str | Sequence[str] | None = None,
) -> FrameT:
    """Compound returns into calendar periods labelled by their start (empyrical).

    Weeks start on Monday. The result holds ``by`` keys, ``time`` (period start) and
    ``returns`` (the period's compounded return), sorted by keys and time.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> df = pl.DataFrame(
    ...     {
    ...         "ts": [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1)],
    ...         "returns": [0.1, 0.1, -0.5],
    ...     }
    ... )
    >>> aggregate_returns(df, "monthly").with_columns(pl.col("returns").round(4))
    shape: (2, 2)
    ┌────────────┬─────────┐
    │ ts         ┆ returns │
    │ ---        ┆ ---     │
    │ date       ┆ f64     │
    ╞════════════╪═════════╡
    │ 2024-01-01 ┆ 0.21    │
    │ 2024-02-01 ┆ -0.5    │
    └────────────┴─────────┘
    """
    if convert_to not in _TRUNCATE_EVERY:
        raise ValueError(f"convert_to must be one of {sorted(_TRUNCATE_EVERY)}, got {convert_to!r}")
    keys = [by] if isinstance(by, str) else list(by or [])
    require_columns(frame, [*keys, time, returns], "returns frame")
    period = pl.col(time).dt.truncate(_TRUNCATE_EVERY[convert_to]).alias(time)
    return (
        frame.sort([*keys, time])
        .group_by([*keys, period], maintain_order=True)
        .agg(total_return(returns).alias(returns))
        .sort([*keys, time])
    )


def summary(
    frame: pl.DataFrame | pl.LazyFrame,
    returns: ColumnLike = "returns",
    *,
    benchmark: ColumnLike | None = None,
    by: str | Sequence[str] | None = None,
    periods_per_year: float = 252,
    risk_free: Rate = 0.0,
    required_return: Rate = 0.0,
    cutoff: float = 0.05,
) -> pl.DataFrame:
    """Return one row of the standard return metrics (one per group with ``by``).

    ``required_return`` is the per-period target of Sortino and downside risk; omega uses its
    default annual target of 0 over ``risk_free``. With a ``benchmark``, alpha and beta follow.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"run": [1, 1, 1, 2, 2], "returns": [0.1, -0.5, 0.2, 0.01, 0.02]})
    >>> out = summary(df, by="run", periods_per_year=12)
    >>> out.select("run", pl.col("total_return", "max_drawdown").round(4))
    shape: (2, 3)
    ┌─────┬──────────────┬──────────────┐
    │ run ┆ total_return ┆ max_drawdown │
    │ --- ┆ ---          ┆ ---          │
    │ i64 ┆ f64          ┆ f64          │
    ╞═════╪══════════════╪══════════════╡
    │ 1   ┆ -0.34        ┆ -0.5         │
    │ 2   ┆ 0.0302       ┆ 0.0          │
    └─────┴──────────────┴──────────────┘
    """
    ann = periods_per_year
    metrics = [
        total_return(returns),
        annual_return(returns, periods_per_year=ann),
        annual_volatility(returns, periods_per_year=ann),
        sharpe_ratio(returns, periods_per_year=ann, risk_free=risk_free),
        sortino_ratio(returns, periods_per_year=ann, required_return=required_return),
        downside_risk(returns, periods_per_year=ann, required_return=required_return),
        calmar_ratio(returns, periods_per_year=ann),
        omega_ratio(returns, periods_per_year=ann, risk_free=risk_free),
        max_drawdown(returns),
        value_at_risk(returns, cutoff=cutoff),
        conditional_value_at_risk(returns, cutoff=cutoff),
        tail_ratio(returns),
        stability_of_timeseries(returns),
    ]
    if benchmark is not None:
        metrics += [
            alpha(returns, benchmark, periods_per_year=ann, risk_free=risk_free),
            beta(returns, benchmark, risk_free=risk_free),
        ]
    keys = [by] if isinstance(by, str) else list(by or [])
    if keys:
        return frame.lazy().group_by(keys, maintain_order=True).agg(metrics).collect()
    return frame.lazy().select(metrics).collect()
