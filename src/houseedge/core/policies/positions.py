"""Building blocks the built-in policies share: modes, parameter checks, held positions, crosses.

A held position is a small state machine written without loops: an entry bar emits 1, an exit bar
emits 0, other bars emit null, and a forward fill carries the last event. Its value therefore
depends on the latest event however far back it was: policies built on it have **unbounded
state** (see :attr:`unbounded_state` on the built-ins), and the live engine must evaluate them
over more than their ``warmup`` bars to reproduce a full-history backtest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import polars as pl

from houseedge.errors import PolicyError

Mode = Literal["long_only", "long_short"]
"""``"long_only"`` targets 0 or 1; ``"long_short"`` also targets -1."""

MODES: tuple[Mode, ...] = ("long_only", "long_short")

Signal = Literal["level", "cross"]
"""``"level"`` targets the side of a difference on every bar; ``"cross"`` changes on crosses."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`PolicyError` with ``message`` unless ``condition`` holds.

    Examples
    --------
    >>> require(1 < 2, "unused")
    """
    if not condition:
        raise PolicyError(message)


def check_mode(mode: str) -> None:
    """Raise :class:`PolicyError` unless ``mode`` is one of :data:`MODES`.

    Examples
    --------
    >>> check_mode("both")
    Traceback (most recent call last):
    ...
    houseedge.errors.PolicyError: mode must be one of ('long_only', 'long_short'), got 'both'
    """
    require(mode in MODES, f"mode must be one of {MODES}, got {mode!r}")


def held(entry: pl.Expr, exit: pl.Expr) -> pl.Expr:
    """Return 1 from an entry bar until the next exit bar, 0 after an exit, null before both.

    An entry wins on a bar that is both; a null event counts as no event.

    Examples
    --------
    >>> df = pl.DataFrame({"e": [False, True, False, False, False], "x": [True, False, False,
    ...                    True, False]})
    >>> df.select(held(pl.col("e"), pl.col("x"))).to_series().to_list()
    [0.0, 1.0, 1.0, 0.0, 0.0]
    """
    return pl.when(entry).then(1.0).when(exit).then(0.0).otherwise(None).forward_fill()


def legs(
    mode: Mode,
    ready: pl.Expr,
    long_entry: pl.Expr,
    long_exit: pl.Expr,
    short_entry: pl.Expr,
    short_exit: pl.Expr,
) -> pl.Expr:
    """Return the long leg minus, in ``long_short`` mode, the short leg; null until ``ready``.

    Each leg is :func:`held` on its own entry and exit events; before its first event a leg is
    flat. Both legs open at once net to 0.

    Examples
    --------
    >>> df = pl.DataFrame({"up": [None, True, False, False], "down": [None, False, False, True]})
    >>> up, down = pl.col("up"), pl.col("down")
    >>> df.select(legs("long_short", up.is_not_null(), up, down, down, up)).to_series().to_list()
    [None, 1.0, 1.0, -1.0]
    """
    long = held(long_entry, long_exit).fill_null(0.0)
    target = long - held(short_entry, short_exit).fill_null(0.0) if mode == "long_short" else long
    return pl.when(ready).then(target)


def crossing(diff: pl.Expr, mode: Mode, signal: Signal) -> pl.Expr:
    """Return the target of a two-average cross from ``diff = fast - slow`` (null while it is).

    ``signal="level"`` is the side of ``diff`` on every bar (0 on a tie; never short in
    ``long_only`` mode). ``signal="cross"`` holds the side of the last cross: flat until the
    first one. A cross compares with the last non-zero difference, as backtrader's
    ``CrossOver``: touching and turning back is not a cross, and a tie carries the side it came
    from. The moving-average crosses use it, and so does the sweep's fast path for them.

    Examples
    --------
    >>> df = pl.DataFrame({"diff": [None, -1.0, 0.0, 2.0, 0.0, -3.0]})
    >>> diff = pl.col("diff")
    >>> df.select(crossing(diff, "long_short", "level")).to_series().to_list()
    [None, -1.0, 0.0, 1.0, 0.0, -1.0]
    >>> df.select(crossing(diff, "long_short", "cross")).to_series().to_list()
    [None, 0.0, 0.0, 1.0, 1.0, -1.0]
    """
    ready = diff.is_not_null()
    if signal == "level":
        side = diff.sign().cast(pl.Float64)
        return pl.when(ready).then(side if mode == "long_short" else side.clip(lower_bound=0.0))
    side = diff.sign().replace(0, None).forward_fill()
    up = (side > 0) & (side.shift(1) < 0)
    down = (side < 0) & (side.shift(1) > 0)
    return legs(mode, ready, up, down, down, up)


class ParamsMixin:
    """``params()`` for dataclass policies: their fields, as a plain dict."""

    def params(self) -> Mapping[str, Any]:
        """Return the policy's fields as a dict (stored with every run)."""
        if not dataclasses.is_dataclass(self):
            msg = f"{type(self).__name__} is not a dataclass"
            raise TypeError(msg)
        return dataclasses.asdict(self)
