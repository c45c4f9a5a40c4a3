r"""Kelly fractions and the probability of reaching a wealth target, in closed form and simulated.

Model. Betting a constant fraction ``f`` of wealth on an asset whose simple return per period has
mean ``mu`` and standard deviation ``sigma`` (a GBM in the continuous limit), log-wealth is a
Brownian motion with drift and volatility

.. math:: \nu(f) = f\mu - f^2\sigma^2/2, \qquad s(f) = f\sigma .

*Kelly* maximises the drift: ``f* = mu / sigma**2`` (``(mu - r) / sigma**2`` over a rate ``r``),
where ``nu(f*) = mu**2 / (2 sigma**2)``; the drift is zero again at ``2 f*`` and negative beyond.

*Target before floor, no deadline.* With log distances ``a = ln(target / W)`` and
``b = ln(W / floor)``, the scale function of the drifted Brownian motion gives

.. math:: P(f) = \frac{1 - e^{-\theta b}}{1 - e^{-\theta (a + b)}}, \qquad
          \theta(f) = \frac{2\nu(f)}{s(f)^2} = \frac{2 f^*}{f} - 1 ,

(``b / (a + b)`` at ``theta = 0``). ``P`` rises with ``theta`` and ``theta`` falls with ``f``,
so for a favourable edge (``mu > 0``) *timid* play maximises ``P`` (``f -> 0``, ``P -> 1``, at the
price of an unbounded wait), and for an unfavourable one *bold* play does (as large as allowed;
Dubins and Savage's result). Neither is Kelly: Kelly instead minimises the expected time to a
distant target (Breiman).

*Target by a deadline, no floor.* A positive fraction never reaches zero wealth in this model; the
probability that log-wealth touches ``a`` within ``T`` periods is the inverse-Gaussian first
passage probability

.. math:: P(f) = \Phi\Big(\frac{\nu T - a}{s\sqrt T}\Big)
          + e^{2\nu a / s^2}\,\Phi\Big(\frac{-\nu T - a}{s\sqrt T}\Big),

which has an interior maximum. Touching (not ending above) rewards volatility, so over short
horizons the best fraction is well above Kelly, often near ``2 f*`` where the drift vanishes.
Over long horizons both terms decay like ``exp(-(a - nu T)**2 / (2 s**2 T))``; with the required
growth rate ``c = a / T`` the best fraction minimises ``(c - nu(f))**2 / s(f)**2``, i.e.

.. math:: f_c = \sqrt{2c}/\sigma = f^* \sqrt{c / \nu(f^*)} ,

so the optimum *is* Kelly exactly when the target grows at Kelly's rate ``nu(f*)`` (Kelly's
median terminal wealth), bolder when the target needs more than Kelly can give (behind schedule),
and any fraction with ``nu(f) > c`` is nearly certain when it needs less.

*Target before a floor and by a deadline* has no simple closed form;
:func:`simulated_hit_probability` estimates it with common random numbers across fractions
(discretely monitored barriers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def kelly_binary(p: float, b: float) -> float:
    """Return the Kelly fraction ``p - (1 - p) / b`` of a bet paying ``b`` per unit staked.

    A win (probability ``p``) adds ``b`` times the stake, a loss removes the stake. The result is
    clipped at 0: a bet without an edge is not taken.

    Examples
    --------
    >>> round(kelly_binary(0.6, 1.0), 12)
    0.2
    >>> kelly_binary(0.4, 1.0)
    0.0
    """
    if not 0.0 <= p <= 1.0:
        msg = f"p must be a probability in [0, 1], got {p}"
        raise ValueError(msg)
    if not b > 0:
        msg = f"b (net odds) must be > 0, got {b}"
        raise ValueError(msg)
    return max(p - (1.0 - p) / b, 0.0)


def binary_log_growth(f: float, p: float, b: float) -> float:
    """Return the expected log growth per bet ``p ln(1 + f b) + (1 - p) ln(1 - f)``.

    ``-inf`` once a loss wipes out the bankroll (``f >= 1`` with ``p < 1``).

    Examples
    --------
    >>> round(binary_log_growth(0.2, 0.6, 1.0), 6)
    0.020136
    """
    loss = 1.0 - f
    if loss <= 0.0:
        return -math.inf if p < 1.0 else p * math.log1p(f * b)
    return p * math.log1p(f * b) + (1.0 - p) * math.log(loss)


def kelly_continuous(mu: float, variance: float, rate: float = 0.0) -> float:
    """Return the signed Kelly fraction ``(mu - rate) / variance`` (NaN without a variance).

    All three are per period and in the same units (simple returns); the ratio does not depend on
    the period length, so per-bar and annualised estimates give the same fraction.

    Examples
    --------
    >>> round(kelly_continuous(0.0005, 0.0001), 12)
    5.0
    >>> math.isnan(kelly_continuous(0.001, 0.0))
    True
    """
    if not variance > 0 or math.isnan(mu):
        return math.nan
    return (mu - rate) / variance


def log_growth(f: float, mu: float, sigma: float) -> float:
    """Return the drift ``f mu - f**2 sigma**2 / 2`` of log-wealth at fraction ``f``.

    Examples
    --------
    >>> round(log_growth(1.0, 0.01, 0.1), 12), abs(log_growth(2.0, 0.01, 0.1)) < 1e-15
    (0.005, True)
    """
    return f * mu - 0.5 * (f * sigma) ** 2


def hit_probability(f: float, mu: float, sigma: float, up: float, down: float) -> float:
    """Return P(log-wealth rises by ``up`` before it falls by ``down``), no deadline.

    ``up = ln(target / wealth)`` and ``down = ln(wealth / floor)`` (``math.inf`` for no floor).
    See the module docstring for the derivation.

    Examples
    --------
    >>> round(hit_probability(1.0, 0.0, 0.1, up=0.1, down=0.3), 6)  # drift -sigma^2/2
    0.711349
    >>> hit_probability(0.5, 0.02, 0.1, up=0.1, down=math.inf)  # positive drift: certain
    1.0
    """
    if up <= 0.0:
        return 1.0
    if down <= 0.0 or f <= 0.0 or sigma <= 0.0:
        return 0.0
    theta = 2.0 * log_growth(f, mu, sigma) / (f * sigma) ** 2
    if theta == 0.0:
        return 0.0 if math.isinf(down) else down / (up + down)
    if math.isinf(down):
        return 1.0 if theta > 0 else math.exp(theta * up)
    if theta > 0:
        return -math.expm1(-theta * down) / -math.expm1(-theta * (up + down))
    # Rewritten so no exponent is positive: exp(-theta b) would overflow for theta << 0.
    return math.exp(theta * up) * -math.expm1(theta * down) / -math.expm1(theta * (up + down))


def _log_normal_cdf(x: float) -> float:
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2.0)))
    # Mills-ratio tail: erfc underflows long before the product with exp(theta a) does.
    return -0.5 * x * x - math.log(-x) - 0.5 * math.log(2.0 * math.pi) + math.log1p(-1.0 / x**2)


def deadline_hit_probability(f: float, mu: float, sigma: float, up: float, horizon: float) -> float:
    """Return P(log-wealth rises by ``up`` within ``horizon`` periods), no floor.

    Examples
    --------
    >>> round(deadline_hit_probability(1.0, 0.001, 0.02, up=0.1, horizon=252), 4)
    0.8807
    """
    if up <= 0.0:
        return 1.0
    if f <= 0.0 or sigma <= 0.0 or horizon <= 0.0:
        return 0.0
    nu, s = log_growth(f, mu, sigma), f * sigma
    root = s * math.sqrt(horizon)
    first = math.exp(_log_normal_cdf((nu * horizon - up) / root))
    second = math.exp(2.0 * nu * up / s**2 + _log_normal_cdf((-nu * horizon - up) / root))
    return min(first + second, 1.0)


def maximise(
    fn: Callable[[float], float], grid: Sequence[float], *, tolerance: float = 1e-6
) -> tuple[float, float]:
    """Return ``(x, fn(x))`` maximising ``fn``: best grid point, then golden-section refinement.

    The refinement searches the bracket between the best point's grid neighbours, so a unimodal
    function is found to ``tolerance`` and a multimodal one at least to the grid's resolution.

    Examples
    --------
    >>> x, y = maximise(lambda f: log_growth(f, 0.01, 0.1), [0.0, 0.5, 1.0, 1.5, 2.0])
    >>> round(x, 4)
    1.0
    """
    points = sorted(set(grid))
    values = [fn(x) for x in points]
    best = max(range(len(points)), key=values.__getitem__)
    lo, hi = points[max(best - 1, 0)], points[min(best + 1, len(points) - 1)]
    x, y = points[best], values[best]
    c, d = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    fc, fd = fn(c), fn(d)
    while hi - lo > tolerance:
        if fc >= fd:
            hi, d, fd = d, c, fc
            c = hi - _GOLDEN * (hi - lo)
            fc = fn(c)
        else:
            lo, c, fc = c, d, fd
            d = lo + _GOLDEN * (hi - lo)
            fd = fn(d)
    middle = (lo + hi) / 2.0
    value = fn(middle)
    return (middle, value) if value > y else (x, y)


def simulated_hit_probability(
    fractions: Sequence[float],
    mu: float,
    sigma: float,
    up: float,
    down: float,
    horizon: int,
    *,
    n_paths: int = 1_000,
    max_steps: int = 250,
    seed: int = 0,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Return the simulated P(target before floor and before the deadline) per fraction.

    Log-wealth follows ``nu(f) t + f sigma B_t`` over ``horizon`` periods, sampled on at most
    ``max_steps`` equal steps (barriers are checked at the end of each step, so hits between
    samples are missed: a small bias toward "neither"). The same Brownian paths serve every
    fraction (common random numbers), so the curve over ``fractions`` is smooth and its argmax
    stable. Results are cached.

    Examples
    --------
    >>> p = simulated_hit_probability([0.5, 1.0], 0.001, 0.02, 0.1, 0.2, 252, n_paths=500)
    >>> p.shape, bool(((p >= 0) & (p <= 1)).all())
    ((2,), True)
    """
    if horizon < 1 or n_paths < 1 or max_steps < 1:
        msg = f"horizon, n_paths and max_steps must be >= 1: {horizon}, {n_paths}, {max_steps}"
        raise ValueError(msg)
    steps = min(int(horizon), max_steps)
    chances = _simulated(
        tuple(map(float, fractions)), (mu, sigma, up, down), horizon / steps, steps, n_paths, seed
    )
    return np.array(chances)


@lru_cache(maxsize=4)
def _brownian(n_paths: int, steps: int, seed: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    walk = np.random.default_rng(seed).standard_normal((n_paths, steps)).cumsum(axis=1)
    walk.flags.writeable = False
    return walk


@lru_cache(maxsize=256)
def _simulated(
    fractions: tuple[float, ...],
    model: tuple[float, float, float, float],
    dt: float,
    steps: int,
    n_paths: int,
    seed: int,
) -> tuple[float, ...]:
    mu, sigma, up, down = model
    walk = _brownian(n_paths, steps, seed)
    times = np.arange(1, steps + 1, dtype=float) * dt
    result: list[float] = []
    for f in fractions:
        paths = log_growth(f, mu, sigma) * times + (f * sigma * math.sqrt(dt)) * walk
        above, below = paths >= up, paths <= -down
        first_up = np.where(above.any(axis=1), above.argmax(axis=1), steps)
        first_down = np.where(below.any(axis=1), below.argmax(axis=1), steps)
        result.append(float(np.mean((first_up < steps) & (first_up < first_down))))
    return tuple(result)
