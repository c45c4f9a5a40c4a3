"""Incremental targets for the built-in policies: a little state a bar instead of a window frame.

The live engine needs a policy's target on each new bar. Evaluating ``policy.target()`` on a
window frame costs a millisecond or two (building the frame, running the expression); for the
built-in policies a :class:`Stepper` carries the expression's state from bar to bar instead and
returns, for every bar, **the same float** the expression gives on the last row of the history
(a property test checks it bit for bit on random bar streams):

* Exact-window averages (:func:`~houseedge.core.features.indicators.sma`) come from
:func:`exact_sum`: the
  correctly rounded sum of the window, which is what ``core._window_sum`` computes, so the same
  bits whatever came before the window.
* Exponential averages and Wilder's smoothing repeat Polars' ``ewm_mean(adjust=False)`` update
  (``m + (x - m) * (alpha / ((1 - alpha) + alpha))``) from the same exact SMA seed.
* Held positions (:func:`~houseedge.core.policies.positions.legs`) are two flags updated on entry
and exit
  events; crosses remember the last non-zero side.

A stepper raises :class:`Unsupported` on an input it cannot follow exactly (a non-finite price);
the runner then evaluates the Polars target for that symbol from then on. Only the exact classes
registered here get a stepper: a subclass may redefine ``target()``. Window deviations
(Bollinger bands, volatility) come from the features' own Polars expression: those two
steppers ask Polars for the bands or the volatility on their last window only (a one-column
frame), which gives the backtest's bits by construction, and do the rest in Python.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any, Protocol

import numpy as np
import polars as pl

from houseedge.core.features.indicators import bollinger, returns, rolling_volatility
from houseedge.core.features.window_sum import window_sums
from houseedge.core.policies.builtin import (
    BollingerReversion,
    BuyAndHold,
    DonchianBreakout,
    EmaCross,
    FixedWeights,
    RsiReversion,
    SmaCross,
    VolTargetTrend,
)
from houseedge.core.types import Bar

__all__ = ["Stepper", "Unsupported", "exact_sum", "stepper_factory"]

_TINY = 2.0**-1000  # sums below this may round differently once scaled (subnormal range)


class Unsupported(ArithmeticError):
    """An input the stepper cannot follow exactly: use the policy's Polars target instead."""


class Stepper(Protocol):
    """Follows one symbol's bars; ``step`` returns the target on the newest (None: null)."""

    def step(self, bar: Bar) -> float | None:
        """Take the newest bar; return the target on it (None: no opinion yet)."""
        ...


def exact_sum(values: Sequence[float]) -> float:
    """Return the correctly rounded sum of finite ``values`` (as ``core._window_sum`` does).

    :func:`math.fsum` is correctly rounded, so it gives the bits of the exact-window sum; where
    it might not (overflow, results near the subnormal range) the window sum itself is used.

    Examples
    --------
    >>> exact_sum([0.1, 0.2, 0.3]), exact_sum([1e16, 1.0, 1.0, -1e16])
    (0.6, 2.0)
    """
    try:
        total = math.fsum(values)
    except OverflowError:
        total = math.inf
    if _TINY <= abs(total) < math.inf:
        return total
    return float(window_sums(np.asarray(values, dtype=np.float64), [len(values)])[0][-1])


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise Unsupported(value)
    return value


def _tail(values: deque[float], n: int) -> list[float]:
    return list(islice(values, len(values) - n, None))


class _Ewm:
    """Polars' ``ewm_mean(alpha, adjust=False)`` seeded with the exact mean of ``n`` inputs."""

    def __init__(self, n: int, alpha: float) -> None:
        self.n = n
        self.factor = alpha / ((1.0 - alpha) + alpha)  # Polars' weight update, as it rounds
        self.seed: deque[float] = deque(maxlen=n)
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        m = self.value
        if m is not None:
            self.value = m + (x - m) * self.factor
        else:
            self.seed.append(x)
            if len(self.seed) == self.n:
                self.value = exact_sum(self.seed) / self.n
        return self.value


class _Legs:
    """The long and short legs of :func:`~houseedge.core.policies.positions.legs`.

    Entry wins a tie.
    """

    def __init__(self, mode: str) -> None:
        self.both = mode == "long_short"
        self.long = self.short = 0.0

    def update(self, long_in: bool, long_out: bool, short_in: bool, short_out: bool) -> float:
        if long_in:
            self.long = 1.0
        elif long_out:
            self.long = 0.0
        if short_in:
            self.short = 1.0
        elif short_out:
            self.short = 0.0
        return self.long - self.short if self.both else self.long


class _Crossing:
    """``_crossing`` in :mod:`houseedge.core.policies.builtin`, one ``fast - slow`` at a time."""

    def __init__(self, mode: str, signal: str) -> None:
        self.level, self.both = signal == "level", mode == "long_short"
        self.side: float | None = None  # the last non-zero side
        self.legs = _Legs(mode)

    def update(self, diff: float | None) -> float | None:
        if self.level:
            if diff is None:
                return None
            side = 1.0 if diff > 0 else -1.0 if diff < 0 else 0.0
            return side if self.both else max(side, 0.0)
        before = self.side
        if diff:  # None and 0 keep the side it came from
            self.side = 1.0 if diff > 0 else -1.0
        turned = before is not None and self.side != before
        up = turned and before is not None and before < 0
        down = turned and before is not None and before > 0
        held = self.legs.update(up, down, down, up)
        return None if diff is None else held


class _SmaCrossStepper:
    def __init__(self, policy: SmaCross) -> None:
        self.fast, self.slow = policy.fast, policy.slow
        self.closes: deque[float] = deque(maxlen=policy.slow)
        self.crossing = _Crossing(policy.mode, policy.signal)

    def step(self, bar: Bar) -> float | None:
        closes = self.closes
        closes.append(_finite(bar.close))
        diff = None
        if len(closes) == self.slow:
            fast = exact_sum(_tail(closes, self.fast)) / self.fast
            diff = _finite(fast - exact_sum(closes) / self.slow)
        return self.crossing.update(diff)


class _EmaCrossStepper:
    def __init__(self, policy: EmaCross) -> None:
        self.fast = _Ewm(policy.fast, 2.0 / (policy.fast + 1))
        self.slow = _Ewm(policy.slow, 2.0 / (policy.slow + 1))
        self.crossing = _Crossing(policy.mode, policy.signal)

    def step(self, bar: Bar) -> float | None:
        close = _finite(bar.close)
        fast, slow = self.fast.update(close), self.slow.update(close)
        diff = None if fast is None or slow is None else _finite(fast - slow)
        return self.crossing.update(diff)


class _DonchianStepper:
    def __init__(self, policy: DonchianBreakout) -> None:
        self.entry, self.exit = policy.entry, policy.exit
        longest = max(policy.entry, policy.exit)
        self.highs: deque[float] = deque(maxlen=longest)  # the previous bars, not this one
        self.lows: deque[float] = deque(maxlen=longest)
        self.legs = _Legs(policy.mode)

    def _channel(self, n: int) -> tuple[float, float] | None:
        if len(self.highs) < n:
            return None
        return max(_tail(self.highs, n)), min(_tail(self.lows, n))

    def step(self, bar: Bar) -> float | None:
        close = _finite(bar.close)
        entry, exit_ = self._channel(self.entry), self._channel(self.exit)
        target = self.legs.update(
            entry is not None and close > entry[0], exit_ is not None and close < exit_[1],
            entry is not None and close < entry[1], exit_ is not None and close > exit_[0],
        )  # fmt: skip
        self.highs.append(_finite(bar.high))
        self.lows.append(_finite(bar.low))
        return target if entry is not None and exit_ is not None else None


class _RsiStepper:
    def __init__(self, policy: RsiReversion) -> None:
        n = policy.period
        self.gain, self.loss = _Ewm(n, 1.0 / n), _Ewm(n, 1.0 / n)
        self.lower, self.upper = policy.lower, policy.upper
        self.previous: float | None = None
        self.legs = _Legs(policy.mode)
        self.side = 0.0  # long_short: one stop-and-reverse state

    def _value(self, close: float) -> float | None:
        previous, self.previous = self.previous, close
        if previous is None:
            return None
        change = close - previous
        gain = self.gain.update(change if change > 0 else 0.0)
        loss = self.loss.update(-change if change < 0 else 0.0)
        if gain is None or loss is None:
            return None
        if gain == 0:
            return 50.0 if loss == 0 else 0.0  # 0 / 0 is NaN -> 50; x / 0 -> 100 / inf
        return 100.0 / (1.0 + loss / gain)

    def step(self, bar: Bar) -> float | None:
        value = self._value(_finite(bar.close))
        if value is None:
            return None
        low, high = value < self.lower, value > self.upper
        if not self.legs.both:
            return self.legs.update(low, high, high, low)
        self.side = 1.0 if low else -1.0 if high else self.side
        return self.side


class _BollingerStepper:
    """The held legs in Python; the bands from Polars on the last ``period`` closes only.

    The bands' deviation sums in Polars' own order (see the module doc), so Polars computes it,
    but on one window instead of the whole history the position state would otherwise need.
    """

    def __init__(self, policy: BollingerReversion) -> None:
        self.period = policy.period
        self.bands = bollinger("close", policy.period, policy.k).alias("bands")
        self.closes: deque[float] = deque(maxlen=policy.period)
        self.legs = _Legs(policy.mode)

    def step(self, bar: Bar) -> float | None:
        close = _finite(bar.close)
        self.closes.append(close)
        if len(self.closes) < self.period:
            return None
        window = pl.DataFrame({"close": list(self.closes)})
        middle, upper, lower = window.select(self.bands).row(-1)[0].values()
        if middle is None:
            return None
        return self.legs.update(close < lower, close >= middle, close > upper, close <= middle)


class _VolTargetStepper:
    """The trend's sign and the sizing in Python; the volatility from Polars on its window."""

    def __init__(self, policy: VolTargetTrend) -> None:
        self.policy = policy
        self.closes: deque[float] = deque(maxlen=policy.warmup + 1)
        self.vol = rolling_volatility(
            returns("close"), policy.vol_lookback, periods_per_year=policy.periods_per_year
        ).alias("vol")

    def step(self, bar: Bar) -> float | None:
        policy, closes = self.policy, self.closes
        closes.append(_finite(bar.close))
        if len(closes) <= policy.warmup:
            return None
        change = closes[-1] / closes[-1 - policy.lookback] - 1.0
        direction = 1.0 if change > 0 else -1.0 if change < 0 else 0.0
        if policy.mode == "long_only":
            direction = max(direction, 0.0)
        window = pl.DataFrame({"close": _tail(closes, policy.vol_lookback + 1)})
        vol = window.select(self.vol).to_series()[-1]
        if vol is None or not vol >= 0:
            return None
        size = policy.target_vol / vol if vol > 0 else math.inf
        return direction * min(size, policy.max_leverage)


class _Constant:
    def __init__(self, value: float) -> None:
        self.value = value

    def step(self, bar: Bar) -> float | None:
        return self.value


_FACTORIES: dict[type, Callable[[Any, str], Stepper]] = {
    SmaCross: lambda policy, _: _SmaCrossStepper(policy),
    EmaCross: lambda policy, _: _EmaCrossStepper(policy),
    DonchianBreakout: lambda policy, _: _DonchianStepper(policy),
    RsiReversion: lambda policy, _: _RsiStepper(policy),
    BollingerReversion: lambda policy, _: _BollingerStepper(policy),
    VolTargetTrend: lambda policy, _: _VolTargetStepper(policy),
    BuyAndHold: lambda _, __: _Constant(1.0),
    FixedWeights: lambda policy, symbol: _Constant(float(policy.weights.get(symbol, 0.0))),
}


def stepper_factory(policy: object) -> Callable[[str], Stepper] | None:
    """Return a maker of per-symbol steppers for ``policy``, or None if it has none.

    Examples
    --------
    >>> make = stepper_factory(SmaCross(1, 2))
    >>> stepper = make("X")
    >>> [stepper.step(Bar(symbol="X", timeframe="1d", ts=i, open=c, high=c, low=c, close=c,
    ...                   volume=0.0)) for i, c in enumerate([3.0, 2.0, 1.0, 2.0])]
    [None, 0.0, 0.0, 1.0]
    >>> stepper_factory(object()) is None
    True
    """
    factory = _FACTORIES.get(type(policy))
    if factory is None:
        return None
    return lambda symbol: factory(policy, symbol)
