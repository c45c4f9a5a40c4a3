"""One shard of a sweep: a list of parameter sets evaluated where an executor runs it.

A shard carries its bars as a :class:`StoreBars` reference (the worker reads the store by path)
or, failing that, as the frame itself; its metrics come back as a small frame. The shard
function, :func:`evaluate_shard`, is a module-level function so process pools (spawn) and Ray
can import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from houseedge.core.policies.protocol import allows_short
from houseedge.errors import PolicyError
from houseedge.research.backtest import BacktestResult, backtest
from houseedge.research.metrics import (
    annual_return,
    annual_volatility,
    calmar_ratio,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
    total_return,
)
from houseedge.research.metrics.inputs import ColumnLike
from houseedge.research.sweep import _kernel as kernel
from houseedge.research.sweep import _metrics as closed_form

ReturnMetric = Callable[[ColumnLike, float], pl.Expr]
"""A return metric of a returns column and the periods per year (ignored by some)."""

RETURN_METRICS: dict[str, ReturnMetric] = {
    "total_return": lambda r, ppy: total_return(r),
    "annual_return": lambda r, ppy: annual_return(r, periods_per_year=ppy),
    "annual_volatility": lambda r, ppy: annual_volatility(r, periods_per_year=ppy),
    "sharpe_ratio": lambda r, ppy: sharpe_ratio(r, periods_per_year=ppy),
    "sortino_ratio": lambda r, ppy: sortino_ratio(r, periods_per_year=ppy),
    "calmar_ratio": lambda r, ppy: calmar_ratio(r, periods_per_year=ppy),
    "max_drawdown": lambda r, ppy: max_drawdown(r),
}
"""Metrics a sweep computes without the full summary (same expressions, same values)."""

CHEAP_METRICS = (*RETURN_METRICS, "final_equity", "trades", "total_fees", "exposure_time")

# Bytes per bar one combination holds while it is evaluated: its target column, the prepared
# frame's three replaced columns, cash, position, equity and returns. Saved runs hold more
# (the equity frame's 10 columns) while their chunk is written.
BYTES_PER_BAR = 8 * 12


@dataclass(frozen=True)
class StoreBars:
    """Bars read from a store by path: what a worker process or a Ray task receives.

    Examples
    --------
    >>> import tempfile
    >>> from houseedge.data.store import Store
    >>> from houseedge.data.synthetic import synthetic_bars
    >>> root = tempfile.mkdtemp()
    >>> _ = Store(root).write("bars", synthetic_bars(["A"], periods=50, timeframe="1d"))
    >>> StoreBars(root, ("A",), "1d").read().height
    50
    """

    root: str | Path
    symbols: tuple[str, ...]
    timeframe: str
    start: str | None = None
    end: str | None = None

    def read(self) -> pl.DataFrame:
        """Return the bars (``symbol, ts, open, high, low, close, ...``) sorted by symbol, ts."""
        from houseedge.data.store import Store

        frame = Store(self.root).read(
            "bars",
            symbols=list(self.symbols),
            timeframe=self.timeframe,
            start=self.start,
            end=self.end,
        )
        # One symbol read in time order needs no sort (it cost more than the read itself).
        symbol, ts = frame.get_column("symbol"), frame.get_column("ts")
        if frame.height and (symbol == symbol[0]).all() and ts.is_sorted():
            return frame
        return frame.sort("symbol", "ts")


Bars = pl.DataFrame | pl.LazyFrame | StoreBars


def load(bars: Bars) -> pl.DataFrame:
    """Return the bars of a frame, lazy frame or store reference as a frame."""
    if isinstance(bars, StoreBars):
        return bars.read()
    return bars.collect() if isinstance(bars, pl.LazyFrame) else bars


@dataclass(frozen=True)
class Shard:
    """The parameter sets one task evaluates, with everything needed to do it alone."""

    bars: Bars
    policy: Any  # a policy class, or a factory of keyword parameters
    params: tuple[dict[str, Any], ...]
    index: tuple[int, ...]  # the parameter sets' rows in the sweep
    setup: kernel.Setup
    metrics: tuple[str, ...]
    memory_budget: int
    fast: bool = True
    save: dict[str, Any] | None = field(default=None)  # store root and save_runs options


def evaluate_shard(shard: Shard, progress: Callable[[int], None] | None = None) -> pl.DataFrame:
    """Return ``index`` and the metrics (and ``run_id`` when saving) of each parameter set.

    ``progress`` is called with the number of sets done after each chunk (in-process only).
    """
    bars = load(shard.bars)
    decomposition = kernel.decomposition_of(shard.policy) if shard.fast else None
    policies = [_build(shard.policy, p) for p in shard.params]
    prepared = (
        kernel.prepare_bars(bars, shard.setup, decomposition, shard.params)
        if decomposition is not None
        else None
    )
    size = max(1, shard.memory_budget // max(1, bars.height * BYTES_PER_BAR))
    tape = _tape(prepared, shard)
    rows: list[dict[str, Any]] = []
    for lo in range(0, len(policies), size):
        chunk = range(lo, min(lo + size, len(policies)))
        params = [shard.params[i] for i in chunk]
        if prepared is not None and decomposition is not None:
            raws = kernel.targets(prepared, decomposition, params)
            results: list[Outcome] = [
                _evaluate(prepared, shard, policies[i], raw, tape)
                for i, raw in zip(chunk, raws, strict=True)
            ]
            del raws
        else:
            results = [_backtest(bars, policies[i], shard.setup) for i in chunk]
        values = [_values(r, shard) for r in results]
        if shard.save is not None:
            # Saving is never metrics-only, so every set ran the engine (``strict`` below checks).
            runs = [r for r in results if isinstance(r, BacktestResult)]
            ids = _save(runs, shard.save)
            values = [v | {"run_id": run_id} for v, run_id in zip(values, ids, strict=True)]
        rows += [{"index": shard.index[i]} | v for i, v in zip(chunk, values, strict=True)]
        if progress is not None:
            progress(len(chunk))
    return pl.DataFrame(rows, schema=_schema(shard), strict=False)


def _tape(prepared: kernel.Prepared | None, shard: Shard) -> closed_form.Tape | None:
    """Return the bars for the metrics-only kernel when every set of the shard may take it."""
    if prepared is None or not _metrics_only(shard):
        return None
    if not closed_form.covers(shard.setup, prepared.starts.size):
        return None
    return closed_form.Tape.of(prepared.frame)


def _metrics_only(shard: Shard) -> bool:
    return shard.save is None and set(shard.metrics) <= set(CHEAP_METRICS)


Outcome = BacktestResult | kernel.Curve | tuple[closed_form.Fills, closed_form.Tape]


def _evaluate(
    prepared: kernel.Prepared, shard: Shard, policy: Any, raw: Any, tape: closed_form.Tape | None
) -> Outcome:
    # Only the metrics are kept unless the run is saved: skip the result frames then.
    if tape is not None:
        shorts = shard.setup.allow_short
        shorts = allows_short(policy) if shorts is None else shorts
        target = closed_form.clean(raw, shorts)
        fills = None if target is None else closed_form.run(tape, shard.setup, target)
        if fills is not None:
            return fills, tape
    if _metrics_only(shard):
        curve = kernel.run_curve(prepared, shard.setup, policy, raw)
        if curve is not None:
            return curve
    return kernel.run_target(prepared, shard.setup, policy, raw)


def _values(outcome: Outcome, shard: Shard) -> dict[str, Any]:
    if isinstance(outcome, kernel.Curve):
        return curve_values(outcome, shard.metrics, shard.setup)
    if isinstance(outcome, BacktestResult):
        return metric_values(outcome, shard.metrics)
    return fills_values(*outcome, shard.metrics, shard.setup)


def fills_values(
    fills: closed_form.Fills, tape: closed_form.Tape, names: Sequence[str], setup: kernel.Setup
) -> dict[str, Any]:
    """Return the cheap metrics of the metrics-only kernel's fills.

    Final equity, trades and fees are reductions over the fills; the other metrics read the
    per-bar curve, rebuilt as the engine rebuilds it: the same values as :func:`metric_values`.
    """
    direct = {
        "final_equity": lambda: closed_form.final_equity(fills, tape, setup.cash),
        "trades": lambda: fills.closed,
        "total_fees": lambda: closed_form.total_fees(fills),
    }
    values = {n: direct[n]() for n in names if n in direct}
    rest = [n for n in names if n not in direct]
    if rest:
        values |= curve_values(kernel.curve_of(fills, tape.close, setup.cash), rest, setup)
    return {n: values[n] for n in names}


def curve_values(curve: kernel.Curve, names: Sequence[str], setup: kernel.Setup) -> dict[str, Any]:
    """Return the cheap metrics of a :class:`~houseedge.research.sweep._kernel.Curve`.

    The same expressions as :func:`metric_values` on the same returns: the same values.
    """
    ppy = setup.periods_per_year
    returns = [RETURN_METRICS[n]("returns", ppy).alias(n) for n in names if n in RETURN_METRICS]
    values: dict[str, Any] = {}
    if returns:
        values = pl.DataFrame([curve.returns().alias("returns")]).select(returns).row(0, named=True)
    fills = curve.fills
    extra = {
        "final_equity": lambda: float(curve.equity[-1]) if curve.equity.size else None,
        "trades": lambda: _whole_closes(fills.position_after - fills.qty, fills.position_after),
        "total_fees": lambda: pl.Series(fills.fee, dtype=pl.Float64).sum(),
        "exposure_time": lambda: pl.Series(_in_market(curve)).mean(),
    }
    values |= {n: extra[n]() for n in names if n in extra}
    return {n: values[n] for n in names}


def _in_market(curve: kernel.Curve) -> Any:
    held = curve.held
    was = np.concatenate([[0.0], held[:-1]])
    return (held != 0) | (was != 0) | curve.filled


def _whole_closes(before: Any, after: Any) -> int:
    # run_curve keeps runs whose fills open from flat or close to flat: one trade per close
    return int(((after == 0) & (before != 0)).sum())


def _schema(shard: Shard) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"index": pl.Int64()}
    schema |= {m: pl.Int64() if m in ("trades", "orders") else pl.Float64() for m in shard.metrics}
    if shard.save is not None:
        schema["run_id"] = pl.String()
    return schema


def _build(policy: Any, params: Mapping[str, Any]) -> Any:
    return policy(**params)


def _backtest(bars: pl.DataFrame, policy: Any, setup: kernel.Setup) -> BacktestResult:
    return backtest(
        bars,
        policy,
        cash=setup.cash,
        costs=setup.costs,
        sizing=setup.sizing,
        execution=setup.execution,
        allow_short=setup.allow_short,
        finalize=setup.finalize,
        periods_per_year=setup.periods_per_year,
    )


def metric_values(result: BacktestResult, names: Sequence[str]) -> dict[str, Any]:
    """Return the metrics ``names`` of a result, without the full summary when it can.

    Values equal ``result.metrics``'s: the same expressions on the same returns.
    """
    if not set(names) <= set(CHEAP_METRICS):
        full = result.metrics
        missing = [n for n in names if n not in full]
        if missing:
            raise PolicyError(f"unknown metric(s) {', '.join(missing)}; metrics: {sorted(full)}")
        return {n: full[n] for n in names}
    ppy = result.params["periods_per_year"]
    returns = [RETURN_METRICS[n]("returns", ppy).alias(n) for n in names if n in RETURN_METRICS]
    values: dict[str, Any] = result.equity.select(returns).row(0, named=True) if returns else {}
    curve = result.equity
    extra = {
        "final_equity": lambda: curve.get_column("equity")[-1] if curve.height else None,
        "trades": lambda: _closed_trades(result),
        "total_fees": lambda: result.orders.get_column("fee").sum(),
        "exposure_time": lambda: curve.get_column("in_market").mean(),
    }
    values |= {n: extra[n]() for n in names if n in extra}
    return {n: values[n] for n in names}


def _closed_trades(result: BacktestResult) -> int:
    """Return the closed round trips (``trade_summary``'s ``trades``) without the ledger walk."""
    orders = result.orders
    before = orders.get_column("position_after") - _signed(orders)
    after = orders.get_column("position_after")
    if ((before == 0) | (after == 0)).all():
        # every fill opens from flat or closes to flat: one trade per closing fill
        return int(((after == 0) & (before != 0)).sum())
    return result.trades.height


def _signed(orders: pl.DataFrame) -> pl.Series:
    sign = (orders.get_column("side") == "buy").cast(pl.Float64) * 2.0 - 1.0
    return orders.get_column("qty") * sign


def _save(results: list[BacktestResult], options: dict[str, Any]) -> list[str]:
    from houseedge.data.store import Store
    from houseedge.research.runs import save_runs

    store = Store(options["root"])
    kwargs = {k: v for k, v in options.items() if k != "root"}
    return save_runs(results, store, **kwargs)
