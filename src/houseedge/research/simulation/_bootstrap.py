"""Resampling path models: i.i.d., fixed-block and stationary bootstrap, all with replacement.

The sample is any series of simple returns: a run's per-bar ``returns`` or its trades'
``return_pct`` (then each path is ``n_steps`` trades drawn; see :func:`returns_sample`).
Blocks wrap around the end of the sample (circular blocks, Politis & Romano 1992), so every
observation is equally likely to appear at any position of a path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from houseedge.research.simulation._paths import F64, fingerprint

if TYPE_CHECKING:
    from houseedge.research.backtest import BacktestResult

__all__ = ["BlockBootstrap", "IidBootstrap", "StationaryBootstrap", "returns_sample"]

Sample = Sequence[float] | F64 | pl.Series
NDArrayInt = np.ndarray[Any, np.dtype[np.int64]]


def as_sample(values: Sample) -> F64:
    """Return ``values`` as a 1-D float64 array of returns, refusing an empty or non-finite one.

    Shared by the path models that draw from a return sample.

    Examples
    --------
    >>> as_sample([0.01, -0.02]).dtype
    dtype('float64')
    >>> as_sample([0.01, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: the return sample holds NaN or infinite values; drop them first
    """
    array = np.asarray(values.to_numpy() if isinstance(values, pl.Series) else values, np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"need a non-empty 1-D return sample, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("the return sample holds NaN or infinite values; drop them first")
    return array


def _steps(n_steps: int | None, sample: F64) -> int:
    steps = sample.size if n_steps is None else n_steps
    if steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {steps}")
    return steps


def returns_sample(result: BacktestResult, *, unit: Literal["bar", "trade"] = "bar") -> F64:
    """Return the series to resample from a backtest: per-bar returns or per-trade returns.

    ``unit="bar"`` takes ``equity.returns`` (a missing first return dropped); ``"trade"`` takes
    the closed trades' ``return_pct`` (a fraction: 0.05 is +5%).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import polars as pl
    >>> fake = SimpleNamespace(equity=pl.DataFrame({"returns": [None, 0.01, -0.02]}),
    ...     trades=pl.DataFrame({"return_pct": [0.1, -0.05]}))
    >>> returns_sample(fake).tolist(), returns_sample(fake, unit="trade").tolist()
    ([0.01, -0.02], [0.1, -0.05])
    """
    if unit == "bar":
        column = result.equity["returns"]
    elif unit == "trade":
        column = result.trades["return_pct"]
    else:
        raise ValueError(f"unit must be 'bar' or 'trade', got {unit!r}")
    return column.drop_nulls().drop_nans().to_numpy().astype(np.float64)


@dataclass(frozen=True, eq=False)
class IidBootstrap:
    """Draw each step independently and uniformly from the sample, with replacement.

    Parameters
    ----------
    sample
        Simple returns (per bar or per trade).
    n_steps
        Returns per path; the sample's length by default.

    Examples
    --------
    >>> import numpy as np
    >>> model = IidBootstrap([0.01, -0.02, 0.03], n_steps=5)
    >>> paths = model.draw(np.random.default_rng(0), 2)
    >>> paths.shape, bool(np.isin(paths, [0.01, -0.02, 0.03]).all())
    ((2, 5), True)
    """

    sample: F64
    n_steps: int

    def __init__(self, sample: Sample, n_steps: int | None = None) -> None:
        values = as_sample(sample)
        object.__setattr__(self, "sample", values)
        object.__setattr__(self, "n_steps", _steps(n_steps, values))

    def indices(self, rng: np.random.Generator, n_paths: int) -> NDArrayInt:
        """Return the ``(n_paths, n_steps)`` sample indices a draw uses."""
        return rng.integers(0, len(self.sample), size=(n_paths, self.n_steps))

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` resampled returns."""
        return self.sample[self.indices(rng, n_paths)]

    def config(self) -> dict[str, Any]:
        """Return the model's parameters (the sample by length and fingerprint)."""
        return _sample_config("iid_bootstrap", self.sample, self.n_steps)


@dataclass(frozen=True, eq=False)
class BlockBootstrap:
    """Draw blocks of ``block_length`` consecutive returns (circular moving blocks).

    Keeps the sample's short-range dependence (volatility clustering, autocorrelation) up to the
    block length; block starts are uniform with replacement.

    Examples
    --------
    >>> import numpy as np
    >>> model = BlockBootstrap([1.0, 2.0, 3.0, 4.0], block_length=3, n_steps=5)
    >>> row = model.draw(np.random.default_rng(0), 1)[0]
    >>> bool(all((row[i + 1] - row[i]) % 4 == 1 for i in (0, 1, 3)))  # runs of consecutive
    True
    """

    sample: F64
    block_length: int
    n_steps: int

    def __init__(self, sample: Sample, block_length: int, n_steps: int | None = None) -> None:
        values = as_sample(sample)
        if block_length < 1:
            raise ValueError(f"block_length must be >= 1, got {block_length}")
        object.__setattr__(self, "sample", values)
        object.__setattr__(self, "block_length", block_length)
        object.__setattr__(self, "n_steps", _steps(n_steps, values))

    def indices(self, rng: np.random.Generator, n_paths: int) -> NDArrayInt:
        """Return the ``(n_paths, n_steps)`` sample indices a draw uses."""
        size, length = len(self.sample), self.block_length
        blocks = -(-self.n_steps // length)
        starts = rng.integers(0, size, size=(n_paths, blocks))
        runs = (starts[:, :, None] + np.arange(length)) % size
        return runs.reshape(n_paths, blocks * length)[:, : self.n_steps]

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` resampled returns."""
        return self.sample[self.indices(rng, n_paths)]

    def config(self) -> dict[str, Any]:
        """Return the model's parameters (the sample by length and fingerprint)."""
        config = _sample_config("block_bootstrap", self.sample, self.n_steps)
        return {**config, "block_length": self.block_length}


@dataclass(frozen=True, eq=False)
class StationaryBootstrap:
    """Draw blocks of geometric length with mean ``mean_block_length`` (Politis & Romano 1994).

    Each step starts a new block at a uniform random index with probability
    ``1 / mean_block_length``, else continues the current block (wrapping around); the first
    step always starts one. Unlike fixed blocks, the resampled series is stationary.

    Examples
    --------
    >>> import numpy as np
    >>> model = StationaryBootstrap([1.0, 2.0, 3.0], mean_block_length=1e9, n_steps=6)
    >>> row = model.draw(np.random.default_rng(3), 1)[0]  # one endless block: a rotation
    >>> bool(all((row[i + 1] - row[i]) % 3 == 1 for i in range(5)))
    True
    """

    sample: F64
    mean_block_length: float
    n_steps: int

    def __init__(
        self, sample: Sample, mean_block_length: float, n_steps: int | None = None
    ) -> None:
        values = as_sample(sample)
        if not mean_block_length >= 1:
            raise ValueError(f"mean_block_length must be >= 1, got {mean_block_length}")
        object.__setattr__(self, "sample", values)
        object.__setattr__(self, "mean_block_length", float(mean_block_length))
        object.__setattr__(self, "n_steps", _steps(n_steps, values))

    def indices(self, rng: np.random.Generator, n_paths: int) -> NDArrayInt:
        """Return the ``(n_paths, n_steps)`` sample indices a draw uses."""
        size, steps = len(self.sample), self.n_steps
        new_block = rng.random((n_paths, steps)) < 1.0 / self.mean_block_length
        new_block[:, 0] = True
        starts = rng.integers(0, size, size=(n_paths, steps))
        at = np.arange(steps)
        # The step at which the current block began: a running max of block-start positions.
        began = np.maximum.accumulate(np.where(new_block, at, 0), axis=1)
        return (np.take_along_axis(starts, began, axis=1) + (at - began)) % size

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` resampled returns."""
        return self.sample[self.indices(rng, n_paths)]

    def config(self) -> dict[str, Any]:
        """Return the model's parameters (the sample by length and fingerprint)."""
        config = _sample_config("stationary_bootstrap", self.sample, self.n_steps)
        return {**config, "mean_block_length": self.mean_block_length}


def _sample_config(name: str, sample: Sample, n_steps: int) -> dict[str, Any]:
    values = np.asarray(sample)
    return {
        "model": name,
        "n_steps": n_steps,
        "sample_size": int(values.size),
        "sample_fingerprint": fingerprint(values),
        "sample_mean": float(values.mean()),
        "sample_std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
    }
