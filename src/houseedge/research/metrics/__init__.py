"""Performance metrics as Polars expressions: import them all from here.

Every builder takes a column of simple per-period returns (a name or an expression) and returns a
``pl.Expr`` aliased to the metric's name. Scalar metrics aggregate, so they compose in one pass,
per group and lazily; element-wise ones (``cum_returns``, ``drawdown``, ``rolling_sharpe``,
``rolling_max_drawdown``, ``simple_returns``) keep the row count::

    frame.select(sharpe_ratio("ret"), max_drawdown("ret"))
    paths.group_by("path_id").agg(annual_return("ret"), sortino_ratio("ret"))
    frame.with_columns(drawdown("ret").over("run_id"))

Conventions
-----------
Missing values
    NaN and null both mean a missing observation. Moment and quantile metrics (volatility,
    Sharpe, Sortino, downside risk, omega, VaR, CVaR, tail ratio, stability, alpha, beta) drop
    them, like empyrical's nan-aware functions. Compounding metrics (``cum_returns``,
    ``total_return``, ``drawdown``, ``max_drawdown``) treat them as a zero return, and
    ``annual_return`` counts them as elapsed periods (empyrical: the leading NaN of
    ``pct_change`` is a period that passed). A metric without a single observation is null.
    Degenerate ratios follow float arithmetic (x/0 is +-inf, 0/0 is NaN) except where a docstring
    says otherwise.
Annualisation
    ``periods_per_year``: 252 daily, 52 weekly, 12 monthly, 4 quarterly, 1 yearly (vectorbt's
    daily default is 365). Means scale by it, standard deviations by its square root; CAGR and
    alpha compound: (1 + x)^(periods_per_year / n) - 1. ``annual_return(time=...)`` measures
    calendar time instead, in years of ``days_per_year`` (ffn: 365.25).
Rates
    ``risk_free`` and ``required_return`` are per period, a constant or a column (empyrical and
    vectorbt), except in ``omega_ratio`` whose ``required_return`` is annual and converted with
    (1 + req)^(1 / periods_per_year) - 1, as both libraries do.
ddof
    Standard deviations (volatility, Sharpe, rolling Sharpe) default to ddof=1 (empyrical,
    vectorbt). Downside risk is a root mean square over ALL observations (ddof=0 in effect), and
    beta uses population moments (empyrical).
Drawdowns
    Measured from a value of 1 placed before the first return, so a first-period loss counts
    (empyrical, vectorbt). ``drawdown_table`` follows pyfolio: peaks are rows of the series and
    durations count business days from peak to recovery inclusive.
Where the libraries differ, and the parameter that picks each
    - CAGR span: periods (empyrical, ``periods_per_year``) vs calendar time (ffn, ``time=``,
      ``days_per_year=365.25``).
    - Price input (vectorbt, ffn, pyfolio): turn prices into returns with ``simple_returns``;
      its leading null is a zero return for compounding and dropped elsewhere, which is what
      those libraries do with the NaN of ``pct_change``.
    - Annualisation factor: ``periods_per_year=252`` (empyrical) or ``365`` (vectorbt fixtures).
    - Volatility and Sharpe degrees of freedom: ``ddof``.
    - CVaR: the mean of the floor((n - 1) * cutoff) + 1 smallest observed returns; empyrical
      and vectorbt agree once missing values are dropped.
    - Omega without any loss: +inf (vectorbt); empyrical returns NaN.
    - Weekly aggregation: Monday-starting calendar weeks; empyrical groups by (calendar year,
      ISO week), which splits a week that straddles New Year.

Trade metrics (``win_rate``, ``profit_factor``, ...) and their ledger column contract are in
:mod:`houseedge.research.metrics.trades`, re-exported here.
"""

from __future__ import annotations

from houseedge.research.metrics.aggregate import aggregate_returns, summary
from houseedge.research.metrics.benchmark import alpha, alpha_beta, beta, down_capture, up_capture
from houseedge.research.metrics.drawdown import (
    drawdown,
    drawdown_table,
    max_drawdown,
    rolling_max_drawdown,
)
from houseedge.research.metrics.returns import (
    annual_return,
    annual_volatility,
    calmar_ratio,
    conditional_value_at_risk,
    cum_returns,
    downside_risk,
    omega_ratio,
    rolling_sharpe,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
    stability_of_timeseries,
    tail_ratio,
    total_return,
    value_at_risk,
)
from houseedge.research.metrics.trades import (
    average_r,
    expectancy,
    exposure,
    profit_factor,
    r_distribution,
    trade_summary,
    win_rate,
)

__all__ = [
    "aggregate_returns",
    "alpha",
    "alpha_beta",
    "annual_return",
    "annual_volatility",
    "average_r",
    "beta",
    "calmar_ratio",
    "conditional_value_at_risk",
    "cum_returns",
    "down_capture",
    "downside_risk",
    "drawdown",
    "drawdown_table",
    "expectancy",
    "exposure",
    "max_drawdown",
    "omega_ratio",
    "profit_factor",
    "r_distribution",
    "rolling_max_drawdown",
    "rolling_sharpe",
    "sharpe_ratio",
    "simple_returns",
    "sortino_ratio",
    "stability_of_timeseries",
    "summary",
    "tail_ratio",
    "total_return",
    "trade_summary",
    "up_capture",
    "value_at_risk",
    "win_rate",
]
