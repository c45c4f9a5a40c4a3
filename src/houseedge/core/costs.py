"""Trading costs: what a fill pays beyond the quoted price.

A :class:`CostModel` answers three questions the engines ask at every fill:

* ``fill_price(price, side, inputs)``: the price actually paid or received. Spread and slippage
  live here: they move the price against the trader (up for a buy, down for a sell).
* ``fee(qty, price)``: the cash charged for the fill (commission). Fees reduce cash; they never
  move the price.
* ``borrow_rate()``: the fraction of a short position's notional charged at each bar close it is
  held (borrow, or stock-loan fee).

``inputs()`` names per-bar Polars expressions the model reads (an ATR or rolling volatility for
slippage); the engines evaluate them per symbol and pass their value *at the decision bar* (the
bar whose close made the decision), so costs never peek past the decision either.

A user's class satisfies :class:`CostModel` without importing houseedge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import polars as pl

BPS = 1e-4
"""One basis point as a fraction."""

SLIPPAGE_INPUT = "slippage_scale"
"""Name of the per-bar input :class:`LinearCostModel` reads for volatility-scaled slippage."""


@runtime_checkable
class CostModel(Protocol):
    """What a fill costs: price impact (spread, slippage), fees, and borrow for shorts."""

    @property
    def name(self) -> str:
        """Return a short stable name stored with every run."""
        ...

    def params(self) -> Mapping[str, Any]:
        """Return the parameters that define the model (stored with every run)."""
        ...

    def inputs(self) -> Mapping[str, pl.Expr]:
        """Return per-bar expressions the model needs, by name (empty when none)."""
        ...

    def fill_price(self, price: float, side: int, inputs: Mapping[str, float]) -> float:
        """Return the price a fill of sign ``side`` (+1 buy, -1 sell) gets at quote ``price``."""
        ...

    def fee(self, qty: float, price: float) -> float:
        """Return the cash fee for a fill of ``qty`` (absolute) units at ``price``."""
        ...

    def fee_rate(self, price: float) -> float:
        """Return the marginal fee per unit of notional at ``price`` (sizers use it)."""
        ...

    def borrow_rate(self) -> float:
        """Return the fraction of short notional charged per bar held."""
        ...


# eq=False: a pl.Expr field cannot be compared with ==, so models compare by identity.
@dataclass(frozen=True, slots=True, eq=False)
class LinearCostModel:
    """Commission, spread, slippage and borrow, each linear in size (plus a minimum commission).

    Parameters
    ----------
    commission_per_share
        Cash per unit traded.
    commission_bps
        Commission in basis points of the fill's notional.
    min_commission
        Minimum commission per order (applies only to orders that trade).
    spread_bps
        Full quoted bid/ask spread in bps of the price; each fill pays half of it.
    slippage_bps
        Slippage in bps of the price, paid on every fill.
    slippage_fraction
        Extra slippage as a fraction of the per-bar ``slippage_scale`` input (an ATR or a rolling
        volatility in price units), read at the decision bar.
    slippage_scale
        Column name or expression giving that scale; required when ``slippage_fraction`` is set.
    borrow_bps
        Annual borrow cost of short positions in bps of their notional.
    periods_per_year
        Bars per year, to turn ``borrow_bps`` into a per-bar charge.

    Examples
    --------
    >>> costs = LinearCostModel(commission_bps=10, min_commission=1.0, spread_bps=2)
    >>> round(costs.fill_price(100.0, +1, {}), 6), round(costs.fill_price(100.0, -1, {}), 6)
    (100.01, 99.99)
    >>> costs.fee(5, 100.0), round(costs.fee(50, 100.0), 6)
    (1.0, 5.0)
    """

    commission_per_share: float = 0.0
    commission_bps: float = 0.0
    min_commission: float = 0.0
    spread_bps: float = 0.0
    slippage_bps: float = 0.0
    slippage_fraction: float = 0.0
    slippage_scale: pl.Expr | str | None = None
    borrow_bps: float = 0.0
    periods_per_year: float = 252.0

    def __post_init__(self) -> None:
        numbers = {
            "commission_per_share": self.commission_per_share,
            "commission_bps": self.commission_bps,
            "min_commission": self.min_commission,
            "spread_bps": self.spread_bps,
            "slippage_bps": self.slippage_bps,
            "slippage_fraction": self.slippage_fraction,
            "borrow_bps": self.borrow_bps,
        }
        negative = [name for name, value in numbers.items() if not value >= 0]
        if negative:
            msg = f"cost parameters must be >= 0: {', '.join(negative)}"
            raise ValueError(msg)
        if self.periods_per_year <= 0:
            msg = f"periods_per_year must be > 0, got {self.periods_per_year}"
            raise ValueError(msg)
        if self.slippage_fraction > 0 and self.slippage_scale is None:
            msg = "slippage_fraction needs slippage_scale (a column name or expression)"
            raise ValueError(msg)

    @property
    def name(self) -> str:
        """Return ``"linear"``."""
        return "linear"

    def params(self) -> dict[str, Any]:
        """Return the parameters, with the slippage scale rendered as text."""
        scale = self.slippage_scale
        return {
            "commission_per_share": self.commission_per_share,
            "commission_bps": self.commission_bps,
            "min_commission": self.min_commission,
            "spread_bps": self.spread_bps,
            "slippage_bps": self.slippage_bps,
            "slippage_fraction": self.slippage_fraction,
            "slippage_scale": None if scale is None else str(scale),
            "borrow_bps": self.borrow_bps,
            "periods_per_year": self.periods_per_year,
        }

    def inputs(self) -> dict[str, pl.Expr]:
        """Return the slippage scale expression when volatility-scaled slippage is on."""
        if self.slippage_fraction == 0 or self.slippage_scale is None:
            return {}
        scale = self.slippage_scale
        return {SLIPPAGE_INPUT: pl.col(scale) if isinstance(scale, str) else scale}

    def fill_price(self, price: float, side: int, inputs: Mapping[str, float]) -> float:
        """Return ``price`` moved against the trader by half the spread and the slippage."""
        impact = price * (self.spread_bps * 0.5 + self.slippage_bps) * BPS
        if self.slippage_fraction:
            scale = inputs.get(SLIPPAGE_INPUT)
            # A null scale (warm-up) charges no volatility slippage rather than failing the run.
            if scale is not None and scale == scale:
                impact += self.slippage_fraction * scale
        return price + impact if side > 0 else price - impact

    def fee(self, qty: float, price: float) -> float:
        """Return the commission for ``qty`` units at ``price``, at least ``min_commission``."""
        if qty == 0:
            return 0.0
        raw = qty * (self.commission_per_share + price * self.commission_bps * BPS)
        return max(raw, self.min_commission)

    def fee_rate(self, price: float) -> float:
        """Return the proportional commission per unit of notional (ignores the minimum)."""
        return self.commission_bps * BPS + self.commission_per_share / price

    def borrow_rate(self) -> float:
        """Return ``borrow_bps`` per year as a fraction per bar."""
        return self.borrow_bps * BPS / self.periods_per_year


def fill_prices(
    model: CostModel,
    prices: np.ndarray[Any, Any],
    sides: np.ndarray[Any, Any],
    inputs: Mapping[str, np.ndarray[Any, Any]],
) -> np.ndarray[Any, Any]:
    """Return ``model.fill_price`` for arrays of quotes, sides and inputs.

    :class:`LinearCostModel` is computed with array operations in the scalar method's order
    (identical values); any other model is called once per element.

    Examples
    --------
    >>> costs = LinearCostModel(spread_bps=20)
    >>> fill_prices(costs, np.array([100.0, 100.0]), np.array([1, -1]), {}).tolist()
    [100.1, 99.9]
    """
    prices = np.asarray(prices, dtype=np.float64)
    if type(model) is LinearCostModel:
        impact = prices * (model.spread_bps * 0.5 + model.slippage_bps) * BPS
        scale = inputs.get(SLIPPAGE_INPUT)
        if model.slippage_fraction and scale is not None:
            impact = impact + np.where(scale == scale, model.slippage_fraction * scale, 0.0)
        return np.where(np.asarray(sides) > 0, prices + impact, prices - impact)
    names = list(inputs)
    return np.array(
        [
            model.fill_price(float(p), int(side), {k: float(inputs[k][i]) for k in names})
            for i, (p, side) in enumerate(
                zip(prices.tolist(), np.asarray(sides).tolist(), strict=True)
            )
        ],
        dtype=np.float64,
    )


NO_COSTS = LinearCostModel()
"""The frictionless model: fills at the quoted price, no fees, free borrow."""
