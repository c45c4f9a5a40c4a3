"""Position sizing: turn a policy's target exposure into a quantity of units.

A policy says *how much* it wants to be in the market as a signed fraction in ``[-1, 1]``; a
:class:`Sizer` says what that means in units, given the portfolio at the moment of the fill. The
engines call ``quantity(request)`` only when a symbol's target changes (not on every bar), with
the equity marked at the fill price after any closing leg has been realised, so an all-in entry
after an exit uses the cash that exit just freed.

``inputs()`` names per-bar Polars expressions the sizer reads (a rolling volatility for a
volatility-target sizer, an edge estimate for Kelly); the engines evaluate them per symbol and
pass their values at the decision bar in ``request.inputs``. A user's class satisfies
:class:`Sizer` without importing houseedge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import msgspec
import polars as pl


class SizingRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a sizer may use to size one symbol's new position.

    Attributes
    ----------
    symbol
        The symbol being sized.
    target
        The policy's signed target exposure in ``[-1, 1]`` (never 0: flat needs no sizing).
    price
        The expected fill price (after spread and slippage).
    equity
        Portfolio equity at the fill: cash plus every position marked at the fill time.
    cash
        Cash at the fill, after closing legs at the same time were realised.
    position
        Units of ``symbol`` held now (signed).
    fee_rate
        The cost model's marginal fee per unit of notional.
    n_symbols
        Number of symbols in the run.
    inputs
        Values of the sizer's ``inputs()`` at the decision bar.
    """

    symbol: str
    target: float
    price: float
    equity: float
    cash: float
    position: float = 0.0
    fee_rate: float = 0.0
    n_symbols: int = 1
    inputs: Mapping[str, float] = msgspec.field(default_factory=dict[str, float])


@runtime_checkable
class Sizer(Protocol):
    """Maps a target exposure and the portfolio to a signed quantity of units."""

    @property
    def name(self) -> str:
        """Return a short stable name stored with every run."""
        ...

    def params(self) -> Mapping[str, Any]:
        """Return the parameters that define the sizer (stored with every run)."""
        ...

    def inputs(self) -> Mapping[str, pl.Expr]:
        """Return per-bar expressions the sizer needs, by name (empty when none)."""
        ...

    def quantity(self, request: SizingRequest) -> float:
        """Return the signed number of units to hold (same sign as ``request.target``)."""
        ...


def _units(value: float, whole_units: bool) -> float:
    """Round toward zero to whole units when asked; never round a short up to a long."""
    if not whole_units:
        return value
    return float(math.floor(value)) if value >= 0 else -float(math.floor(-value))


def _notional_units(notional: float, request: SizingRequest, whole_units: bool) -> float:
    """Return the units whose purchase, fees included, costs ``notional`` (signed by target)."""
    per_unit = request.price * (1.0 + request.fee_rate)
    units = abs(notional) / per_unit
    return _units(math.copysign(units, request.target), whole_units)


@dataclass(frozen=True, slots=True)
class FixedUnits:
    """Hold ``units * target`` units, whatever the equity (backtrader's fixed stake).

    Examples
    --------
    >>> FixedUnits(10).quantity(SizingRequest(symbol="X", target=-1.0, price=5.0, equity=1e3,
    ...     cash=1e3))
    -10.0
    """

    units: float = 1.0

    def __post_init__(self) -> None:
        if not self.units > 0:
            msg = f"units must be > 0, got {self.units}"
            raise ValueError(msg)

    @property
    def name(self) -> str:
        """Return ``"fixed_units"``."""
        return "fixed_units"

    def params(self) -> dict[str, Any]:
        """Return ``{"units": ...}``."""
        return {"units": self.units}

    def inputs(self) -> dict[str, pl.Expr]:
        """Return no inputs."""
        return {}

    def quantity(self, request: SizingRequest) -> float:
        """Return ``units * target``."""
        return self.units * request.target


@dataclass(frozen=True, slots=True)
class FixedFraction:
    """Put ``fraction * |target|`` of equity into the position, fees included.

    ``FixedFraction(1.0, whole_units=True)`` is "all-in": as many whole units as the equity buys.
    The units are ``fraction * |target| * equity / (price * (1 + fee_rate))``, rounded toward zero
    when ``whole_units`` is set. backtesting.py's default order (``size = 1 - eps``, whole units)
    is ``FixedFraction(1 - sys.float_info.epsilon, whole_units=True)``.

    Parameters
    ----------
    fraction
        Share of equity per position at full target (``> 0``; above 1 is leverage).
    whole_units
        Round quantities toward zero to whole units.

    Examples
    --------
    >>> request = SizingRequest(symbol="X", target=1.0, price=30.0, equity=1000.0, cash=1000.0)
    >>> FixedFraction(1.0, whole_units=True).quantity(request)
    33.0
    >>> round(FixedFraction(0.5).quantity(request), 6)
    16.666667
    """

    fraction: float = 1.0
    whole_units: bool = False

    def __post_init__(self) -> None:
        if not self.fraction > 0:
            msg = f"fraction must be > 0, got {self.fraction}"
            raise ValueError(msg)

    @property
    def name(self) -> str:
        """Return ``"fixed_fraction"``."""
        return "fixed_fraction"

    def params(self) -> dict[str, Any]:
        """Return the fraction and the rounding rule."""
        return {"fraction": self.fraction, "whole_units": self.whole_units}

    def inputs(self) -> dict[str, pl.Expr]:
        """Return no inputs."""
        return {}

    def quantity(self, request: SizingRequest) -> float:
        """Return the units worth ``fraction * |target|`` of equity (0 when equity is gone)."""
        notional = abs(request.target) * self.fraction * max(request.equity, 0.0)
        return _notional_units(notional, request, self.whole_units)


@dataclass(frozen=True, slots=True)
class TargetWeights:
    """Treat the target as a portfolio weight, scaled per symbol.

    Each symbol's position is worth ``target * weight[symbol] * equity``. Without explicit
    ``weights`` every symbol gets ``1 / n_symbols``, so a basket of full targets is fully invested
    without leverage.

    Parameters
    ----------
    weights
        Weight per symbol; symbols not listed get ``default``.
    default
        Weight of unlisted symbols; ``None`` means ``1 / n_symbols``.
    whole_units
        Round quantities toward zero to whole units.

    Examples
    --------
    >>> request = SizingRequest(symbol="A", target=1.0, price=10.0, equity=1000.0, cash=1000.0,
    ...     n_symbols=4)
    >>> TargetWeights().quantity(request)
    25.0
    >>> TargetWeights({"A": 0.6}).quantity(request)
    60.0
    """

    weights: Mapping[str, float] = field(default_factory=dict[str, float])
    default: float | None = None
    whole_units: bool = False

    @property
    def name(self) -> str:
        """Return ``"target_weights"``."""
        return "target_weights"

    def params(self) -> dict[str, Any]:
        """Return the weights, the default and the rounding rule."""
        return {
            "weights": dict(self.weights),
            "default": self.default,
            "whole_units": self.whole_units,
        }

    def inputs(self) -> dict[str, pl.Expr]:
        """Return no inputs."""
        return {}

    def quantity(self, request: SizingRequest) -> float:
        """Return the units worth ``|target| * weight * equity`` (0 when equity is gone)."""
        default = 1.0 / request.n_symbols if self.default is None else self.default
        weight = self.weights.get(request.symbol, default)
        notional = abs(request.target) * weight * max(request.equity, 0.0)
        return _notional_units(notional, request, self.whole_units)
