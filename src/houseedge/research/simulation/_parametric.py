"""Parametric path models: GBM, Merton jump diffusion, Markov regime switching, binary bets.

Continuous models take annual drift ``mu`` and volatility ``sigma`` and a step ``dt`` in years
(1/252: daily). They return exact simple returns of the continuous process on the step grid,
``exp(log-return) - 1``, so compounding them reproduces the process at the grid points with no
discretisation error (first-passage times are still observed only on the grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from houseedge.research.simulation._paths import F64

__all__ = ["BinaryBet", "Gbm", "JumpDiffusion", "RegimeSwitching"]


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _nonnegative(name: str, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass(frozen=True)
class Gbm:
    """Geometric Brownian motion: log-returns ``N((mu - sigma^2/2) dt, sigma^2 dt)``.

    Examples
    --------
    >>> import numpy as np
    >>> paths = Gbm(mu=0.0, sigma=0.2, n_steps=252).draw(np.random.default_rng(0), 4000)
    >>> round(float(np.log1p(paths).sum(axis=1).std()), 1)  # one year: sigma
    0.2
    """

    mu: float
    sigma: float
    n_steps: int
    dt: float = 1 / 252

    def __post_init__(self) -> None:
        _nonnegative("sigma", self.sigma)
        _positive("dt", self.dt)
        _positive("n_steps", self.n_steps)

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` simple returns."""
        drift = (self.mu - 0.5 * self.sigma**2) * self.dt
        shocks = rng.standard_normal((n_paths, self.n_steps))
        return np.expm1(drift + self.sigma * math.sqrt(self.dt) * shocks)

    def config(self) -> dict[str, Any]:
        """Return the model's parameters."""
        return {"model": "gbm", **asdict(self)}


@dataclass(frozen=True)
class JumpDiffusion:
    """Merton jump diffusion: GBM plus Poisson jumps with normal log-sizes.

    Jumps arrive at ``jump_rate`` per year; each multiplies the price by ``exp(J)``,
    ``J ~ N(jump_mean, jump_std^2)``. The drift is compensated by ``jump_rate * k`` with
    ``k = E[exp(J)] - 1``, so ``E[S_t] = S_0 exp(mu t)`` as in GBM.

    Examples
    --------
    >>> import numpy as np
    >>> model = JumpDiffusion(mu=0.1, sigma=0.1, jump_rate=50, jump_mean=-0.05,
    ...     jump_std=0.02, n_steps=252)
    >>> wealth = (1 + model.draw(np.random.default_rng(1), 20000)).prod(axis=1)
    >>> se = wealth.std() / np.sqrt(wealth.size)
    >>> bool(abs(wealth.mean() - np.exp(0.1)) < 3 * se)  # the drift is compensated
    True
    """

    mu: float
    sigma: float
    jump_rate: float
    jump_mean: float
    jump_std: float
    n_steps: int
    dt: float = 1 / 252

    def __post_init__(self) -> None:
        for name in ("sigma", "jump_rate", "jump_std"):
            _nonnegative(name, getattr(self, name))
        _positive("dt", self.dt)
        _positive("n_steps", self.n_steps)

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` simple returns."""
        shape = (n_paths, self.n_steps)
        k = math.exp(self.jump_mean + 0.5 * self.jump_std**2) - 1
        drift = (self.mu - 0.5 * self.sigma**2 - self.jump_rate * k) * self.dt
        diffusion = self.sigma * math.sqrt(self.dt) * rng.standard_normal(shape)
        jumps = rng.poisson(self.jump_rate * self.dt, shape)
        # A sum of n normal jump sizes is N(n * mean, n * std^2): one normal draw per step.
        jump_sizes = jumps * self.jump_mean + np.sqrt(jumps) * self.jump_std * rng.standard_normal(
            shape
        )
        return np.expm1(drift + diffusion + jump_sizes)

    def config(self) -> dict[str, Any]:
        """Return the model's parameters."""
        return {"model": "jump_diffusion", **asdict(self)}


@dataclass(frozen=True, eq=False)
class RegimeSwitching:
    """GBM whose ``(mu, sigma)`` follows a Markov chain over regimes, switching between steps.

    Parameters
    ----------
    regimes
        ``(mu, sigma)`` per regime, annual.
    transition
        Row-stochastic matrix: ``transition[i][j]`` is the per-step probability of moving from
        regime ``i`` to ``j``.
    n_steps, dt
        Path length and step in years.
    initial
        The first step's regime; ``None`` draws it from the chain's stationary distribution.

    Examples
    --------
    >>> import numpy as np
    >>> model = RegimeSwitching([(0.2, 0.1), (-0.3, 0.4)], [[0.99, 0.01], [0.05, 0.95]],
    ...     n_steps=50)
    >>> model.stationary().round(4).tolist()
    [0.8333, 0.1667]
    >>> model.draw(np.random.default_rng(0), 3).shape
    (3, 50)
    """

    regimes: tuple[tuple[float, float], ...]
    transition: tuple[tuple[float, ...], ...]
    n_steps: int
    dt: float = 1 / 252
    initial: int | None = None

    def __init__(
        self,
        regimes: Sequence[tuple[float, float]],
        transition: Sequence[Sequence[float]],
        *,
        n_steps: int,
        dt: float = 1 / 252,
        initial: int | None = None,
    ) -> None:
        matrix = np.asarray(transition, dtype=np.float64)
        k = len(regimes)
        if k < 1 or matrix.shape != (k, k):
            raise ValueError(f"transition must be {k}x{k} for {k} regimes, got {matrix.shape}")
        if (matrix < 0).any() or not np.allclose(matrix.sum(axis=1), 1.0):
            raise ValueError("transition rows must be non-negative and sum to 1")
        if any(not s >= 0 for _, s in regimes):
            raise ValueError("every regime's sigma must be >= 0")
        if initial is not None and not 0 <= initial < k:
            raise ValueError(f"initial must be a regime index below {k}, got {initial}")
        _positive("dt", dt)
        _positive("n_steps", n_steps)
        object.__setattr__(self, "regimes", tuple((float(m), float(s)) for m, s in regimes))
        object.__setattr__(self, "transition", tuple(tuple(map(float, r)) for r in matrix))
        object.__setattr__(self, "n_steps", n_steps)
        object.__setattr__(self, "dt", dt)
        object.__setattr__(self, "initial", initial)

    def stationary(self) -> F64:
        """Return the chain's stationary distribution (left eigenvector for eigenvalue 1)."""
        matrix = np.asarray(self.transition)
        values, vectors = np.linalg.eig(matrix.T)
        vector = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
        return vector / vector.sum()

    def states(self, rng: np.random.Generator, n_paths: int) -> np.ndarray[Any, Any]:
        """Return the ``(n_paths, n_steps)`` regime of every step."""
        cumulative = np.cumsum(np.asarray(self.transition), axis=1)
        uniforms = rng.random((n_paths, self.n_steps))
        states = np.empty((n_paths, self.n_steps), dtype=np.intp)
        if self.initial is None:
            first = np.cumsum(self.stationary())
            states[:, 0] = (uniforms[:, :1] > first).sum(axis=1)
        else:
            states[:, 0] = self.initial
        for t in range(1, self.n_steps):
            states[:, t] = (uniforms[:, t, None] > cumulative[states[:, t - 1]]).sum(axis=1)
        return np.minimum(states, len(self.regimes) - 1)  # guards a row summing to 1 - eps

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` simple returns."""
        states = self.states(rng, n_paths)
        mu, sigma = (np.array(column) for column in zip(*self.regimes, strict=True))
        shocks = rng.standard_normal((n_paths, self.n_steps))
        drift = (mu[states] - 0.5 * sigma[states] ** 2) * self.dt
        return np.expm1(drift + sigma[states] * math.sqrt(self.dt) * shocks)

    def config(self) -> dict[str, Any]:
        """Return the model's parameters."""
        return {
            "model": "regime_switching",
            "regimes": [list(r) for r in self.regimes],
            "transition": [list(r) for r in self.transition],
            "n_steps": self.n_steps,
            "dt": self.dt,
            "initial": self.initial,
        }


@dataclass(frozen=True)
class BinaryBet:
    """A repeated binary bet: return ``payoff`` with probability ``p``, else ``-loss``.

    Returns are per unit staked, so a bet fraction ``f`` of wealth moves it by ``1 + f * payoff``
    or ``1 - f * loss``; Kelly's fraction is ``p / loss - q / payoff``.

    Examples
    --------
    >>> import numpy as np
    >>> bets = BinaryBet(p=0.6, payoff=1.0, n_steps=1000).draw(np.random.default_rng(0), 10)
    >>> sorted(set(bets.ravel().tolist())), round(float((bets > 0).mean()), 1)
    ([-1.0, 1.0], 0.6)
    """

    p: float
    payoff: float
    n_steps: int
    loss: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.p <= 1:
            raise ValueError(f"p must be in [0, 1], got {self.p}")
        _positive("payoff", self.payoff)
        _positive("loss", self.loss)
        _positive("n_steps", self.n_steps)

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` bet returns."""
        wins = rng.random((n_paths, self.n_steps)) < self.p
        return np.where(wins, self.payoff, -self.loss)

    def config(self) -> dict[str, Any]:
        """Return the model's parameters."""
        return {"model": "binary_bet", **asdict(self)}
