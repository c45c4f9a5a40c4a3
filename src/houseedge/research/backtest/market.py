"""NumPy views of a prepared backtest frame, the plan of events, and fills as columns.

The fill kernel's two paths (the closed form in :mod:`~houseedge.research.backtest.compound`
and the event loop in :mod:`houseedge.research.backtest._loop`) read the bars through
:class:`Market` and the change, rebalance and position (segment) structure through
:class:`Plan`, and both return :class:`FillArrays`: what the ledger and equity stages read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from houseedge.core.costs import CostModel, fill_prices
from houseedge.research.backtest.exits import Exits, Segments
from houseedge.research.backtest.frame import COST_PREFIX, EXIT_PREFIX, SIZE_PREFIX, Array

_NONE: dict[str, float] = {}


@dataclass(slots=True)
class Fills:
    """Fills as columns, in execution order; ``bar`` is the fill bar's index in the frame."""

    bar: list[int] = field(default_factory=list[int])
    qty: list[float] = field(default_factory=list[float])
    price: list[float] = field(default_factory=list[float])
    fee: list[float] = field(default_factory=list[float])
    reason: list[str] = field(default_factory=list[str])
    position_after: list[float] = field(default_factory=list[float])
    cash_after: list[float] = field(default_factory=list[float])
    risk: list[float] = field(default_factory=list[float])

    def add(
        self,
        bar: int,
        qty: float,
        price: float,
        fee: float,
        reason: str,
        after: tuple[float, float],
        risk: float = math.nan,
    ) -> None:
        """Record a fill of signed ``qty`` on frame row ``bar``.

        ``after`` is the symbol's position and the trading cash after the fill, kept so the
        per-bar curves carry the loop's exact values instead of re-summing flows (a long
        cumulative sum drifts when equity becomes tiny).
        """
        self.bar.append(bar)
        self.qty.append(qty)
        self.price.append(price)
        self.fee.append(fee)
        self.reason.append(reason)
        self.position_after.append(after[0])
        self.cash_after.append(after[1])
        self.risk.append(risk)

    def arrays(self) -> FillArrays:
        """Return the fills as arrays (execution order)."""
        return FillArrays(
            np.array(self.bar, dtype=np.int64),
            np.array(self.qty, dtype=np.float64),
            np.array(self.price, dtype=np.float64),
            np.array(self.fee, dtype=np.float64),
            pl.Series(self.reason, dtype=pl.String),
            np.array(self.position_after, dtype=np.float64),
            np.array(self.cash_after, dtype=np.float64),
            np.array(self.risk, dtype=np.float64),
        )


@dataclass(frozen=True)
class FillArrays:
    """Fills as NumPy columns in execution order; ``bar`` indexes the prepared frame.

    ``risk`` is the initial risk per unit (stop distance) on entry fills, NaN elsewhere;
    ``reason`` is a String Series (a list of Python strings cost more than the fills' math).
    """

    bar: np.ndarray[Any, Any]
    qty: np.ndarray[Any, Any]
    price: np.ndarray[Any, Any]
    fee: np.ndarray[Any, Any]
    reason: pl.Series
    position_after: np.ndarray[Any, Any]
    cash_after: np.ndarray[Any, Any]
    risk: np.ndarray[Any, Any]

    def then(self, later: FillArrays) -> FillArrays:
        """Return these fills followed by ``later`` ones."""
        return FillArrays(
            np.concatenate([self.bar, later.bar]),
            np.concatenate([self.qty, later.qty]),
            np.concatenate([self.price, later.price]),
            np.concatenate([self.fee, later.fee]),
            pl.concat([self.reason, later.reason]),
            np.concatenate([self.position_after, later.position_after]),
            np.concatenate([self.cash_after, later.cash_after]),
            np.concatenate([self.risk, later.risk]),
        )


def _columns(frame: pl.DataFrame, prefix: str) -> dict[str, Array]:
    return {
        c[len(prefix) :]: frame.get_column(c).to_numpy()
        for c in frame.columns
        if c.startswith(prefix)
    }


@dataclass
class Market:
    """The prepared bars as arrays; several symbols are contiguous blocks sorted by time."""

    symbols: list[str]
    code: Array
    starts: Array
    ends: Array
    ts: Array
    open: Array
    high: Array
    low: Array
    close: Array
    quote: Array
    wanted: Array
    cum_close: Array
    costs: dict[str, Array]
    sizes: dict[str, Array]
    exits: dict[str, Array]

    @classmethod
    def of(cls, frame: pl.DataFrame, starts: Array, borrow: bool) -> Market:
        """Read a prepared frame (sorted by symbol, then time).

        ``starts`` holds the index of each symbol's first bar.
        """
        symbol = frame.get_column("symbol")
        ends = np.append(starts[1:], frame.height) - 1
        # One symbol: a read-only view of one zero, not a zeroed array of every bar.
        code = np.broadcast_to(np.int64(0), (frame.height,))
        if starts.size > 1:
            code = np.zeros(frame.height, np.int64)
            code[starts[1:]] = 1
            np.cumsum(code, out=code)
        close = frame.get_column("close").to_numpy()
        cum = np.zeros(1)
        if borrow:  # the running close sum before each bar, per symbol
            total = np.concatenate([[0.0], np.cumsum(close)])
            cum = total[:-1] - total[starts][code]
        return cls(
            symbol.gather(starts).to_list(),
            code,
            starts,
            ends,
            frame.get_column("ts").to_physical().to_numpy(),
            frame.get_column("open").to_numpy(),
            frame.get_column("high").to_numpy(),
            frame.get_column("low").to_numpy(),
            close,
            frame.get_column("quote").to_numpy(),
            frame.get_column("wanted").to_numpy(),
            cum if borrow else np.broadcast_to(0.0, close.shape),
            _columns(frame, COST_PREFIX),
            _columns(frame, SIZE_PREFIX),
            _columns(frame, EXIT_PREFIX),
        )

    def cost_inputs(self, bar: int) -> dict[str, float]:
        """Return the cost model's inputs on ``bar`` (values at its decision bar)."""
        return {k: float(v[bar]) for k, v in self.costs.items()} if self.costs else _NONE

    def size_inputs(self, bar: int) -> dict[str, float]:
        """Return the sizer's inputs on ``bar`` (values at its decision bar)."""
        return {k: float(v[bar]) for k, v in self.sizes.items()} if self.sizes else _NONE

    def marked(self, pos: list[float], bar: int) -> float:
        """Return the value of the positions at ``bar``'s time: its quote, else a last close."""
        if len(pos) == 1:
            return pos[0] * float(self.quote[bar]) if pos[0] else 0.0
        ts, value = int(self.ts[bar]), 0.0  # an int: searchsorted has one overload for it
        for s, held in enumerate(pos):
            if held == 0:
                continue
            lo, hi = int(self.starts[s]), int(self.ends[s]) + 1
            at = lo + int(np.searchsorted(self.ts[lo:hi], ts, side="right")) - 1
            if at >= lo:
                value += held * float(self.quote[at] if self.ts[at] == ts else self.close[at])
        return value


@dataclass(frozen=True)
class Plan:
    """Where the events are: changes, rebalances, and the positions (segments) they open.

    A segment starts at every change to a non-zero exposure and ends at the symbol's next
    change (``end`` -1: none). ``change_segment`` maps each change to its segment (-1: to flat).
    """

    changes: Array
    change_segment: Array
    rebalances: Array
    entry: Array
    end: Array
    side: Array
    risk: Array


def plan(m: Market, change: Array, rebalance: Array) -> Plan:
    """Return the events of a market from its change and rebalance flags."""
    changes = np.flatnonzero(change)
    w = m.wanted[changes]
    opens = w != 0
    segment = np.where(opens, np.cumsum(opens) - 1, -1)
    same = np.append(m.code[changes][1:] == m.code[changes][:-1], False)
    end = np.where(same, np.append(changes[1:], -1), -1)[opens]
    entry = changes[opens]
    # An empty ``rebalance`` means none (it saves three passes over every bar).
    rebalances = (
        np.flatnonzero(rebalance & ~change & (m.wanted != 0))
        if rebalance.size
        else np.zeros(0, np.int64)
    )
    return Plan(
        changes,
        segment,
        rebalances,
        entry,
        end,
        np.sign(w[opens]),
        np.full(entry.size, math.nan),
    )


def segments(
    m: Market, p: Plan, exits: Exits, costs: CostModel, *, execution: str, finalize: Any
) -> tuple[Segments, Array]:
    """Return the positions' exit checks and their initial risk per unit (the stop distance)."""
    price = fill_prices(
        costs, m.quote[p.entry], p.side, {k: v[p.entry] for k, v in m.costs.items()}
    )
    at_open = execution == "next_open"
    first = p.entry + (0 if at_open and exits.entry_bar else 1)
    last_bar = m.ends[m.code[p.entry]] - (1 if finalize == "open" else 0)
    last = np.where(p.end >= 0, p.end - (1 if at_open else 0), last_bar)

    def distance(name: str) -> Array:
        value = exits.distances().get(name)
        if value is None:
            return np.full(p.entry.size, math.nan)
        if isinstance(value, float | int):
            return price * float(value)
        return m.exits[name][p.entry]

    stop = distance("stop_loss")
    found = Segments(
        first, last, p.side, price, stop, distance("take_profit"), distance("trailing")
    )
    return found, stop
