"""Random streams and the path pieces of a synthetic market (regimes, clustering, jumps).

Every component draws from its own stream, named by a key under the seed, so a symbol's path
does not depend on which other symbols are drawn.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from houseedge.data.synthetic._calendar import Session

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_VOL_PHI = 0.995  # log-volatility persistence per bar: clusters last a few hundred bars
_VOL_STRIDE = 16
TRADES_PER_MINUTE = 25.0  # a symbol's trades per minute at its mean volume
_JUMP_SCALE = 4.0  # Laplace scale of a jump, in bar volatilities


def stream(seed: int, *key: str) -> np.random.Generator:
    """Return the random stream named by ``key`` under ``seed`` (stable across processes)."""
    if seed < 0:
        msg = f"seed must be >= 0, not {seed}"
        raise ValueError(msg)
    # Length-prefixed parts: no two keys share an encoding, whatever characters a symbol holds.
    name = "".join(f"{len(part)}:{part}" for part in key)
    digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


@dataclass(frozen=True)
class Streams:
    """The random streams under one seed and key prefix, by component name."""

    seed: int
    key: tuple[str, ...]

    def __call__(self, name: str) -> np.random.Generator:
        return stream(self.seed, *self.key, name)


def ar1(shocks: F64, phi: float) -> F64:
    """Return ``x[t] = phi * x[t-1] + shocks[t]`` with ``x[0] = shocks[0]``, in one pass."""
    if not shocks.size:
        return shocks
    alpha = 1.0 - phi
    inputs = shocks.copy()
    inputs[0] *= alpha  # ewm's first value is its input: scale so x[0] = shocks[0]
    smoothed = pl.Series(inputs).ewm_mean(alpha=alpha, adjust=False).to_numpy()
    return smoothed / alpha


def log_vol(rng: np.random.Generator, n: int, sd: float) -> F64:
    """Return a stationary AR(1) log-volatility ``h`` with standard deviation ``sd``.

    Its mean, ``-sd**2``, makes ``exp(2 h)`` average one. It moves slowly, so it is drawn every
    ``_VOL_STRIDE`` bars and held in between, which saves most of the draws.
    """
    phi = _VOL_PHI**_VOL_STRIDE
    coarse = rng.standard_normal(-(-n // _VOL_STRIDE)) * (sd * math.sqrt(1.0 - phi**2))
    coarse[:1] *= 1.0 / math.sqrt(1.0 - phi**2)  # start from the stationary law
    return np.repeat(ar1(coarse, phi) - sd**2, _VOL_STRIDE)[:n]


def jumps(uniform: F64, rate: F64) -> F64:
    """Return jump sizes in bar volatilities: Laplace with probability ``rate``, else zero."""
    jumps = np.zeros(uniform.size)
    hit = uniform < rate
    # Given a hit, uniform / rate is again uniform: reuse it for the size.
    centred = np.clip(uniform[hit] / rate[hit], 1e-12, 1.0 - 1e-12) - 0.5
    jumps[hit] = -np.sign(centred) * np.log1p(-2.0 * np.abs(centred)) * _JUMP_SCALE
    return jumps


def regime_path(mean_bars: F64, n: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Return each bar's regime: segments of random length, each in a new regime."""
    k = mean_bars.size
    states: list[I64] = []
    lengths: list[I64] = []
    total, last = 0, 0
    while total < n:
        draws = rng.random((int((n - total) / mean_bars.min()) + 16, 2))
        steps = 1 + np.floor(draws[:, 0] * (k - 1)).astype(np.int64)
        if not states:
            steps[0] = int(draws[0, 0] * k)  # the first regime is uniform over all
        chunk = (last + np.cumsum(steps)) % k
        length = np.ceil(-np.log1p(-draws[:, 1]) * mean_bars[chunk]).astype(np.int64)
        states.append(chunk)
        lengths.append(np.maximum(length, 1))
        total, last = total + int(lengths[-1].sum()), int(chunk[-1])
    if not states:
        return np.zeros(0, dtype=np.intp)
    return np.repeat(np.concatenate(states), np.concatenate(lengths))[:n].astype(np.intp)


@dataclass(frozen=True)
class Profile:
    """A symbol's character: where its price starts, how it moves and how much it trades."""

    price: float  # starting price
    vol: float  # base annualised volatility
    beta: float  # loading on the market shock
    volume: float  # mean volume per minute


def symbol_profile(symbol: str, seed: int, session: Session) -> Profile:
    """Return the profile of ``symbol`` under ``seed`` (the same in bars and trades)."""
    u = stream(seed, "profile", symbol).random(4)
    return Profile(
        price=float(10.0 * 100.0 ** u[0]),
        vol=float((0.15 + 0.35 * u[1]) * (1.6 if session == "24/7" else 1.0)),
        beta=float(0.4 + 0.45 * u[2]),
        volume=float(500.0 * 100.0 ** u[3]),
    )
