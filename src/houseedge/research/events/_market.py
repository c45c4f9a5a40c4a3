"""Bars laid out for the event-driven loop: per-symbol Python lists and a global time grid.

The loop reads one scalar at a time, and indexing a Python list is several times faster than
indexing a NumPy array from Python, so the columns are converted once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from houseedge.core.costs import CostModel
from houseedge.core.types import NANOS_PER_SECOND
from houseedge.research.backtest import DEFAULT_SYMBOL, require_bar_columns

NANOS_PER_DAY = 86_400 * NANOS_PER_SECOND


@dataclass(slots=True)
class Market:
    """The bars of a run, by symbol (index ``s``) and bar (index ``row`` within the symbol).

    ``frame`` is the bars sorted by ``symbol, ts`` with a ``row`` column; ``offsets[s]`` is
    symbol ``s``'s first row in it. ``steps[k]`` lists the ``(s, row)`` bars at ``times[k]``.
    ``session_end[s][row]`` says the bar is the last of its UTC day for that symbol.
    """

    symbols: list[str]
    frame: pl.DataFrame
    offsets: list[int]
    ts: list[list[int]]
    open: list[list[float]]
    high: list[list[float]]
    low: list[list[float]]
    close: list[list[float]]
    volume: list[list[float]]
    session_end: list[list[bool]]
    inputs: list[dict[str, list[Any]]]
    timeframe: list[str]
    times: list[int]
    steps: list[list[tuple[int, int]]]

    def history(self, s: int, row: int) -> pl.DataFrame:
        """Return symbol ``s``'s bars up to and including ``row`` (a zero-copy slice)."""
        return self.frame.slice(self.offsets[s], row + 1)

    def cost_inputs(self, s: int, row: int) -> dict[str, float]:
        """Return the cost model's inputs at ``row`` (empty before the first bar)."""
        if row < 0:
            return {}
        return {name: values[row] for name, values in self.inputs[s].items()}


def sorted_bars(bars: pl.DataFrame | pl.LazyFrame, need_volume: bool) -> pl.DataFrame:
    """Return the bars sorted by ``symbol, ts`` with a per-symbol ``row`` index."""
    frame = bars.collect() if isinstance(bars, pl.LazyFrame) else bars
    require_bar_columns(frame, "run_events", ("volume",) if need_volume else ())
    if "symbol" not in frame.columns:
        frame = frame.with_columns(symbol=pl.lit(DEFAULT_SYMBOL))
    frame = frame.sort("symbol", "ts", maintain_order=True)
    return frame.with_columns(row=pl.int_range(pl.len()).over("symbol"))


def build_market(frame: pl.DataFrame, costs: CostModel) -> Market:
    """Lay out ``frame`` (from :func:`sorted_bars`) for the loop, with ``costs``' inputs."""
    symbols = frame.get_column("symbol").unique(maintain_order=True).to_list()
    parts = frame.partition_by("symbol", maintain_order=True)
    exprs = {name: expr.cast(pl.Float64) for name, expr in costs.inputs().items()}

    def column(part: pl.DataFrame, name: str) -> list[Any]:
        if name not in part.columns:
            return [float("inf")] * part.height  # no volume: participation is off
        return part.get_column(name).cast(pl.Float64).to_list()

    ts = [p.get_column("ts").to_physical().to_list() for p in parts]
    day = [[t // NANOS_PER_DAY for t in times] for times in ts]
    ends = [[d[i] != d[i + 1] for i in range(len(d) - 1)] + [True] for d in day]
    inputs = [
        {k: v.to_list() for k, v in p.select(**exprs).to_dict().items()} if exprs else {}
        for p in parts
    ]
    timeframe = [
        str(p.get_column("timeframe")[0]) if "timeframe" in p.columns else "" for p in parts
    ]
    offsets = [0]
    for part in parts[:-1]:
        offsets.append(offsets[-1] + part.height)
    times, steps = _grid(ts)
    prices = {c: [column(p, c) for p in parts] for c in ("open", "high", "low", "close", "volume")}
    return Market(
        symbols=symbols,
        frame=frame,
        offsets=offsets,
        ts=ts,
        session_end=ends,
        inputs=inputs,
        timeframe=timeframe,
        times=times,
        steps=steps,
        **prices,
    )


def _grid(ts: list[list[int]]) -> tuple[list[int], list[list[tuple[int, int]]]]:
    """Return the sorted distinct times and, per time, the ``(symbol, row)`` bars at it."""
    if len(ts) == 1:
        return list(ts[0]), [[(0, row)] for row in range(len(ts[0]))]
    merged = sorted((t, s, row) for s, times in enumerate(ts) for row, t in enumerate(times))
    times: list[int] = []
    steps: list[list[tuple[int, int]]] = []
    for t, s, row in merged:
        if not times or times[-1] != t:
            times.append(t)
            steps.append([])
        steps[-1].append((s, row))
    return times, steps
