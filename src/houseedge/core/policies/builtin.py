"""Built-in vector policies: trend, breakout, mean reversion, allocation and volatility targeting.

Every class satisfies :class:`~houseedge.core.policies.protocol.VectorPolicy`: a frozen
dataclass whose ``target()`` is a ``pl.Expr`` of signed exposure in ``[-1, 1]`` over one
symbol's bars sorted by ``ts`` (null during warm-up, which the engines treat as flat).
Parameters are checked on construction and raise :class:`~houseedge.errors.PolicyError`.

Besides the protocol, each has ``unbounded_state``. When it is false, ``warmup`` is exact: the
target on the last ``warmup + 1`` bars of any history equals the full-history target on the last
bar. When it is true the target carries state from arbitrarily far back (a held position, an
exponential average, "a cross has happened"), ``warmup`` only says when the target first means
something, and the live engine must evaluate it over its whole history (or a long window that it
accepts to differ on rare bars). Bounded: :class:`SmaCross` (``signal="level"``),
:class:`BuyAndHold`, :class:`FixedWeights`, :class:`VolTargetTrend`. Unbounded: the rest. The
reversion and breakout policies live in :mod:`houseedge.core.policies.reversion` and are
re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from houseedge.core.features.averages import ema, window_means
from houseedge.core.features.indicators import returns, rolling_volatility
from houseedge.core.features.window_sum import mean_side, window_sums
from houseedge.core.policies.positions import (
    Mode,
    ParamsMixin,
    Signal,
    check_mode,
    crossing,
    require,
)
from houseedge.core.policies.reversion import BollingerReversion, DonchianBreakout, RsiReversion

__all__ = [
    "BollingerReversion",
    "BuyAndHold",
    "DonchianBreakout",
    "EmaCross",
    "FixedWeights",
    "RsiReversion",
    "SmaCross",
    "VolTargetTrend",
]


def _check_cross(fast: int, slow: int, mode: str, signal: str) -> None:
    require(fast >= 1, f"fast must be >= 1, got {fast}")
    require(slow > fast, f"slow must be > fast, got fast={fast}, slow={slow}")
    check_mode(mode)
    require(signal in ("level", "cross"), f"signal must be 'level' or 'cross', got {signal!r}")


@dataclass(frozen=True)
class _Cross(ParamsMixin):
    """The parameters, checks and warm-up the two moving-average crosses share."""

    fast: int
    slow: int
    mode: Mode = "long_only"
    signal: Signal = "level"

    def __post_init__(self) -> None:
        _check_cross(self.fast, self.slow, self.mode, self.signal)

    @property
    def warmup(self) -> int:
        """Return ``slow - 1``: the first bar of the slow average (its seed for an EMA)."""
        return self.slow - 1


@dataclass(frozen=True)
class SmaCross(_Cross):
    """Long (or short) while the fast simple average is above (or below) the slow one.

    ``signal="level"`` targets the side of ``fast - slow`` on every bar (0 on a tie; in
    ``long_only`` mode 1 while ``fast > slow``, else 0). ``signal="cross"`` trades only on
    crosses, as backtesting.py and backtrader do: flat until the first cross, then the side of
    the last cross. Both read ``close``.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [3.0, 2.0, 1.0, 2.0, 3.0, 1.0]})
    >>> df.select(SmaCross(1, 2).target()).to_series().to_list()
    [None, 0.0, 0.0, 1.0, 1.0, 0.0]
    >>> df.select(SmaCross(1, 2, "long_short").target()).to_series().to_list()
    [None, -1.0, -1.0, 1.0, 1.0, -1.0]
    """

    @property
    def name(self) -> str:
        """Return ``"sma_cross"``."""
        return "sma_cross"

    @property
    def unbounded_state(self) -> bool:
        """Return whether the target remembers past the window (``signal="cross"``)."""
        return self.signal == "cross"

    def target(self) -> pl.Expr:
        """Return the exposure per bar."""
        # Both averages from one exact pass over the closes (the split into limbs is shared).
        if self.signal == "level":
            # The whole level target in NumPy: a UDF column referenced twice is run twice.
            return _sma_side(self.fast, self.slow, long_only=self.mode != "long_short")
        diff = window_means("close", (self.fast, self.slow), np.subtract)
        return crossing(diff, self.mode, self.signal)


def _sma_side(fast: int, slow: int, *, long_only: bool) -> pl.Expr:
    """Return the side of the exact fast average of ``close`` over the slow one (null: warm-up).

    Long-only: 1 above, else 0. The sign of the exact averages' difference, mostly read from
    integer window sums (:func:`~houseedge.core.features.window_sum.mean_side`), else computed.
    """

    def evaluate(close: pl.Series) -> pl.Series:
        values = close.to_numpy()
        side = mean_side(values, fast, slow, long_only=long_only)
        if side is None:
            fast_mean, slow_mean = window_sums(values, (fast, slow), means=True)
            side = np.sign(np.subtract(fast_mean, slow_mean, out=fast_mean), out=fast_mean)
            if long_only:  # maximum keeps NaN: the warm-up stays null
                np.maximum(side, 0.0, out=side)
        return pl.Series(close.name, side, dtype=pl.Float64, nan_to_null=True)

    return pl.col("close").cast(pl.Float64).map_batches(evaluate, return_dtype=pl.Float64)


@dataclass(frozen=True)
class EmaCross(_Cross):
    """As :class:`SmaCross` on exponential averages (SMA-seeded, so unbounded state).

    Examples
    --------
    >>> df = pl.DataFrame({"close": [3.0, 2.0, 1.0, 2.0, 3.0, 1.0]})
    >>> df.select(EmaCross(1, 2, "long_short").target()).to_series().to_list()
    [None, -1.0, -1.0, 1.0, 1.0, -1.0]
    """

    @property
    def name(self) -> str:
        """Return ``"ema_cross"``."""
        return "ema_cross"

    @property
    def unbounded_state(self) -> bool:
        """Return True: an exponential average remembers its whole history."""
        return True

    def target(self) -> pl.Expr:
        """Return the exposure per bar."""
        return crossing(ema("close", self.fast) - ema("close", self.slow), self.mode, self.signal)


@dataclass(frozen=True)
class BuyAndHold(ParamsMixin):
    """Fully long on every bar.

    Examples
    --------
    >>> pl.DataFrame({"close": [1.0, 2.0]}).select(BuyAndHold().target()).to_series().to_list()
    [1.0, 1.0]
    """

    @property
    def name(self) -> str:
        """Return ``"buy_and_hold"``."""
        return "buy_and_hold"

    @property
    def warmup(self) -> int:
        """Return 0."""
        return 0

    @property
    def unbounded_state(self) -> bool:
        """Return False."""
        return False

    def target(self) -> pl.Expr:
        """Return 1 on every bar."""
        return pl.repeat(1.0, pl.len(), dtype=pl.Float64)


@dataclass(frozen=True)
class FixedWeights(ParamsMixin):
    """A constant exposure per symbol: the weight of the frame's ``symbol`` (0 if unlisted).

    Examples
    --------
    >>> df = pl.DataFrame({"symbol": ["SPY", "TLT", "GLD"], "close": [1.0, 1.0, 1.0]})
    >>> df.select(FixedWeights({"SPY": 0.6, "TLT": -0.4}).target()).to_series().to_list()
    [0.6, -0.4, 0.0]
    """

    weights: Mapping[str, float] = field(default_factory=dict[str, float])

    def __post_init__(self) -> None:
        weights = {str(symbol): float(weight) for symbol, weight in self.weights.items()}
        for symbol, weight in weights.items():
            require(-1.0 <= weight <= 1.0, f"weight of {symbol} must be in [-1, 1], got {weight}")
        object.__setattr__(self, "weights", weights)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.weights.items())))

    @property
    def name(self) -> str:
        """Return ``"fixed_weights"``."""
        return "fixed_weights"

    @property
    def warmup(self) -> int:
        """Return 0."""
        return 0

    @property
    def unbounded_state(self) -> bool:
        """Return False."""
        return False

    def params(self) -> Mapping[str, Any]:
        """Return ``{"weights": {symbol: weight}}``."""
        return {"weights": dict(self.weights)}

    def target(self) -> pl.Expr:
        """Return the symbol's weight on every bar."""
        return pl.col("symbol").replace_strict(
            dict(self.weights), default=0.0, return_dtype=pl.Float64
        )


@dataclass(frozen=True)
class VolTargetTrend(ParamsMixin):
    """Follow the sign of the ``lookback``-bar return, sized to a target annual volatility.

    Exposure is ``sign(close / close[lookback] - 1) * min(target_vol / vol, max_leverage)``
    where ``vol`` is the sample standard deviation of the last ``vol_lookback`` simple returns
    times ``sqrt(periods_per_year)``; zero volatility gets ``max_leverage``. Targets live in
    ``[-1, 1]``, so ``max_leverage`` is at most 1. ``long_only`` mode targets 0 in a down-trend.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [100.0, 101.0, 100.0, 102.0, 101.0, 99.0]})
    >>> policy = VolTargetTrend(2, 3, target_vol=0.1, periods_per_year=252,
    ...                         mode="long_short")
    >>> df.select(policy.target()).to_series().round(3).to_list()
    [None, None, None, 0.414, 0.365, -0.304]
    """

    lookback: int
    vol_lookback: int
    target_vol: float
    periods_per_year: float
    max_leverage: float = 1.0
    mode: Mode = "long_only"

    def __post_init__(self) -> None:
        require(self.lookback >= 1, f"lookback must be >= 1, got {self.lookback}")
        require(self.vol_lookback >= 2, f"vol_lookback must be >= 2, got {self.vol_lookback}")
        require(self.target_vol > 0, f"target_vol must be > 0, got {self.target_vol}")
        require(
            self.periods_per_year > 0, f"periods_per_year must be > 0, got {self.periods_per_year}"
        )
        require(
            0 < self.max_leverage <= 1,
            f"max_leverage must be in (0, 1] (targets live in [-1, 1]), got {self.max_leverage}",
        )
        check_mode(self.mode)

    @property
    def name(self) -> str:
        """Return ``"vol_target_trend"``."""
        return "vol_target_trend"

    @property
    def warmup(self) -> int:
        """Return ``max(lookback, vol_lookback)``: the first bar with both inputs."""
        return max(self.lookback, self.vol_lookback)

    @property
    def unbounded_state(self) -> bool:
        """Return False: both inputs are fixed windows."""
        return False

    def target(self) -> pl.Expr:
        """Return the exposure per bar."""
        direction = returns("close", self.lookback).sign()
        if self.mode == "long_only":
            direction = direction.clip(lower_bound=0.0)
        vol = rolling_volatility(
            returns("close"), self.vol_lookback, periods_per_year=self.periods_per_year
        )
        size = pl.when(vol > 0).then(self.target_vol / vol).when(vol == 0).then(math.inf)
        return direction * size.clip(upper_bound=self.max_leverage)
