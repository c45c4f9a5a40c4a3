"""The general path of the vectorised engine: a loop over events (changes, rebalances, exits).

Only the bars where something can happen are walked, in time order: a change of a symbol's
wanted exposure, a rebalance bar, an exit found by :mod:`houseedge.research.backtest.exits`, a
symbol's last bar when open positions are finalised. Any
:class:`~houseedge.core.sizing.sizers.Sizer` and :class:`~houseedge.core.costs.CostModel` work
here, called once per fill.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from houseedge.core.costs import CostModel
from houseedge.core.sizing.sizers import Sizer, SizingRequest
from houseedge.errors import PolicyError
from houseedge.research.backtest.exits import ExitFills
from houseedge.research.backtest.market import FillArrays, Fills, Market, Plan

CHANGE, REBALANCE, EXIT, FINAL = 0, 1, 2, 3


@dataclass(slots=True)
class _Book:
    """Cash and positions while the events are walked; records every fill."""

    costs: CostModel
    sizing: Sizer
    symbols: list[str]
    cash: float
    pos: list[float]
    borrowed_to: list[float]
    segment: list[int]
    initial: list[float]
    borrow_paid: float = 0.0
    fills: Fills = field(default_factory=Fills)

    def accrue_borrow(self, s: int, cum_close: float) -> None:
        """Book the borrow of symbol ``s``'s short since its last event (sizing sees it)."""
        if self.pos[s] < 0:
            rate = self.costs.borrow_rate()
            self.borrow_paid -= self.pos[s] * rate * (cum_close - self.borrowed_to[s])
        self.borrowed_to[s] = cum_close

    def trade(
        self,
        s: int,
        qty: float,
        quote: float,
        inputs: Mapping[str, float],
        bar: int,
        reason: str,
        risk: float = math.nan,
    ) -> None:
        """Fill ``qty`` (signed) units of symbol ``s`` at ``quote`` moved by the cost model."""
        price = self.costs.fill_price(quote, 1 if qty > 0 else -1, inputs)
        fee = self.costs.fee(abs(qty), price)
        self.cash -= qty * price + fee
        new = self.pos[s] + qty
        # A close must leave exactly nothing, not float dust.
        closing = reason in ("close", "finalize") or (reason != "partial" and reason in _EXITS)
        self.pos[s] = 0.0 if closing else new
        self.fills.add(bar, qty, price, fee, reason, (self.pos[s], self.cash), risk)

    def size(
        self,
        s: int,
        wanted: float,
        quote: float,
        equity: float,
        inputs: tuple[dict[str, float], dict[str, float]],
    ) -> float:
        """Return the signed units the sizer wants for ``wanted`` exposure of symbol ``s``."""
        estimate = self.costs.fill_price(quote, 1 if wanted > 0 else -1, inputs[0])
        request = SizingRequest(
            symbol=self.symbols[s],
            target=wanted,
            price=estimate,
            equity=equity,
            cash=self.cash - self.borrow_paid,
            position=self.pos[s],
            fee_rate=self.costs.fee_rate(estimate),
            n_symbols=len(self.symbols),
            inputs=inputs[1],
        )
        qty = float(self.sizing.quantity(request))
        if qty * wanted < 0 or qty != qty:
            msg = f"sizer {self.sizing.name!r} returned {qty} units for target {wanted}"
            raise PolicyError(msg)
        return qty


_EXITS = ("stop_loss", "take_profit", "trailing_stop", "partial")


@dataclass(frozen=True)
class _Events:
    """Events sorted by (time, order within a time): parallel Python lists."""

    kind: list[int]
    bar: list[int]
    ts: list[int]
    payload: list[int]  # segment of a change/exit, index into the exit fills for an exit


def _events(
    m: Market, plan: Plan, exits: ExitFills, execution: str, finalize: Any, start: int
) -> _Events:
    # Next-open: the open's fills come before the bar's range (exits); next-close: after it.
    exit_order = 1 if execution == "next_open" else -1
    bars = [plan.changes, plan.rebalances, exits.bar]
    kinds = [np.full(b.size, k) for b, k in zip(bars, (CHANGE, REBALANCE, EXIT), strict=True)]
    orders = [np.zeros(plan.changes.size), np.zeros(plan.rebalances.size)]
    orders.append(np.full(exits.bar.size, exit_order))
    payload = [plan.change_segment, np.full(plan.rebalances.size, -1), np.arange(exits.bar.size)]
    if finalize is not None:
        ends = m.ends
        bars.append(ends)
        kinds.append(np.full(ends.size, FINAL))
        # A finalising open precedes the last bar's range; a close comes after everything.
        orders.append(np.full(ends.size, -2 if finalize == "open" else 2))
        payload.append(np.full(ends.size, -1))
    bar, kind = np.concatenate(bars), np.concatenate(kinds)
    order, extra = np.concatenate(orders), np.concatenate(payload)
    if start:  # the closed form did the positions before this one
        first = plan.entry[start]
        keep = bar >= first
        is_exit = kind == EXIT
        keep[is_exit] &= exits.segment[extra[is_exit]] >= start
        bar, kind, order, extra = bar[keep], kind[keep], order[keep], extra[keep]
    ts = m.ts[bar]
    sorted_ = np.lexsort((m.code[bar], order, ts))
    return _Events(
        kind[sorted_].tolist(),
        bar[sorted_].tolist(),
        ts[sorted_].tolist(),
        extra[sorted_].tolist(),
    )


def run_loop(
    m: Market,
    plan: Plan,
    exits: ExitFills,
    costs: CostModel,
    sizing: Sizer,
    *,
    cash: float,
    execution: str,
    finalize: Any,
    start: int = 0,
) -> FillArrays:
    """Walk every event in time order; return the fills.

    ``start`` skips the positions (segments) before it and every earlier event: the closed
    form did those, ending flat with ``cash``.
    """
    k = len(m.symbols)
    book = _Book(costs, sizing, m.symbols, cash, [0.0] * k, [0.0] * k, [-1] * k, [0.0] * k)
    ev = _events(m, plan, exits, execution, finalize, start)
    n, i = len(ev.kind), 0
    while i < n:
        kind = ev.kind[i]
        if kind == EXIT:
            _exit(book, m, exits, ev.payload[i], ev.bar[i])
            i += 1
        elif kind == FINAL:
            _finalize(book, m, ev.bar[i], finalize)
            i += 1
        else:
            stop = i + 1
            while stop < n and ev.kind[stop] in (CHANGE, REBALANCE) and ev.ts[stop] == ev.ts[i]:
                stop += 1
            _apply_group(book, m, plan, ev, range(i, stop))
            i = stop
    return book.fills.arrays()


def _exit(book: _Book, m: Market, exits: ExitFills, j: int, bar: int) -> None:
    s, segment = int(m.code[bar]), int(exits.segment[j])
    if book.segment[s] != segment or book.pos[s] == 0:
        return  # the position this exit belonged to is gone
    book.accrue_borrow(s, float(m.cum_close[bar]))
    fraction = float(exits.fraction[j])
    held = book.pos[s]
    qty = (
        -held
        if fraction == math.inf
        else -math.copysign(min(fraction * book.initial[s], abs(held)), held)
    )
    reason = exits.reason[j] if abs(qty) < abs(held) or exits.reason[j] != "partial" else "close"
    book.trade(s, qty, float(exits.price[j]), m.cost_inputs(bar), bar, reason)


def _finalize(book: _Book, m: Market, bar: int, finalize: Any) -> None:
    s = int(m.code[bar])
    if book.pos[s] == 0:
        return
    book.accrue_borrow(s, float(m.cum_close[bar]))
    quote = float((m.open if finalize == "open" else m.close)[bar])
    book.trade(s, -book.pos[s], quote, m.cost_inputs(bar), bar, "finalize")


def _apply_group(book: _Book, m: Market, plan: Plan, ev: _Events, idx: range) -> None:
    """Apply the changes at one time: every closing leg first, then entries and resizes."""
    for i in idx:
        bar = ev.bar[i]
        s, wanted = int(m.code[bar]), float(m.wanted[bar])
        book.accrue_borrow(s, float(m.cum_close[bar]))
        held = book.pos[s]
        if held != 0 and (wanted == 0 or wanted * held < 0):
            book.trade(s, -held, float(m.quote[bar]), m.cost_inputs(bar), bar, "close")
    equity: float | None = None
    for i in idx:
        bar, rebalance = ev.bar[i], ev.kind[i] == REBALANCE
        s, wanted = int(m.code[bar]), float(m.wanted[bar])
        if wanted == 0 or (rebalance and book.pos[s] == 0):
            continue  # flat needs nothing; a rebalance never re-enters a closed position
        quote = float(m.quote[bar])
        if equity is None:
            equity = book.cash - book.borrow_paid + m.marked(book.pos, bar)
        cost_inputs = m.cost_inputs(bar)
        sized = book.size(s, wanted, quote, equity, (cost_inputs, m.size_inputs(bar)))
        delta = sized - book.pos[s]
        segment = ev.payload[i]
        risk = float(plan.risk[segment]) if segment >= 0 else math.nan
        if segment >= 0:
            book.segment[s] = segment
        if delta != 0:
            reason = "rebalance" if rebalance else ("open" if book.pos[s] == 0 else "resize")
            book.trade(s, delta, quote, cost_inputs, bar, reason, risk)
        if segment >= 0:
            book.initial[s] = abs(book.pos[s])
