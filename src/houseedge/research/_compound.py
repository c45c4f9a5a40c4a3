"""Closed form of the vectorised engine for fraction-of-equity sizing in one symbol.

With :class:`~houseedge.core.sizing.FixedFraction` in fractional units and proportional costs
(a :class:`~houseedge.core.costs.LinearCostModel` without a minimum commission or borrow), every
position opens from flat with a quantity proportional to the equity, so a round trip multiplies
the equity by a factor that does not depend on it. The equity before each entry is then a
cumulative product over trades, and every fill follows with array operations: no loop at all.

The engine takes this path only when each position opens from flat and closes whole (no resize,
no partial exit, no rebalance); otherwise the event loop in ``research._vector_loop`` runs. Both
apply the same formulas; they agree to rounding (a product instead of a running update).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from houseedge.core.costs import BPS, CostModel, LinearCostModel, fill_prices
from houseedge.core.sizing import FixedFraction, Sizer
from houseedge.research._vector_market import FillArrays, Market, Plan
from houseedge.research.exits import ExitFills

Array = np.ndarray[Any, Any]


def applies(m: Market, p: Plan, costs: CostModel, sizing: Sizer, exits: ExitFills) -> bool:
    """Return whether the closed form reproduces the event loop for this run."""
    if len(m.symbols) != 1 or p.rebalances.size or (exits.fraction < np.inf).any():
        return False
    if type(sizing) is not FixedFraction or sizing.whole_units:
        return False
    if type(costs) is not LinearCostModel or costs.min_commission or costs.borrow_bps:
        return False
    w = m.wanted[p.changes]
    previous = np.concatenate([[0.0], w[:-1]])
    return not ((w != 0) & (w * previous > 0)).any()  # no same-side resize


def _exits(m: Market, p: Plan, exits: ExitFills, finalize: Any) -> tuple[Array, Array, list[str]]:
    """Return each position's exit bar (-1: open at the end), quote and reason."""
    bar = p.end.copy()
    quote = m.quote[np.maximum(bar, 0)]
    reason = np.where(bar >= 0, "close", "").astype(object)
    last = int(m.ends[0])
    if finalize is not None:
        final = bar < 0
        bar[final] = last
        quote = np.where(final, (m.open if finalize == "open" else m.close)[last], quote)
        reason[final] = "finalize"
    bar[exits.segment] = exits.bar
    quote[exits.segment] = exits.price
    reason[exits.segment] = exits.reason
    return bar, quote, reason.tolist()


def compound(
    m: Market, p: Plan, exits: ExitFills, costs: LinearCostModel, sizing: FixedFraction,
    *, cash: float, finalize: Any,
) -> FillArrays | None:  # fmt: skip
    """Return the fills, or ``None`` when the equity reaches zero (the loop handles that)."""
    k = p.entry.size
    exit_bar, exit_quote, exit_reason = _exits(m, p, exits, finalize)
    cost_at = {name: values[p.entry] for name, values in m.costs.items()}
    entry_price = fill_prices(costs, m.quote[p.entry], p.side, cost_at)
    closed = exit_bar >= 0
    at = np.maximum(exit_bar, 0)
    exit_price = fill_prices(costs, exit_quote, -p.side, {n: v[at] for n, v in m.costs.items()})
    per_share, rate = costs.commission_per_share, costs.commission_bps * BPS
    fee_rate = rate + per_share / entry_price
    # Units per unit of equity, as FixedFraction sizes them.
    units = np.abs(m.wanted[p.entry]) * sizing.fraction / (entry_price * (1.0 + fee_rate))
    units *= p.side
    entry_fee = np.abs(units) * (per_share + entry_price * rate)
    after_entry = 1.0 - units * entry_price - entry_fee
    exit_fee = np.abs(units) * (per_share + exit_price * rate)
    growth = np.where(closed, after_entry + units * exit_price - exit_fee, 1.0)
    wealth = cash * np.cumprod(np.concatenate([[1.0], growth[:-1]]))
    if k and (wealth <= 0).any():
        return None
    qty = units * wealth
    bar = np.column_stack([p.entry, exit_bar]).ravel()
    keep = np.column_stack([np.ones(k, dtype=bool), closed]).ravel()
    rows = np.flatnonzero(keep)
    reasons = [r for pair in zip(["open"] * k, exit_reason, strict=True) for r in pair]
    return FillArrays(
        bar[rows],
        np.column_stack([qty, -qty]).ravel()[rows],
        np.column_stack([entry_price, exit_price]).ravel()[rows],
        np.column_stack([entry_fee * wealth, exit_fee * wealth]).ravel()[rows],
        [reasons[i] for i in rows.tolist()],
        np.column_stack([qty, np.zeros(k)]).ravel()[rows],
        np.column_stack([after_entry * wealth, wealth * growth]).ravel()[rows],
        np.column_stack([p.risk, np.full(k, np.nan)]).ravel()[rows],
    )
