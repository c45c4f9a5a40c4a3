"""Built-in policies that hold a position between an entry and an exit event.

Each keeps a long leg (and, in ``long_short`` mode, a mirrored short leg) with
:func:`~houseedge.core.policies.positions.legs`, so all three have **unbounded state**: the position
on a bar depends on the latest entry or exit, however long ago. ``warmup`` is the first bar on which
the signals are defined, not a window that reproduces the full history. Re-exported by
:mod:`houseedge.core.policies.builtin`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from houseedge.core.features.indicators import bollinger, rolling_high, rolling_low, rsi
from houseedge.core.policies.positions import Mode, ParamsMixin, check_mode, legs, require


@dataclass(frozen=True)
class DonchianBreakout(ParamsMixin):
    """Enter on a close beyond the ``entry``-bar channel, exit beyond the ``exit``-bar one.

    Long entry: ``close`` above the highest ``high`` of the previous ``entry`` bars. Long exit:
    ``close`` below the lowest ``low`` of the previous ``exit`` bars. The short leg mirrors it.
    Channels exclude the current bar, so a close can break them.

    Examples
    --------
    >>> df = pl.DataFrame({"high": [2.0, 2.0, 3.5, 4.0, 3.0, 2.0],
    ...                    "low": [1.0, 1.0, 2.5, 3.0, 2.0, 1.0],
    ...                    "close": [1.5, 1.5, 3.0, 3.5, 2.5, 1.5]})
    >>> df.select(DonchianBreakout(2, 1).target()).to_series().to_list()
    [None, None, 1.0, 1.0, 0.0, 0.0]
    """

    entry: int
    exit: int
    mode: Mode = "long_only"

    def __post_init__(self) -> None:
        require(self.entry >= 1, f"entry must be >= 1, got {self.entry}")
        require(self.exit >= 1, f"exit must be >= 1, got {self.exit}")
        check_mode(self.mode)

    @property
    def name(self) -> str:
        """Return ``"donchian_breakout"``."""
        return "donchian_breakout"

    @property
    def warmup(self) -> int:
        """Return ``max(entry, exit)``: the first bar with both channels."""
        return max(self.entry, self.exit)

    @property
    def unbounded_state(self) -> bool:
        """Return True: the position is held from its entry, however far back."""
        return True

    def target(self) -> pl.Expr:
        """Return the exposure per bar."""
        close = pl.col("close")
        entry_high = rolling_high("high", self.entry).shift(1)
        entry_low = rolling_low("low", self.entry).shift(1)
        exit_high = rolling_high("high", self.exit).shift(1)
        exit_low = rolling_low("low", self.exit).shift(1)
        ready = entry_high.is_not_null() & exit_low.is_not_null()
        return legs(
            self.mode,
            ready,
            close > entry_high,
            close < exit_low,
            close < entry_low,
            close > exit_high,
        )


@dataclass(frozen=True)
class RsiReversion(ParamsMixin):
    """Buy when Wilder's RSI falls below ``lower``, sell when it rises above ``upper``.

    Long entry: RSI below ``lower``; long exit: RSI above ``upper``. The short leg enters above
    ``upper`` and exits below ``lower``, so ``long_short`` flips between the two extremes.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [10.0, 9.0, 8.0, 8.5, 9.0, 12.0, 11.5]})
    >>> df.select(RsiReversion(2, 30, 70).target()).to_series().to_list()
    [None, None, 1.0, 1.0, 1.0, 0.0, 0.0]
    """

    period: int = 14
    lower: float = 30.0
    upper: float = 70.0
    mode: Mode = "long_only"

    def __post_init__(self) -> None:
        require(self.period >= 1, f"period must be >= 1, got {self.period}")
        require(
            0 < self.lower < self.upper < 100,
            f"need 0 < lower < upper < 100, got lower={self.lower}, upper={self.upper}",
        )
        check_mode(self.mode)

    @property
    def name(self) -> str:
        """Return ``"rsi_reversion"``."""
        return "rsi_reversion"

    @property
    def warmup(self) -> int:
        """Return ``period``: RSI's first bar."""
        return self.period

    @property
    def unbounded_state(self) -> bool:
        """Return True: Wilder's smoothing and the held position both reach back indefinitely."""
        return True

    def target(self) -> pl.Expr:
        """Return the exposure per bar."""
        value = rsi("close", self.period)
        low, high = value < self.lower, value > self.upper
        if self.mode == "long_only":
            return legs(self.mode, value.is_not_null(), low, high, high, low)
        # The legs mirror each other, so one stop-and-reverse state reads the RSI fewer times.
        side = pl.when(low).then(1.0).when(high).then(-1.0).otherwise(None).forward_fill()
        return pl.when(value.is_not_null()).then(side.fill_null(0.0))


@dataclass(frozen=True)
class BollingerReversion(ParamsMixin):
    """Buy a close below the lower Bollinger band, exit when it returns to the middle.

    Long entry: ``close`` below ``middle - k * std``; long exit: ``close`` at or above the
    ``period``-bar average. The short leg enters above the upper band and exits at or below the
    average.

    Examples
    --------
    >>> df = pl.DataFrame({"close": [10.0, 10.0, 10.0, 7.0, 8.0, 9.0, 10.0]})
    >>> df.select(BollingerReversion(3, 1.0).target()).to_series().to_list()
    [None, None, 0.0, 1.0, 1.0, 0.0, 0.0]
    """

    period: int = 20
    k: float = 2.0
    mode: Mode = "long_only"

    def __post_init__(self) -> None:
        require(self.period >= 2, f"period must be >= 2, got {self.period}")
        require(self.k > 0, f"k must be > 0, got {self.k}")
        check_mode(self.mode)

    @property
    def name(self) -> str:
        """Return ``"bollinger_reversion"``."""
        return "bollinger_reversion"

    @property
    def warmup(self) -> int:
        """Return ``period - 1``: the bands' first bar."""
        return self.period - 1

    @property
    def unbounded_state(self) -> bool:
        """Return True: the position is held from its entry, however far back."""
        return True

    def target(self) -> pl.Expr:
        """Return the exposure per bar."""
        bands = bollinger("close", self.period, self.k)
        middle, upper, lower = (bands.struct.field(f) for f in ("middle", "upper", "lower"))
        close = pl.col("close")
        return legs(
            self.mode,
            middle.is_not_null(),
            close < lower,
            close >= middle,
            close > upper,
            close <= middle,
        )
