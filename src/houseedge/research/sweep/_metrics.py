"""The sweep's metrics-only kernel: a parameter set's fills in closed form, metrics by reduction.

A sweep that keeps only metrics (no saved runs, no result frames) does not need a run's orders,
trades or equity frames. When the run takes the backtest engine's closed form
(``research._compound``: one symbol, :class:`~houseedge.core.sizing.sizers.FixedFraction` in
fractional units, a :class:`~houseedge.core.costs.LinearCostModel` without minimum commission
or borrow, no exits, no rebalancing), the whole run follows from where its target changes: each
position multiplies the equity by a factor that does not depend on it, so the fills are a
cumulative product over positions, computed here with the engine's formulas in the engine's
order (the same bits). :class:`~houseedge.core.sizing.sizers.FixedUnits` positions (the engine's
event loop, linear costs with a minimum commission too) are fixed quantities, and the loop's
running cash is a cumulative sum. Final equity, closed trades and fees are then reductions
over the fills; per-bar metrics rebuild the equity per bar from them as the engine does.

Anything else (resized positions, equity reaching zero, other sizers or costs, several symbols)
returns None and the sweep runs the engine's own steps for that set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from houseedge.core.costs import BPS, LinearCostModel, fill_prices
from houseedge.core.sizing.sizers import FixedFraction, FixedUnits
from houseedge.research.backtest import COST_PREFIX, compound_growth

if TYPE_CHECKING:
    from houseedge.research.sweep._kernel import Setup

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Tape:
    """One symbol's prepared bars as arrays: what the kernel reads for every parameter set."""

    quote: Array  # the execution price per bar (open or close)
    open: Array
    close: Array
    costs: dict[str, Array]  # the cost model's inputs at each bar's decision bar

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Tape:
        """Read a one-symbol frame from ``vectorized.prepare``."""
        return cls(
            frame.get_column("quote").to_numpy(),
            frame.get_column("open").to_numpy(),
            frame.get_column("close").to_numpy(),
            {
                c.removeprefix(COST_PREFIX): frame.get_column(c).to_numpy()
                for c in frame.columns
                if c.startswith(COST_PREFIX)
            },
        )


def covers(setup: Setup, symbols: int) -> bool:
    """Return whether the kernel may claim runs of ``setup`` (each set may still hand over).

    Fractional ``FixedFraction`` with proportional costs is the engine's closed form
    (``_compound.leading``); ``FixedUnits`` with linear costs (a minimum commission too) is its
    event loop, whose running cash is a cumulative sum when every position opens from flat.
    """
    sizing, costs = setup.sizing, setup.costs
    if symbols != 1 or type(costs) is not LinearCostModel or costs.borrow_bps:
        return False
    if type(sizing) is FixedUnits:
        return True
    return type(sizing) is FixedFraction and not sizing.whole_units and not costs.min_commission


@dataclass(frozen=True)
class Fills:
    """A run's fills in execution order (the columns the metrics read)."""

    bar: Array
    qty: Array
    fee: Array
    position_after: Array
    cash_after: Array
    closed: int  # closed round trips (every fill opens from or closes to flat)


def clean(raw: Array, shorts: bool) -> Array | None:
    """Return ``raw`` as ``prepare`` cleans a target (None when some value is out of range).

    Boolean and ``int8`` targets (from a decomposition's NumPy target) are already flat where
    null; a float target has NaN for null.
    """
    if raw.dtype == np.bool_:
        return raw
    if raw.dtype == np.int8:
        return raw if shorts else np.maximum(raw, 0)
    target = np.where(raw == raw, raw, 0.0)
    if not shorts:
        target = np.maximum(target, 0.0)
    return None if (np.abs(target) > 1.0).any() else target


def changes(target: Array) -> tuple[Array, Array]:
    """Return the bars where the wanted exposure changes, and the exposure wanted there.

    The target decided on bar ``t`` is wanted on bar ``t + 1`` (``prepare``'s shift, flat
    before the first bar); a decision on the last bar never fills.
    """
    moved = np.flatnonzero(target[1:] != target[:-1]) + 1
    if target.size and target[0] != 0:
        moved = np.concatenate([np.zeros(1, np.int64), moved])
    moved = moved[moved <= target.size - 2]
    return moved + 1, target[moved].astype(np.float64)


@dataclass(frozen=True)
class _Positions:
    """Each position's entry and exit: bars, wanted exposure, side and fill prices."""

    entry: Array
    exit_bar: Array  # -1: still open at the end
    wanted: Array
    side: Array
    entry_price: Array
    exit_price: Array

    @property
    def closed(self) -> Array:
        return self.exit_bar >= 0

    def pairs(self, first: Array, second: Array) -> Array:
        """Return entry and exit values interleaved in execution order (open exits dropped)."""
        keep = np.column_stack([np.ones(self.entry.size, dtype=bool), self.closed]).ravel()
        return np.column_stack([first, second]).ravel()[keep]


def run(tape: Tape, setup: Setup, target: Array) -> Fills | None:
    """Return the fills of a cleaned ``target``, or None when the engine must run the set.

    The formulas and their order are ``research._compound.compound``'s (``FixedFraction``)
    or ``research._vector_loop``'s (``FixedUnits``).
    """
    bars, wanted = changes(target)
    opens = wanted != 0
    entry, end, w = bars[opens], np.append(bars[1:], -1)[opens], wanted[opens]
    if ((end[:-1] == entry[1:]) & (w[:-1] * w[1:] > 0)).any():
        return None  # a same-side resize: the engine's event loop takes over
    units = type(setup.sizing) is FixedUnits
    if units and setup.finalize is not None and bars.size and bars[-1] == tape.close.size - 1:
        return None  # the loop orders a finalising fill against a change on the last bar
    side = np.sign(w)
    exit_bar, exit_quote = _exits(tape, setup.finalize, end)
    at = np.maximum(exit_bar, 0)
    costs = setup.costs
    positions = _Positions(
        entry,
        exit_bar,
        w,
        side,
        fill_prices(costs, tape.quote[entry], side, {k: v[entry] for k, v in tape.costs.items()}),
        fill_prices(costs, exit_quote, -side, {k: v[at] for k, v in tape.costs.items()}),
    )
    return _units(setup, positions) if units else _compound(setup, positions)


def _compound(setup: Setup, p: _Positions) -> Fills | None:
    """Return the fills of fraction-of-equity positions (``_compound.compound``)."""
    costs, sizing = setup.costs, setup.sizing
    if not isinstance(costs, LinearCostModel) or not isinstance(sizing, FixedFraction):
        return None  # unreachable after ``covers``; narrows the types for the formulas
    closed = p.closed
    units, entry_fee, after_entry, exit_fee, growth, wealth = compound_growth(
        p.wanted, p.side, p.entry_price, p.exit_price, closed, costs, sizing.fraction, setup.cash
    )
    broke = np.flatnonzero(wealth <= 0)
    if broke.size and broke[0] < p.entry.size:
        return None  # the equity is gone: the event loop sizes what follows
    wealth = wealth[:-1]
    qty = units * wealth
    return Fills(
        p.pairs(p.entry, p.exit_bar),
        p.pairs(qty, -qty),
        p.pairs(entry_fee * wealth, exit_fee * wealth),
        p.pairs(qty, np.zeros(p.entry.size)),
        p.pairs(after_entry * wealth, wealth * growth),
        int(closed.sum()),
    )


def _units(setup: Setup, p: _Positions) -> Fills | None:
    """Return the fills of fixed-unit positions, as the event loop books them one by one.

    The loop's ``cash -= qty * price + fee`` is a running sum, which ``cumsum`` computes in
    the same order; ``LinearCostModel.fee`` is ``max(qty * (per_share + price * bps * 1e-4),
    minimum)``.
    """
    costs, sizing = setup.costs, setup.sizing
    if not isinstance(costs, LinearCostModel) or not isinstance(sizing, FixedUnits):
        return None  # unreachable after ``covers``; narrows the types for the formulas
    held = sizing.units * p.wanted  # FixedUnits.quantity

    def fees(qty: Array, price: Array) -> Array:
        per_unit = costs.commission_per_share + price * costs.commission_bps * BPS
        return np.maximum(qty * per_unit, costs.min_commission)

    size = np.abs(held)
    qty = p.pairs(held, -held)
    fee = p.pairs(fees(size, p.entry_price), fees(size, p.exit_price))
    flow = qty * p.pairs(p.entry_price, p.exit_price) + fee
    cash = np.cumsum(np.concatenate([[setup.cash], -flow]))[1:]
    return Fills(
        p.pairs(p.entry, p.exit_bar),
        qty,
        fee,
        p.pairs(held, np.zeros(p.entry.size)),
        cash,
        int(p.closed.sum()),
    )


def _exits(tape: Tape, finalize: Any, end: Array) -> tuple[Array, Array]:
    """Return each position's exit bar (-1: still open) and quote (``_compound._exits``)."""
    bar = end.copy()
    quote = tape.quote[np.maximum(bar, 0)]
    if finalize is not None:
        last = tape.close.size - 1
        final = bar < 0
        bar[final] = last
        quote = np.where(final, (tape.open if finalize == "open" else tape.close)[last], quote)
    return bar, quote


def final_equity(fills: Fills, tape: Tape, cash: float) -> float | None:
    """Return the last bar's equity: cash after the last fill plus the position on the close."""
    if tape.close.size == 0:
        return None
    if fills.bar.size == 0:
        return float(cash + 0.0 * tape.close[-1])
    return float(fills.cash_after[-1] + fills.position_after[-1] * tape.close[-1])


def total_fees(fills: Fills) -> float:
    """Return the fees summed as the orders frame's ``fee`` column sums them."""
    return float(pl.Series(fills.fee, dtype=pl.Float64).sum())  # a Float64 sum is a float
