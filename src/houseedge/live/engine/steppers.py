"""Incremental targets for the built-in policies: a little state a bar instead of a window frame.

The live engine needs a policy's target on each new bar. Evaluating ``policy.target()`` on a
window frame costs a millisecond or two (building the frame, running the expression); for the
built-in policies a :class:`Stepper` carries the expression's state from bar to bar instead and
returns, for every bar, **the same float** the expression gives on the last row of the history
(a property test checks it bit for bit on random bar streams):

* Exact-window averages (:func:`~houseedge.core.features.indicators.sma`) come from
  :func:`exact_sum`: the correctly rounded sum of the window, which is what
  :mod:`houseedge.core.features.window_sum` computes, so the same bits whatever came before the
  window.
* Exponential averages and Wilder's smoothing repeat Polars' ``ewm_mean(adjust=False)`` update
  (``m + (x - m) * (alpha / ((1 - alpha) + alpha))``) from the same exact SMA seed.
* Held positions (:func:`~houseedge.core.policies.positions.legs`) are two flags updated on
  entry and exit events; crosses remember the last non-zero side.

A stepper raises :class:`Unsupported` on an input it cannot follow exactly (a non-finite price);
the runner then evaluates the Polars target for that symbol from then on. Each stepper is
registered against its policy class in :mod:`houseedge.core.policies.fastpaths` (kind
``"stepper"``) at the bottom of this module; only those exact classes get one, since a subclass
may redefine ``target()``. Window deviations
(Bollinger bands, volatility) come from the features' own Polars expression: those two
steppers ask Polars for the bands or the volatility on their last window only (a one-column
frame), which gives the backtest's bits by construction, and do the rest in Python.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice

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
from houseedge.core.policies.fastpaths import Stepper, fast_path, register_fast_path
from houseedge.core.types import Bar

__all__ = ["Stepper", "Unsupported", "exact_sum", "stepper_factory"]

_TINY = 2.0**-1000  # sums below this may round differently once scaled (subnormal range)


class Unsupported(ArithmeticError):
    """An input the stepper cannot follow exactly: use the policy's Polars target instead."""


def exact_sum(values: Sequence[float]) -> float:
    """Return the correctly rounded sum of finite ``values`` (as the exact window sums are).

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
    """:func:`~houseedge.core.policies.positions.crossing`, one ``fast - slow`` at a time."""

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
    def __init__(self, policy: SmaCross, symbol: str) -> None:
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
    def __init__(self, policy: EmaCross, symbol: str) -> None:
        self.fast = _Ewm(policy.fast, 2.0 / (policy.fast + 1))
        self.slow = _Ewm(policy.slow, 2.0 / (policy.slow + 1))
        self.crossing = _Crossing(policy.mode, policy.signal)

    def step(self, bar: Bar) -> float | None:
        close = _finite(bar.close)
        fast, slow = self.fast.update(close), self.slow.update(close)
        diff = None if fast is None or slow is None else _finite(fast - slow)
        return self.crossing.update(diff)


class _DonchianStepper:
    def __init__(self, policy: DonchianBreakout, symbol: str) -> None:
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
            entry is not None and close > entry[0],
            exit_ is not None and close < exit_[1],
            entry is not None and close < entry[1],
            exit_ is not None and close > exit_[0],
        )
        self.highs.append(_finite(bar.high))
        self.lows.append(_finite(bar.low))
        return target if entry is not None and exit_ is not None else None


class _RsiStepper:
    def __init__(self, policy: RsiReversion, symbol: str) -> None:
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

    def __init__(self, policy: BollingerReversion, symbol: str) -> None:
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

    def __init__(self, policy: VolTargetTrend, symbol: str) -> None:
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
    """A constant target: 1 for :class:`BuyAndHold`, the symbol's weight for FixedWeights."""

    def __init__(self, policy: BuyAndHold | FixedWeights, symbol: str) -> None:
        weights = policy.weights if isinstance(policy, FixedWeights) else None
        self.value = 1.0 if weights is None else float(weights.get(symbol, 0.0))

    def step(self, bar: Bar) -> float | None:
        return self.value


def stepper_factory(policy: object) -> Callable[[str], Stepper] | None:
    """Return a maker of per-symbol steppers for ``policy``, or None if it has none.

    The stepper registered for the policy's exact class (see
    :func:`~houseedge.core.policies.fastpaths.fast_path`).

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
    factory = fast_path("stepper", policy)
    if factory is None:
        return None
    return lambda symbol: factory(policy, symbol)


register_fast_path("stepper", SmaCross, _SmaCrossStepper)
register_fast_path("stepper", EmaCross, _EmaCrossStepper)
register_fast_path("stepper", DonchianBreakout, _DonchianStepper)
register_fast_path("stepper", RsiReversion, _RsiStepper)
register_fast_path("stepper", BollingerReversion, _BollingerStepper)
register_fast_path("stepper", VolTargetTrend, _VolTargetStepper)
register_fast_path("stepper", BuyAndHold, _Constant)
register_fast_path("stepper", FixedWeights, _Constant)
