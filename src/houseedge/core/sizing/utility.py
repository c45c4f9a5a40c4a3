"""Utility-aware sizers: volatility target, Kelly (binary and continuous) and target hitting.

Every sizer here satisfies :class:`~houseedge.core.sizing.sizers.Sizer` and shares these
conventions:

* **Units.** ``quantity`` returns units of the instrument, signed like ``request.target``. A sizer
  picks a *fraction* ``f`` of equity; the position is worth ``|target| * f * equity`` (fees
  included, as :class:`~houseedge.core.sizing.sizers.FixedFraction`), so ``target`` scales
  conviction.
* **Leverage.** ``|target| * f`` is capped at ``max_leverage`` (notional per position / equity at
  the fill). Positions are held between target changes, so leverage drifts with the price.
* **Direction.** The policy chooses the side; an edge is measured *in that direction*
  (``sign(target) * mu``). Kelly bets nothing when the estimated edge opposes the policy.
* **Estimates.** Per-bar statistics come from ``inputs()``: rolling windows over past closes,
  which the engines evaluate per symbol and read at the decision bar (causal by construction).
  While a window warms up (null or NaN input) or the equity is gone, the size is 0.
* **Fractional Kelly.** ``fraction`` multiplies the Kelly fraction: ``fraction=0.5`` is half
  Kelly (three quarters of the growth for a quarter of the variance of log-wealth);
  ``fraction=2`` is the zero-growth point. There is no separate class.

The theory behind :class:`TargetHitting` lives in :mod:`houseedge.core.sizing.target_hitting`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from houseedge.core.sizing.inputs import (
    check_lookback,
    check_positive,
    fraction_units,
    read_input,
    realised_volatility,
    return_moments,
)
from houseedge.core.sizing.sizers import SizingRequest
from houseedge.core.sizing.target_hitting import (
    deadline_hit_probability,
    hit_probability,
    kelly_binary,
    kelly_continuous,
    maximise,
    simulated_hit_probability,
)


@dataclass(frozen=True, slots=True)
class VolatilityTarget:
    """Size so the position's annualised volatility is ``target_vol`` (per unit of target).

    The fraction of equity is ``target_vol / realised_vol``, with the realised volatility of log
    returns over ``lookback`` bars annualised by ``periods_per_year``, capped at ``max_leverage``.

    Examples
    --------
    >>> sizer = VolatilityTarget(target_vol=0.1, lookback=20, periods_per_year=252)
    >>> request = SizingRequest(symbol="X", target=1.0, price=10.0, equity=1000.0, cash=1000.0,
    ...     inputs={"volatility": 0.2})
    >>> sizer.quantity(request)  # half the equity: 0.1 / 0.2
    50.0
    """

    target_vol: float = 0.1
    lookback: int = 20
    periods_per_year: float = 252.0
    max_leverage: float = 1.0

    def __post_init__(self) -> None:
        check_lookback(self.lookback)
        check_positive(
            target_vol=self.target_vol,
            periods_per_year=self.periods_per_year,
            max_leverage=self.max_leverage,
        )

    @property
    def name(self) -> str:
        """Return ``"volatility_target"``."""
        return "volatility_target"

    def params(self) -> dict[str, Any]:
        """Return the target, the window, the annualisation and the cap."""
        return {
            "target_vol": self.target_vol,
            "lookback": self.lookback,
            "periods_per_year": self.periods_per_year,
            "max_leverage": self.max_leverage,
        }

    def inputs(self) -> dict[str, pl.Expr]:
        """Return the causal rolling annualised ``volatility``."""
        return {"volatility": realised_volatility(self.lookback, self.periods_per_year)}

    def quantity(self, request: SizingRequest) -> float:
        """Return the units with ``target_vol`` annualised volatility (0 while warming up)."""
        volatility = read_input(request, "volatility")
        if not volatility > 0:
            return 0.0
        return fraction_units(self.target_vol / volatility, request, self.max_leverage)


@dataclass(frozen=True, slots=True)
class KellyBinary:
    """Stake ``fraction * (p - (1 - p) / b)`` of equity: Kelly for a bet won with probability ``p``.

    A win pays ``b`` per unit staked, a loss costs the stake; no edge (``p b <= 1 - p``) means no
    bet. Use it when a policy's trades are well described by a win rate and a payoff ratio.

    Examples
    --------
    >>> request = SizingRequest(symbol="X", target=1.0, price=10.0, equity=1000.0, cash=1000.0)
    >>> round(KellyBinary(p=0.6, b=1.0).quantity(request), 9)  # f* = 0.2
    20.0
    >>> round(KellyBinary(p=0.6, b=1.0, fraction=0.5).quantity(request), 9)
    10.0
    """

    p: float
    b: float
    fraction: float = 1.0
    max_leverage: float = 1.0

    def __post_init__(self) -> None:
        kelly_binary(self.p, self.b)  # validates p and b
        check_positive(fraction=self.fraction, max_leverage=self.max_leverage)

    @property
    def name(self) -> str:
        """Return ``"kelly_binary"``."""
        return "kelly_binary"

    def params(self) -> dict[str, Any]:
        """Return the win probability, the odds, the Kelly multiple and the cap."""
        return {
            "p": self.p,
            "b": self.b,
            "fraction": self.fraction,
            "max_leverage": self.max_leverage,
        }

    @property
    def kelly(self) -> float:
        """Return the full Kelly fraction ``max(p - (1 - p) / b, 0)``."""
        return kelly_binary(self.p, self.b)

    def inputs(self) -> dict[str, pl.Expr]:
        """Return no inputs: the edge is a parameter."""
        return {}

    def quantity(self, request: SizingRequest) -> float:
        """Return the units worth ``fraction * f*`` of equity, scaled by ``|target|``."""
        return fraction_units(self.fraction * self.kelly, request, self.max_leverage)


@dataclass(frozen=True, slots=True)
class KellyContinuous:
    """Hold ``fraction * (mu - r) / sigma**2`` of equity from rolling estimates of the returns.

    ``mu`` and ``sigma**2`` are the mean and variance of simple returns over the last ``lookback``
    bars (per bar), ``r`` the annual ``risk_free`` rate divided by ``periods_per_year``. The edge
    is taken in the target's direction and clipped at 0. Estimates of ``mu`` are noisy: full Kelly
    on an estimated mean over-bets; ``fraction=0.5`` (half Kelly) is the usual hedge.

    Examples
    --------
    >>> sizer = KellyContinuous(lookback=50, fraction=0.5, max_leverage=2.0)
    >>> request = SizingRequest(symbol="X", target=1.0, price=10.0, equity=1000.0, cash=1000.0,
    ...     inputs={"mean": 0.0005, "variance": 0.0004})
    >>> round(sizer.quantity(request), 9)  # f* = 1.25, half of it: 0.625 of equity
    62.5
    >>> sizer.quantity(SizingRequest(symbol="X", target=-1.0, price=10.0, equity=1000.0,
    ...     cash=1000.0, inputs={"mean": 0.0005, "variance": 0.0004}))  # edge opposes a short
    0.0
    """

    lookback: int = 100
    periods_per_year: float = 252.0
    fraction: float = 1.0
    max_leverage: float = 1.0
    risk_free: float = 0.0

    def __post_init__(self) -> None:
        check_lookback(self.lookback)
        check_positive(
            periods_per_year=self.periods_per_year,
            fraction=self.fraction,
            max_leverage=self.max_leverage,
        )

    @property
    def name(self) -> str:
        """Return ``"kelly_continuous"``."""
        return "kelly_continuous"

    def params(self) -> dict[str, Any]:
        """Return the window, the annualisation, the Kelly multiple, the cap and the rate."""
        return {
            "lookback": self.lookback,
            "periods_per_year": self.periods_per_year,
            "fraction": self.fraction,
            "max_leverage": self.max_leverage,
            "risk_free": self.risk_free,
        }

    def inputs(self) -> dict[str, pl.Expr]:
        """Return the causal rolling ``mean`` and ``variance`` of simple returns."""
        return return_moments(self.lookback)

    def kelly(self, request: SizingRequest) -> float:
        """Return the full Kelly fraction in the target's direction (NaN while warming up)."""
        mean = math.copysign(1.0, request.target) * read_input(request, "mean")
        rate = math.copysign(1.0, request.target) * self.risk_free / self.periods_per_year
        return kelly_continuous(mean, read_input(request, "variance"), rate)

    def quantity(self, request: SizingRequest) -> float:
        """Return the units worth ``fraction * f*`` of equity, scaled by ``|target|``."""
        return fraction_units(self.fraction * self.kelly(request), request, self.max_leverage)


@dataclass(frozen=True, slots=True)
class TargetHitting:
    """Choose the fraction that maximises P(equity reaches ``target`` before ``floor``/deadline).

    ``target`` and ``floor`` are equity levels (account currency); ``horizon`` is the deadline in
    bars counted from the first bar of the data (``None``: no deadline). The edge ``mu`` and
    volatility ``sigma`` per bar are parameters or, when ``None``, rolling estimates over
    ``lookback`` bars (simple returns, in the target's direction). Candidates are ``grid_size``
    fractions from ``max_leverage / grid_size`` to ``max_leverage``.
    ``n_paths`` and ``seed`` set the simulation (at most 250 time steps, see
    :func:`~houseedge.core.sizing.target_hitting.simulated_hit_probability`). How ``P`` is found:

    * floor, no deadline: closed form
    (:func:`~houseedge.core.sizing.target_hitting.hit_probability`).
      Beware: for a favourable edge it prefers the *smallest* candidate (timid play) and for an
      unfavourable one the largest (bold play);
    * deadline, no floor: closed form
      (:func:`~houseedge.core.sizing.target_hitting.deadline_hit_probability`), golden-section
      refined;
    * both: a seeded Monte Carlo over the grid (``n_paths`` paths, cached).

    At or above the target, at or below the floor, or past the deadline, the size is 0.

    Examples
    --------
    Kelly is ``f* = 0.001 / 0.02**2 = 2.5`` here. Touching a target within 252 bars favours more
    volatility than Kelly's; over a long horizon, a target at Kelly's median wealth is best reached
    with (about) Kelly:

    >>> sizer = TargetHitting(target=1300.0, horizon=252, mu=0.001, sigma=0.02, max_leverage=10.0)
    >>> round(sizer.best_fraction(equity=1000.0, mu=0.001, sigma=0.02, remaining=252), 1)
    5.9
    >>> median = 1000.0 * math.exp(0.001**2 / (2 * 0.02**2) * 25200)  # nu(f*) * 25200 bars
    >>> sizer = TargetHitting(target=median, horizon=25200, mu=0.001, sigma=0.02, max_leverage=10.0)
    >>> round(sizer.best_fraction(equity=1000.0, mu=0.001, sigma=0.02, remaining=25200), 1)
    2.5
    """

    target: float
    floor: float | None = None
    horizon: int | None = None
    mu: float | None = None
    sigma: float | None = None
    lookback: int = 100
    max_leverage: float = 1.0
    grid_size: int = 40
    n_paths: int = 1_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.floor is None and self.horizon is None:
            msg = "give a floor or a horizon: without either any fraction below 2 f* is certain"
            raise ValueError(msg)
        if self.floor is not None and not 0 < self.floor < self.target:
            msg = f"floor must be in (0, target={self.target}), got {self.floor}"
            raise ValueError(msg)
        if (self.mu is None) != (self.sigma is None):
            msg = "give both mu and sigma, or neither (then both are estimated)"
            raise ValueError(msg)
        check_lookback(self.lookback)
        check_positive(target=self.target, max_leverage=self.max_leverage)
        check_positive(grid_size=self.grid_size, n_paths=self.n_paths)

    @property
    def name(self) -> str:
        """Return ``"target_hitting"``."""
        return "target_hitting"

    def params(self) -> dict[str, Any]:
        """Return every field."""
        names = ("target", "floor", "horizon", "mu", "sigma", "lookback", "max_leverage")
        return {n: getattr(self, n) for n in (*names, "grid_size", "n_paths", "seed")}

    def inputs(self) -> dict[str, pl.Expr]:
        """Return the rolling return moments (if estimated) and the bar index (if a deadline)."""
        found = return_moments(self.lookback) if self.mu is None else {}
        if self.horizon is not None:
            found["bar"] = pl.int_range(pl.len())
        return found

    def best_fraction(
        self, equity: float, mu: float, sigma: float, remaining: float | None = None
    ) -> float:
        """Return the fraction of equity maximising the hit probability (0 when nothing to do).

        ``mu`` and ``sigma`` are per bar in the bet's direction; ``remaining`` is the number of
        bars left before the deadline (ignored without a horizon).
        """
        if not (equity > 0 and sigma > 0 and math.isfinite(mu)) or equity >= self.target:
            return 0.0
        up = math.log(self.target / equity)
        down = math.inf if self.floor is None else math.log(equity / self.floor)
        steps = 0 if remaining is None or not remaining >= 1 else int(remaining)
        if down <= 0 or (self.horizon is not None and steps == 0):
            return 0.0
        top, size = self.max_leverage, self.grid_size
        grid = [float(f) for f in np.linspace(top / size, top, size)]
        if self.horizon is None:
            return maximise(lambda f: hit_probability(f, mu, sigma, up, down), grid)[0]
        if self.floor is None:
            return maximise(lambda f: deadline_hit_probability(f, mu, sigma, up, steps), grid)[0]
        # Rounded so nearby estimates share a cached simulation.
        key = (_round(mu), _round(sigma), _round(up), _round(down))
        chances = simulated_hit_probability(grid, *key, steps, n_paths=self.n_paths, seed=self.seed)
        return float(grid[int(np.argmax(chances))])

    def quantity(self, request: SizingRequest) -> float:
        """Return the units worth the best fraction of equity, scaled by ``|target|``."""
        side = math.copysign(1.0, request.target)
        if self.mu is not None and self.sigma is not None:
            mu, sigma = side * self.mu, self.sigma
        else:
            mu = side * read_input(request, "mean")
            sigma = math.sqrt(max(read_input(request, "variance"), 0.0))
        remaining = None
        if self.horizon is not None:
            # The fill is on the bar after the decision bar; the deadline is bar ``horizon``.
            remaining = self.horizon - read_input(request, "bar") - 1.0
            if not remaining >= 1:
                return 0.0
        fraction = self.best_fraction(request.equity, mu, sigma, remaining)
        return fraction_units(fraction, request, self.max_leverage)


def _round(value: float) -> float:
    return float(f"{value:.4g}")
