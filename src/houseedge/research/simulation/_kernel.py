"""Per-path wealth statistics of a ``(n_paths, n_steps)`` return block, on NumPy rows.

:func:`houseedge.research.simulation.simulate` evaluates its paths here instead of as a long
Polars frame: a path is a contiguous row, so the running product, running peak and first
passages are single NumPy passes over a few cache-sized tiles of rows, where Polars' grouped
windows over the long frame cost about three times as much. The numbers are the ones
:func:`~houseedge.research.simulation._stats.path_statistics` gives for the same paths, bit for bit
(a
test pins it): the same multiplications in the same order, and reductions that are exact
(minima, counts, first indices). Rows whose wealth turns non-finite (NaN or infinite: Polars
skips NaN in minima and running maxima, NumPy propagates it) are handed to the Polars
expressions themselves, so even they agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from houseedge.research.simulation._paths import F64, long_frame
from houseedge.research.simulation._stats import WealthRules, raw_statistics

__all__ = ["TILE_ROWS", "RawColumns", "block_statistics", "raw_frame"]

TILE_ROWS = 32
"""Rows evaluated at once: a tile's few working arrays stay in the CPU's L2 cache."""

RawColumns = dict[str, NDArray[Any]]
"""``path_id, terminal_wealth, max_drawdown, underwater_fraction, longest_underwater,
ruin_step, target_step`` (a step of -1: the event does not happen)."""


class _Buffers:
    """Working arrays reused across tiles: fresh multi-megabyte arrays would page-fault."""

    def __init__(self, rows: int, steps: int) -> None:
        self.wealth = np.empty((rows, steps))
        self.peak = np.empty((rows, steps))
        self.ratio = np.empty((rows, steps))
        self.below = np.empty((rows, steps), dtype=np.bool_)
        self.spell = np.empty((rows, steps), dtype=np.int32)
        # Step numbers from 1: a peak at step s marks s + 1, the initial wealth marks 0.
        self.steps1 = np.arange(1, steps + 1, dtype=np.int32)


def block_statistics(returns: F64, rules: WealthRules, *, first_path: int = 0) -> RawColumns:
    """Return the raw per-path statistics of a block of paths (rows), before :func:`finish`.

    Examples
    --------
    >>> import numpy as np
    >>> out = block_statistics(np.array([[0.5, -0.5, 1.0], [-0.6, 0.1, 0.1]]),
    ...     WealthRules(floor=0.5, target=1.4), first_path=7)
    >>> out["path_id"].tolist(), out["max_drawdown"].tolist(), out["ruin_step"].tolist()
    ([7, 8], [-0.5, -0.6], [-1, 0])
    """
    n_paths, n_steps = returns.shape
    names = ("terminal_wealth", "max_drawdown", "underwater_fraction")
    out: RawColumns = {"path_id": np.arange(first_path, first_path + n_paths, dtype=np.int64)}
    out |= {name: np.empty(n_paths) for name in names}
    out |= {name: np.empty(n_paths, np.int64) for name in _STEP_COLUMNS}
    if n_paths == 0 or n_steps == 0:
        return out
    buffers = _Buffers(min(TILE_ROWS, n_paths), n_steps)
    # Overflow and 0 * inf are legitimate here (those rows go to Polars below), not errors.
    with np.errstate(all="ignore"):
        for lo in range(0, n_paths, TILE_ROWS):
            hi = min(lo + TILE_ROWS, n_paths)
            _tile(returns[lo:hi], rules, buffers, {k: v[lo:hi] for k, v in out.items()})
    broken = ~np.isfinite(out["terminal_wealth"])
    if broken.any():
        _polars_rows(returns, rules, out, np.flatnonzero(broken))
    return out


_STEP_COLUMNS = ("longest_underwater", "ruin_step", "target_step")


def _tile(returns: F64, rules: WealthRules, buffers: _Buffers, out: RawColumns) -> None:
    rows = returns.shape[0]
    wealth, peak = buffers.wealth[:rows], buffers.peak[:rows]
    _wealth(returns, rules, wealth)
    out["terminal_wealth"][:] = wealth[:, -1]
    # The initial wealth is the first peak: folded into step 0, one pass instead of two.
    np.copyto(peak, wealth)
    np.maximum(peak[:, 0], rules.initial_wealth, out=peak[:, 0])
    np.maximum.accumulate(peak, axis=1, out=peak)
    ratio = np.divide(wealth, peak, out=buffers.ratio[:rows])
    # x - 1 rounds monotonically, so the least ratio gives the least drawdown exactly.
    out["max_drawdown"][:] = ratio.min(axis=1) - 1.0
    below = np.less(wealth, peak, out=buffers.below[:rows])
    out["underwater_fraction"][:] = np.count_nonzero(below, axis=1) / wealth.shape[1]
    # The last peak at or before each step, as a running max of (step + 1) where at a peak.
    spell = np.multiply(buffers.steps1, ~below, out=buffers.spell[:rows])
    np.maximum.accumulate(spell, axis=1, out=spell)
    out["longest_underwater"][:] = np.subtract(buffers.steps1, spell, out=spell).max(axis=1)
    out["ruin_step"][:] = _first(wealth, wealth.min(axis=1) <= rules.floor, rules.floor, "le")
    target = np.inf if rules.target is None else rules.target
    # The final peak is the path's highest wealth (the target lies above the initial wealth).
    out["target_step"][:] = _first(wealth, peak[:, -1] >= target, target, "ge")


def _wealth(returns: F64, rules: WealthRules, wealth: F64) -> None:
    # The operations and their order are path_statistics' own, so the floats are identical.
    scaled = returns if rules.fraction == 1.0 else np.multiply(rules.fraction, returns, out=wealth)
    if rules.compounding:
        np.add(1.0, scaled, out=wealth)
        np.multiply.accumulate(wealth, axis=1, out=wealth)
        if rules.initial_wealth != 1.0:
            np.multiply(wealth, rules.initial_wealth, out=wealth)
        return
    np.cumsum(scaled, axis=1, out=wealth)
    np.add(1.0, wealth, out=wealth)
    np.multiply(rules.initial_wealth, wealth, out=wealth)


def _first(wealth: F64, happens: NDArray[np.bool_], level: float, how: str) -> NDArray[np.int64]:
    # Only the rows where the event happens are searched for its first step.
    steps = np.full(wealth.shape[0], -1, dtype=np.int64)
    rows = np.flatnonzero(happens)
    if rows.size:
        hits = wealth[rows] <= level if how == "le" else wealth[rows] >= level
        steps[rows] = hits.argmax(axis=1)
    return steps


def _polars_rows(returns: F64, rules: WealthRules, out: RawColumns, rows: NDArray[Any]) -> None:
    frame = long_frame(returns[rows], first_path=0)
    raw = raw_statistics(frame.lazy(), rules).collect()
    for name in ("terminal_wealth", "max_drawdown", "underwater_fraction"):
        out[name][rows] = raw[name].to_numpy()
    for name in _STEP_COLUMNS:
        out[name][rows] = raw[name].fill_null(-1).to_numpy()


def raw_frame(parts: list[RawColumns], n_steps: int) -> pl.DataFrame:
    """Return blocks' raw statistics as one frame in :func:`raw_statistics`' schema.

    Examples
    --------
    >>> import numpy as np
    >>> part = block_statistics(np.array([[0.1, -0.2]]), WealthRules(floor=0.5))
    >>> raw_frame([part], 2).select("path_id", "n_steps", "ruin_step").rows()
    [(0, 2, None)]
    """
    columns = {
        name: np.concatenate([part[name] for part in parts]) if parts else np.empty(0)
        for name in ("path_id", "terminal_wealth", "max_drawdown", "underwater_fraction")
    }
    steps = {
        name: np.concatenate([part[name] for part in parts]) if parts else np.empty(0, np.int64)
        for name in _STEP_COLUMNS
    }
    # A materialised n_steps, not a literal: Polars divides by a scalar column as a product
    # with its reciprocal, which rounds differently from path_statistics' division.
    count = np.full(columns["path_id"].size, n_steps, dtype=np.int64)
    frame = pl.DataFrame({**columns, **steps, "n_steps": count}).with_columns(
        pl.col("path_id").cast(pl.Int64)
    )
    # A step of -1 stands for "never": null, as the Polars expressions give it.
    return frame.with_columns(
        pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in ("ruin_step", "target_step")
    )
