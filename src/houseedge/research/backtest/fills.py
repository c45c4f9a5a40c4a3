"""Stage 2 of a backtest: the fill kernel, from the prepared frame to the fills.

:func:`simulate` walks only the bars where something can happen (changes, rebalances, exits,
finalising closes) in time order: it closes, reverses or resizes positions, asks the sizer for
quantities from the equity at the fill, and applies the cost model. This is the only
path-dependent part of a backtest. A one-symbol fraction-of-equity run takes the closed form of
:mod:`~houseedge.research.backtest.compound` for as long as it can; everything else walks the
events (:mod:`houseedge.research.backtest._loop`). Both return
:class:`~houseedge.research.backtest.market.FillArrays`, which the ledger and the equity stages
read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import numpy as np
import polars as pl

from houseedge.core.costs import CostModel, LinearCostModel
from houseedge.core.sizing.sizers import FixedFraction, Sizer
from houseedge.research.backtest import compound as _compound
from houseedge.research.backtest._loop import run_loop
from houseedge.research.backtest.exits import ExitFills, Exits, find_exits
from houseedge.research.backtest.frame import Execution, Finalize, Rebalance, block_starts
from houseedge.research.backtest.market import FillArrays, Market, plan, segments


def _rebalance_flags(
    frame: pl.DataFrame, rebalance: Rebalance, multi: bool
) -> np.ndarray[Any, Any]:
    if rebalance == "on_change":
        return np.zeros(0, dtype=bool)  # plan() reads an empty array as "no rebalances"
    if rebalance == "every_bar":
        return np.ones(frame.height, dtype=bool)
    period = pl.col("ts").dt.truncate(rebalance)
    before = period.shift(1)
    first = period != (before.over("symbol") if multi else before)
    return frame.select(first.fill_null(False)).to_series().to_numpy()


def simulate(
    frame: pl.DataFrame,
    costs: CostModel,
    sizing: Sizer,
    *,
    cash: float,
    finalize: Finalize,
    execution: Execution = "next_open",
    exits: Exits | None = None,
    rebalance: Rebalance = "on_change",
) -> FillArrays:
    """Return the fills of a frame from :func:`~houseedge.research.backtest.targets.prepare`.

    The fills are in execution order; see the module docstring for the two paths.
    """
    starts = block_starts(frame)
    market = Market.of(frame, starts, borrow=costs.borrow_rate() != 0)
    flags = _rebalance_flags(frame, rebalance, starts.size > 1)
    steps = plan(market, frame.get_column("change").to_numpy(), flags)
    found = _NO_EXITS
    if exits is not None:
        checks, risk = segments(market, steps, exits, costs, execution=execution, finalize=finalize)
        steps = replace(steps, risk=risk)
        found = find_exits(
            checks, exits, {"open": market.open, "high": market.high, "low": market.low}
        )
    count = _compound.leading(market, steps, costs, sizing, found)
    if count == 0:
        return run_loop(
            market,
            steps,
            found,
            costs,
            sizing,
            cash=cash,
            execution=execution,
            finalize=finalize,
        )
    # leading() counts positions only for these exact types.
    linear, fraction = cast("LinearCostModel", costs), cast("FixedFraction", sizing)
    head, done, left = _compound.compound(
        market, steps, found, linear, fraction, cash=cash, finalize=finalize, count=count
    )
    if done == steps.entry.size:
        return head
    tail = run_loop(
        market,
        steps,
        found,
        costs,
        sizing,
        cash=left,
        execution=execution,
        finalize=finalize,
        start=done,
    )
    return head.then(tail)


_NO_EXITS = ExitFills(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), [])
