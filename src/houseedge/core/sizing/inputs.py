"""Building blocks shared by the sizers: causal input expressions and fraction-to-units.

The expressions are evaluated by the engines per symbol over past bars only (rolling windows end
at the bar), and their values at the decision bar reach the sizer in ``request.inputs``.
"""

from __future__ import annotations

import math

import polars as pl

from houseedge.core.sizing.sizers import SizingRequest


def simple_returns() -> pl.Expr:
    """Return the per-bar simple return of ``close`` (null on the first bar).

    Examples
    --------
    >>> pl.DataFrame({"close": [10.0, 11.0]}).select(simple_returns()).to_series().to_list()
    [None, 0.1]
    """
    return pl.col("close").pct_change()


def realised_volatility(lookback: int, periods_per_year: float = 1.0) -> pl.Expr:
    """Return the rolling standard deviation of log returns, annualised by ``periods_per_year``.

    Only the ``lookback`` returns up to and including the bar are used (null before).

    Examples
    --------
    >>> closes = pl.DataFrame({"close": [100.0, 101.0, 100.0, 102.0]})
    >>> closes.select(vol=realised_volatility(2)).to_series().round(4).to_list()
    [None, None, 0.0141, 0.021]
    """
    check_lookback(lookback)
    log_return = pl.col("close").log().diff()
    return log_return.rolling_std(window_size=lookback) * math.sqrt(periods_per_year)


def return_moments(lookback: int) -> dict[str, pl.Expr]:
    """Return rolling ``mean`` and ``variance`` of simple returns over ``lookback`` bars.

    Examples
    --------
    >>> sorted(return_moments(20))
    ['mean', 'variance']
    """
    check_lookback(lookback)
    returns = simple_returns()
    return {
        "mean": returns.rolling_mean(window_size=lookback),
        "variance": returns.rolling_var(window_size=lookback),
    }


def check_lookback(lookback: int) -> None:
    """Raise ``ValueError`` unless a rolling window has at least two bars."""
    if lookback < 2:
        msg = f"lookback must be >= 2 bars, got {lookback}"
        raise ValueError(msg)


def check_positive(**values: float) -> None:
    """Raise ``ValueError`` naming the first value that is not ``> 0``."""
    for name, value in values.items():
        if not value > 0:
            msg = f"{name} must be > 0, got {value}"
            raise ValueError(msg)


def read_input(request: SizingRequest, name: str) -> float:
    """Return input ``name`` as a float; NaN when missing, null or not finite.

    Examples
    --------
    >>> request = SizingRequest(symbol="X", target=1.0, price=1.0, equity=1.0, cash=1.0,
    ...     inputs={"vol": None})
    >>> math.isnan(read_input(request, "vol"))
    True
    """
    value = request.inputs.get(name)
    if value is None:
        return math.nan
    value = float(value)
    return value if math.isfinite(value) else math.nan


def fraction_units(fraction: float, request: SizingRequest, max_leverage: float) -> float:
    """Return the signed units worth ``min(|target| * fraction, max_leverage)`` of equity.

    Zero when the fraction is not a positive number, or equity or price is not positive.

    Examples
    --------
    >>> request = SizingRequest(symbol="X", target=-1.0, price=10.0, equity=1000.0, cash=1000.0)
    >>> fraction_units(3.0, request, max_leverage=2.0)
    -200.0
    >>> fraction_units(math.nan, request, max_leverage=2.0)
    0.0
    """
    if not (fraction > 0 and request.equity > 0 and request.price > 0):
        return 0.0
    notional = min(abs(request.target) * fraction, max_leverage) * request.equity
    units = notional / (request.price * (1.0 + request.fee_rate))
    return math.copysign(units, request.target)
