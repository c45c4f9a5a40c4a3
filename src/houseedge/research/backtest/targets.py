"""Stage 1 of a backtest: the bars prepared for the fill kernel, in one Polars pass.

:func:`prepare` evaluates the policy's target (and the cost model's, sizer's and exits'
inputs) per symbol, shifts it one bar (a decision on bar *t*'s close executes on bar *t + 1*)
and flags the bars where the wanted exposure changes. What it returns is the frame described in
:mod:`houseedge.research.backtest.frame`; :func:`~houseedge.research.backtest.fills.simulate`
takes it from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from houseedge.core.costs import CostModel
from houseedge.core.policies.protocol import VectorPolicy
from houseedge.core.sizing.sizers import Sizer
from houseedge.errors import PolicyError
from houseedge.research.backtest.exits import Exits
from houseedge.research.backtest.frame import (
    COST_PREFIX,
    DEFAULT_SYMBOL,
    EXIT_PREFIX,
    SIZE_PREFIX,
    Execution,
    require_bar_columns,
)


def _per_symbol(expr: pl.Expr, multi: bool) -> pl.Expr:
    return expr.over("symbol") if multi else expr


def _sorted_bars(bars: pl.DataFrame | pl.LazyFrame) -> tuple[pl.DataFrame, bool]:
    """Return the bars sorted by (symbol, ts) and whether they hold several symbols."""
    frame = bars.collect() if isinstance(bars, pl.LazyFrame) else bars
    if frame.n_chunks() > 1:
        frame = frame.rechunk()  # once, so every column reads into NumPy without a copy
    require_bar_columns(frame, "backtest")
    if "symbol" not in frame.columns:
        return frame.with_columns(symbol=pl.lit(DEFAULT_SYMBOL)), False
    multi = frame.height > 0 and not _one_value(frame.get_column("symbol"))
    if multi or not frame.get_column("ts").is_sorted():
        frame = frame.sort("symbol", "ts", maintain_order=True)
    return frame, multi


def _one_value(symbol: pl.Series) -> bool:
    """Return whether every symbol equals the first (nulls ignored)."""
    flags = symbol.flags
    if (flags["SORTED_ASC"] or flags["SORTED_DESC"]) and not symbol.null_count():
        return bool(symbol[0] == symbol[-1])  # sorted: the ends bound every value
    # Comparing with the first value is a cheap pass; n_unique hashes every string.
    return bool((symbol == symbol[0]).all())


def _shift(values: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], fill: float) -> Any:
    """Shift by one bar within each symbol's block, ``fill`` on each first bar."""
    out = np.empty_like(values)
    out[1:] = values[:-1]
    out[starts] = fill
    return out


def _targets(
    column: pl.Series, starts: np.ndarray[Any, Any], allow_short: bool, policy: VectorPolicy
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Return the checked target and the wanted exposure (the target one bar later).

    Null and NaN are flat, as negatives without shorts; ``wanted`` is 0 on each symbol's first
    bar. One buffer holds both: for one symbol ``wanted`` is ``target`` one slot earlier, so the
    shift costs no pass.
    """
    # Leading nulls (a warm-up) are left out, not filled: fill_null is a pass of its own, and
    # to_numpy of a column with nulls takes a slow general path.
    nulls = column.null_count()
    lead = nulls if nulls and column.slice(0, nulls).null_count() == nulls else 0
    raw = (column.fill_null(0.0) if nulls > lead else column.slice(lead)).to_numpy()
    both = np.empty(column.len() + 1)
    both[: lead + 1] = 0.0
    target = both[1:]
    body = target[lead:]
    if raw.size and not allow_short:
        np.fmax(raw, 0.0, out=body)  # fmax ignores NaN: one pass cleans and clamps
        _check_targets(target, policy, (0.0, float(body.max())))
    elif raw.size:
        bounds = float(raw.min()), float(raw.max())  # NaN when any value is
        if bounds[0] == bounds[0]:
            np.copyto(body, raw)
        else:
            np.copyto(body, np.where(raw == raw, raw, 0.0))
            bounds = float(body.min()), float(body.max())
        _check_targets(target, policy, bounds)
    if starts.size <= 1:
        return target, both[:-1]
    return target, _shift(target, starts, 0.0)


def _changes(wanted: np.ndarray[Any, Any], starts: np.ndarray[Any, Any]) -> Any:
    """Flag the bars whose wanted exposure differs from the previous bar's (0 before a block)."""
    change = np.empty(wanted.size, dtype=bool)
    np.not_equal(wanted[1:], wanted[:-1], out=change[1:])
    change[starts] = wanted[starts] != 0.0
    return change


def prepare(
    bars: pl.DataFrame | pl.LazyFrame,
    policy: VectorPolicy,
    costs: CostModel,
    sizing: Sizer,
    *,
    execution: Execution = "next_open",
    allow_short: bool = True,
    exits: Exits | None = None,
) -> pl.DataFrame:
    """Return the bars with the wanted exposure per execution bar and the change flags.

    Added columns: ``row`` (bar index within its symbol), ``target`` (the policy's value at the
    bar's close), ``wanted`` (the target decided on the previous bar, i.e. what this bar's fill
    should reach), ``quote`` (this bar's execution price), ``change`` and the cost, sizer and exit
    inputs at the decision bar (prefixed ``cost:``, ``size:``, ``exit:``).

    Examples
    --------
    >>> from houseedge.core.costs import NO_COSTS
    >>> from houseedge.core.sizing.sizers import FixedUnits
    >>> class Above:
    ...     name, warmup = "above", 0
    ...     def params(self): return {}
    ...     def target(self): return (pl.col("close") > 10).cast(pl.Float64)
    >>> bars = pl.DataFrame({"ts": [1, 2, 3], "open": [9.0, 11.0, 12.0], "high": [12.0] * 3,
    ...     "low": [9.0] * 3, "close": [11.0, 12.0, 9.5]})
    >>> prepare(bars, Above(), NO_COSTS, FixedUnits()).select("target", "wanted", "change").rows()
    [(1.0, 0.0, False), (1.0, 1.0, True), (0.0, 1.0, False)]
    """
    frame, multi = _sorted_bars(bars)
    inputs = {f"{COST_PREFIX}{k}": v for k, v in costs.inputs().items()}
    inputs |= {f"{SIZE_PREFIX}{k}": v for k, v in sizing.inputs().items()}
    if exits is not None:
        inputs |= {f"{EXIT_PREFIX}{k}": v for k, v in exits.inputs().items()}
    quote = "open" if execution == "next_open" else "close"
    # The policy's expression is evaluated as written and cleaned in NumPy: wrapping it in
    # casts and fills made Polars evaluate a 50-bar window expression three times slower.
    # with_columns, not select: a literal target must broadcast to the bars.
    row = _per_symbol(pl.int_range(pl.len()), multi) if multi else None
    evaluated = frame.with_columns(
        _per_symbol(policy.target(), multi).alias("target"),
        *(_per_symbol(expr.cast(pl.Float64), multi).alias(name) for name, expr in inputs.items()),
        *([] if row is None else [row.alias("row")]),
    )
    rows = (
        evaluated.get_column("row")
        if row is not None
        else pl.int_range(0, frame.height, dtype=pl.Int64, eager=True).alias("row")
    )
    starts = (
        np.flatnonzero(rows.to_numpy() == 0) if multi else np.zeros(min(frame.height, 1), np.int64)
    )
    column = evaluated.get_column("target").cast(pl.Float64)
    target, wanted = _targets(column, starts, allow_short, policy)
    shifted = {c: _shift(evaluated.get_column(c).to_numpy(), starts, np.nan) for c in inputs}
    return frame.with_columns(
        pl.Series("target", target),
        *(pl.Series(c, v, nan_to_null=True) for c, v in shifted.items()),
        rows,
        pl.col(quote).alias("quote"),
        pl.Series("wanted", wanted),
        pl.Series("change", _changes(wanted, starts)),
    )


def _check_targets(
    target: np.ndarray[Any, Any], policy: VectorPolicy, bounds: tuple[float, float]
) -> None:
    # The bounds come from the cleaning pass; the offending row only on failure.
    if bounds[0] >= -1.0 and bounds[1] <= 1.0:
        return
    bad = np.flatnonzero(np.abs(target) > 1.0)
    if bad.size:
        first = int(bad[0])
        msg = (
            f"policy {policy.name!r} produced target {target[first]} at row {first}; "
            "targets are signed fractions in [-1, 1]"
        )
        raise PolicyError(msg)
