"""Closed form of the vectorised engine for fraction-of-equity sizing in one symbol.

With :class:`~houseedge.core.sizing.sizers.FixedFraction` in fractional units and proportional costs
(a :class:`~houseedge.core.costs.LinearCostModel` without a minimum commission or borrow), every
position opens from flat with a quantity proportional to the equity, so a round trip multiplies
the equity by a factor that does not depend on it. The equity before each entry is then a
cumulative product over trades, and every fill follows with array operations: no loop at all.

The engine takes this path only when each position opens from flat and closes whole (no resize,
no partial exit, no rebalance); otherwise the event loop in
:mod:`houseedge.research.backtest._loop` runs. Both apply the same formulas; they agree to
rounding (a product instead of a running update).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from houseedge.core.costs import BPS, CostModel, LinearCostModel, fill_prices
from houseedge.core.sizing.sizers import FixedFraction, Sizer
from houseedge.research.backtest.exits import EXIT_REASONS, ExitFills
from houseedge.research.backtest.frame import Array
from houseedge.research.backtest.market import FillArrays, Market, Plan


def leading(m: Market, p: Plan, costs: CostModel, sizing: Sizer, exits: ExitFills) -> int:
    """Return how many leading positions the closed form reproduces (0: none).

    Positions up to the first one a same-side resize extends: what follows it goes to the
    event loop. The count depends only on the changes up to that point, so a run on a prefix
    of the bars splits the same way (and gives the same bits) as the full run.
    """
    if len(m.symbols) != 1 or p.rebalances.size or (exits.fraction < np.inf).any():
        return 0
    if type(sizing) is not FixedFraction or sizing.whole_units:
        return 0
    if type(costs) is not LinearCostModel or costs.min_commission or costs.borrow_bps:
        return 0
    w = m.wanted[p.entry]
    resized = np.flatnonzero((p.end[:-1] == p.entry[1:]) & (w[:-1] * w[1:] > 0))
    return int(resized[0]) if resized.size else p.entry.size


# Fill reasons as small codes while the arrays are built; strings once, by one gather.
_REASONS = ("open", "close", "finalize", *EXIT_REASONS)
_CODE = {reason: code for code, reason in enumerate(_REASONS)}
_OPEN, _CLOSE, _FINALIZE = 0, 1, 2


def _exits(m: Market, p: Plan, exits: ExitFills, finalize: Any, count: int) -> tuple[Array, ...]:
    """Return each of the first ``count`` positions' exit bar (-1: open), quote and reason code."""
    bar = p.end[:count].copy()
    quote = m.quote[np.maximum(bar, 0)]
    reason = np.full(count, _CLOSE, dtype=np.int8)
    last = int(m.ends[0])
    if finalize is not None:
        final = bar < 0
        bar[final] = last
        quote = np.where(final, (m.open if finalize == "open" else m.close)[last], quote)
        reason[final] = _FINALIZE
    mine = np.flatnonzero(exits.segment < count)
    if mine.size:
        at = exits.segment[mine]
        bar[at] = exits.bar[mine]
        quote[at] = exits.price[mine]
        reason[at] = [_CODE[exits.reason[i]] for i in mine.tolist()]
    return bar, quote, reason


def compound_growth(
    wanted: Array,
    side: Array,
    entry_price: Array,
    exit_price: Array,
    closed: Array,
    costs: LinearCostModel,
    fraction: float,
    cash: float,
) -> tuple[Array, Array, Array, Array, Array, Array]:
    """Return the fraction-of-equity positions' closed form, per unit of equity at entry.

    ``(units, entry_fee, after_entry, exit_fee, growth, wealth)``: each position multiplies
    the equity by ``growth`` (1 while open), so ``wealth`` (the equity before each position,
    then the last) is a cumulative product. The engine and the sweep's metrics-only kernel
    both take their fills from here, so they agree bit for bit.
    """
    per_share, rate = costs.commission_per_share, costs.commission_bps * BPS
    fee_rate = rate + per_share / entry_price
    # Units per unit of equity, as FixedFraction sizes them.
    units = np.abs(wanted) * fraction / (entry_price * (1.0 + fee_rate))
    units *= side
    entry_fee = np.abs(units) * (per_share + entry_price * rate)
    after_entry = 1.0 - units * entry_price - entry_fee
    exit_fee = np.abs(units) * (per_share + exit_price * rate)
    factor = np.where(closed, after_entry + units * exit_price - exit_fee, 1.0)
    wealth = cash * np.cumprod(np.concatenate([[1.0], factor]))
    return units, entry_fee, after_entry, exit_fee, factor, wealth


def compound(
    m: Market,
    p: Plan,
    exits: ExitFills,
    costs: LinearCostModel,
    sizing: FixedFraction,
    *,
    cash: float,
    finalize: Any,
    count: int,
) -> tuple[FillArrays, int, float]:
    """Return the fills of the first positions, how many were done, and the cash after them.

    At most ``count`` positions; fewer when the equity reaches zero (the loop takes over).
    """
    entry, side = p.entry[:count], p.side[:count]
    exit_bar, exit_quote, exit_reason = _exits(m, p, exits, finalize, count)
    cost_at = {name: values[entry] for name, values in m.costs.items()}
    entry_price = fill_prices(costs, m.quote[entry], side, cost_at)
    closed = exit_bar >= 0
    at = np.maximum(exit_bar, 0)
    exit_price = fill_prices(costs, exit_quote, -side, {n: v[at] for n, v in m.costs.items()})
    g = compound_growth(
        m.wanted[entry], side, entry_price, exit_price, closed, costs, sizing.fraction, cash
    )
    units, entry_fee, after_entry, exit_fee, growth_, wealth = g
    broke = np.flatnonzero(wealth <= 0)
    k = min(count, int(broke[0])) if broke.size else count
    after, wealth = float(wealth[k]), wealth[:k]
    entry, closed, exit_bar, exit_reason = entry[:k], closed[:k], exit_bar[:k], exit_reason[:k]
    entry_price, exit_price, units = entry_price[:k], exit_price[:k], units[:k]
    entry_fee, exit_fee, after_entry, growth_ = (
        entry_fee[:k],
        exit_fee[:k],
        after_entry[:k],
        growth_[:k],
    )
    qty = units * wealth
    bar = np.column_stack([entry, exit_bar]).ravel()
    keep = np.column_stack([np.ones(k, dtype=bool), closed]).ravel()
    rows = np.flatnonzero(keep)
    reasons = np.column_stack([np.full(k, _OPEN, dtype=np.int8), exit_reason]).ravel()[rows]
    fills = FillArrays(
        bar[rows],
        np.column_stack([qty, -qty]).ravel()[rows],
        np.column_stack([entry_price, exit_price]).ravel()[rows],
        np.column_stack([entry_fee * wealth, exit_fee * wealth]).ravel()[rows],
        pl.Series(_REASONS, dtype=pl.String).gather(reasons),
        np.column_stack([qty, np.zeros(k)]).ravel()[rows],
        np.column_stack([after_entry * wealth, wealth * growth_]).ravel()[rows],
        np.column_stack([p.risk[:k], np.full(k, np.nan)]).ravel()[rows],
    )
    return fills, k, after
