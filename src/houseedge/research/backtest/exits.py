"""Path-dependent exits: stop-loss, take-profit, trailing stop, break-even move, partial exits.

Conventions (each documented on :class:`Exits` and configurable where marked):

* **Levels** are set from the entry's reference price ``P`` (the quote moved by the cost model
  for the entry side: the fill price of an entry from flat). A float is a fraction of ``P``; a
  column name or expression gives a distance in price units (an ATR multiple, say) read at the
  entry's decision bar, like the cost model's inputs. The initial risk ``R`` is the stop distance;
  trades report ``r_multiple = pnl / (qty * R)``.
* **When checking starts** (``entry_bar``): a next-open entry fills at the bar's open, and all of
  that bar's range happens at or after its open, so by default its own high and low are checked;
  ``entry_bar=False`` starts on the next bar. A next-close entry is checked from the next bar.
* **Until when**: up to the bar before the policy's own exit fills (next-open), or that bar too
  (next-close: its range happens before the close). Open-ended positions to the last bar.
* **Fills**: a stop is a market order once touched: at the stop level, or at the open when the
  bar opens through it (a gap: the worse price). A target or partial level is a limit: at the
  level, or at the open when the bar opens beyond it (the better price). Exit fills pay the cost
  model like any fill, with its inputs from the bar before.
* **Intra-bar order** (``same_bar``): when a bar's range holds both the stop and a target,
  ``"stop_first"`` (default, conservative), ``"target_first"``, or ``"nearest_open"`` (the level
  closer to the bar's open is assumed touched first). A bar that opens through a level fills
  that level first whatever the rule.
* **Dynamic stops** use only bars before the checked bar: the trailing stop trails the best
  price (highest high for a long) of the earlier bars since entry and the entry price; the
  break-even move puts the stop at ``P`` from the bar after the price first reached
  ``P + breakeven_at_r * R``.
* **Re-entry**: after an exit the position stays flat until the policy's target changes again
  (a new entry needs a new signal, the usual convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

Array = np.ndarray[Any, Any]
Distance = float | str | pl.Expr | None
SameBar = Literal["stop_first", "target_first", "nearest_open"]

STOP, TAKE, TRAIL, PARTIAL = "stop_loss", "take_profit", "trailing_stop", "partial"
EXIT_REASONS = (STOP, TAKE, TRAIL, PARTIAL)
"""The ``reason`` of the fills exits make."""
ALL = np.inf
"""The fraction of an exit that closes whatever is left of the position."""


@dataclass(frozen=True, eq=False)
class Exits:
    """Exit rules applied to every position a backtest opens (see the module docstring).

    Parameters
    ----------
    stop_loss, take_profit, trailing
        Distances from the entry price (fraction of it, or a column/expression in price units).
    breakeven_at_r
        Move the stop to the entry price once the price has gone this many ``R`` in favour.
    partial
        ``(r, fraction)`` pairs: exit ``fraction`` of the initial quantity at ``P + r * R``.
    same_bar
        Which of stop and target fills when one bar's range holds both.
    entry_bar
        Check a next-open entry's own bar.

    Examples
    --------
    >>> Exits(stop_loss=0.02, take_profit=0.04).params()["stop_loss"]
    0.02
    >>> Exits(partial=[(1.0, 0.5)])
    Traceback (most recent call last):
    ...
    ValueError: breakeven_at_r and partial need a stop_loss to define R
    """

    stop_loss: Distance = None
    take_profit: Distance = None
    trailing: Distance = None
    breakeven_at_r: float | None = None
    partial: Sequence[tuple[float, float]] = field(default_factory=tuple[tuple[float, float]])
    same_bar: SameBar = "stop_first"
    entry_bar: bool = True

    def __post_init__(self) -> None:
        if self.same_bar not in ("stop_first", "target_first", "nearest_open"):
            msg = f"same_bar must be stop_first, target_first or nearest_open: {self.same_bar!r}"
            raise ValueError(msg)
        if (self.breakeven_at_r is not None or self.partial) and self.stop_loss is None:
            msg = "breakeven_at_r and partial need a stop_loss to define R"
            raise ValueError(msg)
        for r, fraction in self.partial:
            if not (r > 0 and 0 < fraction <= 1):
                msg = f"partial exits are (r > 0, 0 < fraction <= 1), got {(r, fraction)}"
                raise ValueError(msg)
        for name, value in self.distances().items():
            if isinstance(value, float | int) and not value > 0:
                msg = f"{name} must be > 0, got {value}"
                raise ValueError(msg)

    def distances(self) -> dict[str, Distance]:
        """Return the distance rules that are set, by name."""
        rules = {"stop_loss": self.stop_loss, "take_profit": self.take_profit}
        rules["trailing"] = self.trailing
        return {k: v for k, v in rules.items() if v is not None}

    @property
    def dynamic(self) -> bool:
        """Return whether a level moves or a position exits in parts (a loop per position)."""
        return self.trailing is not None or self.breakeven_at_r is not None or bool(self.partial)

    def inputs(self) -> dict[str, pl.Expr]:
        """Return the per-bar expressions of the distances given as columns or expressions."""
        return {
            k: pl.col(v) if isinstance(v, str) else v
            for k, v in self.distances().items()
            if isinstance(v, str | pl.Expr)
        }

    def params(self) -> dict[str, Any]:
        """Return the rules as plain values (stored with the run)."""

        def plain(v: Distance) -> Any:
            return str(v) if isinstance(v, pl.Expr) else v

        return {
            "stop_loss": plain(self.stop_loss),
            "take_profit": plain(self.take_profit),
            "trailing": plain(self.trailing),
            "breakeven_at_r": self.breakeven_at_r,
            "partial": [list(p) for p in self.partial],
            "same_bar": self.same_bar,
            "entry_bar": self.entry_bar,
        }


@dataclass(frozen=True)
class Segments:
    """Positions to check, one per entry: all arrays have one value per position.

    ``first``/``last`` are the global bar indices checked (``first > last``: none); ``side`` is
    +1/-1; ``price`` the reference entry price; ``stop``, ``take``, ``trail`` distances in price
    units (NaN: unset).
    """

    first: Array
    last: Array
    side: Array
    price: Array
    stop: Array
    take: Array
    trail: Array


@dataclass(frozen=True)
class ExitFills:
    """Exit fills found, in (position, time) order; ``fraction`` is of the initial quantity."""

    segment: Array
    bar: Array
    price: Array
    fraction: Array
    reason: list[str]


def find_exits(seg: Segments, rules: Exits, bars: dict[str, Array]) -> ExitFills:
    """Return the exit fills of every position, from the bars' ``open, high, low`` arrays.

    Examples
    --------
    >>> bars = {"open": np.array([10.0, 10.0, 9.0]), "high": np.array([10.5, 10.2, 9.5]),
    ...     "low": np.array([9.9, 9.85, 8.0])}
    >>> nan = np.array([np.nan])
    >>> seg = Segments(np.array([0]), np.array([2]), np.array([1]), np.array([10.0]),
    ...     np.array([0.2]), nan, nan)
    >>> out = find_exits(seg, Exits(stop_loss=0.02), bars)  # opens below the stop: fills at 9
    >>> out.bar.tolist(), out.price.tolist(), out.reason
    ([2], [9.0], ['stop_loss'])
    """
    if rules.dynamic:
        return _dynamic(seg, rules, bars)
    return _fixed(seg, rules, bars)


def _fixed(seg: Segments, rules: Exits, bars: dict[str, Array]) -> ExitFills:
    lengths = np.maximum(seg.last - seg.first + 1, 0)
    owner = np.repeat(np.arange(lengths.size), lengths)
    starts = np.cumsum(lengths) - lengths
    at = np.arange(owner.size) - starts[owner] + seg.first[owner]
    side = seg.side[owner]
    long = side > 0
    stop = (seg.price - seg.side * seg.stop)[owner]
    take = (seg.price + seg.side * seg.take)[owner]
    high, low = bars["high"][at], bars["low"][at]
    # NaN levels compare false: an unset rule never fires.
    hit_stop = np.where(long, low <= stop, high >= stop)
    hit_take = np.where(long, high >= take, low <= take)
    hits = np.flatnonzero(hit_stop | hit_take)
    first = hits[np.diff(owner[hits], prepend=-1) != 0]
    who = owner[first]
    bar = at[first]
    open_ = bars["open"][bar]
    is_stop = _stop_wins(
        rules.same_bar,
        seg.side[who],
        open_,
        stop[first],
        take[first],
        hit_stop[first],
        hit_take[first],
    )
    price = np.where(
        is_stop,
        _fill(seg.side[who], open_, stop[first], worse=True),
        _fill(seg.side[who], open_, take[first], worse=False),
    )
    reason = [STOP if s else TAKE for s in is_stop.tolist()]
    return ExitFills(who, bar, price, np.full(who.size, ALL), reason)


def _fill(side: Array, open_: Array, level: Array, *, worse: bool) -> Array:
    """Return the fill of a level touched on a bar: the open when the bar opened through it."""
    through = (side * open_ <= side * level) if worse else (side * open_ >= side * level)
    return np.where(through, open_, level)


def _stop_wins(
    rule: SameBar,
    side: Array,
    open_: Array,
    stop: Array,
    take: Array,
    hit_stop: Array,
    hit_take: Array,
) -> Array:
    gap_stop = side * open_ <= side * stop
    gap_take = side * open_ >= side * take
    if rule == "stop_first":
        both = np.ones(side.size, dtype=bool)
    elif rule == "target_first":
        both = np.zeros(side.size, dtype=bool)
    else:
        both = np.abs(open_ - stop) <= np.abs(take - open_)
    chosen = np.where(hit_stop & hit_take, both, hit_stop)
    return np.where(gap_stop, True, np.where(gap_take, False, chosen))


def _dynamic(seg: Segments, rules: Exits, bars: dict[str, Array]) -> ExitFills:
    out: tuple[list[int], list[int], list[float], list[float], list[str]] = ([], [], [], [], [])
    partial = sorted(rules.partial)
    for k in np.flatnonzero(seg.last >= seg.first).tolist():
        found = _one(seg, k, rules, partial, bars)
        for bar, price, fraction, reason in found:
            for column, value in zip(out, (k, bar, price, fraction, reason), strict=True):
                column.append(value)  # type: ignore[attr-defined]
    segment, bar, price, fraction, reason = out
    return ExitFills(
        np.array(segment, dtype=np.int64),
        np.array(bar, dtype=np.int64),
        np.array(price, dtype=np.float64),
        np.array(fraction, dtype=np.float64),
        reason,
    )


def _one(
    seg: Segments,
    k: int,
    rules: Exits,
    partial: list[tuple[float, float]],
    bars: dict[str, Array],
) -> list[tuple[int, float, float, str]]:
    """Walk one position in a long-normalised price space (shorts: prices negated)."""
    d, first, last = float(seg.side[k]), int(seg.first[k]), int(seg.last[k])
    window = slice(first, last + 1)
    good = (bars["high"] if d > 0 else -bars["low"])[window]
    bad = (bars["low"] if d > 0 else -bars["high"])[window]
    opens = d * bars["open"][window]
    entry, risk = d * float(seg.price[k]), float(seg.stop[k])
    best = np.maximum.accumulate(np.concatenate([[entry], good[:-1]]))
    stop = np.full(good.size, entry - risk)
    if seg.trail[k] == seg.trail[k]:
        stop = np.maximum(stop, best - seg.trail[k])
    if rules.breakeven_at_r is not None:
        stop = np.where(best >= entry + rules.breakeven_at_r * risk, np.maximum(stop, entry), stop)
    take = np.full(good.size, entry + seg.take[k])
    hit_stop, hit_take = bad <= stop, good >= take
    hits = np.flatnonzero(hit_stop | hit_take)
    end = int(hits[0]) if hits.size else good.size
    fills: list[tuple[int, float, float, str]] = []
    for r, fraction in partial:
        level = entry + r * risk
        touched = np.flatnonzero(good[: end + 1] >= level)
        if touched.size and (touched[0] < end or not (hit_stop[end] and _stops_first(rules))):
            i = int(touched[0])
            price = max(opens[i], level)
            fills.append((first + i, d * price, fraction, PARTIAL))
    if hits.size:
        side = np.array([1.0])
        is_stop = bool(
            _stop_wins(
                rules.same_bar,
                side,
                opens[end : end + 1],
                stop[end : end + 1],
                take[end : end + 1],
                hit_stop[end : end + 1],
                hit_take[end : end + 1],
            )[0]
        )
        price = min(opens[end], stop[end]) if is_stop else max(opens[end], take[end])
        moved = stop[end] > entry - risk if risk == risk else True
        reason = (TRAIL if moved else STOP) if is_stop else TAKE
        fills.append((first + end, d * price, ALL, reason))
    fills.sort(key=lambda f: f[0])
    return fills


def _stops_first(rules: Exits) -> bool:
    return rules.same_bar != "target_first"
