"""Walk-forward analysis: choose parameters in sample, trade them out of sample, repeat.

Windows
    The bars' distinct times are cut into in-sample (IS) and out-of-sample (OOS) windows,
    by bar counts (``in_sample=500``) or time spans (``in_sample="90d"``, any Polars
    duration). Rolling: each IS window has the same length and the windows move forward by
    the OOS length; anchored: every IS window starts at the first bar. The OOS windows tile
    the data after the first IS window without overlap.
Choice
    In each IS window a :func:`~houseedge.research.sweep.sweep` ranks the parameter sets by
    ``objective`` (any metric name a sweep or ``BacktestResult.metrics`` reports) and
    ``maximize``; the best set trades the following OOS window.
OOS run
    The chosen set is backtested from the IS window's first bar to the OOS window's last, so
    its indicators are warm and a position held at the boundary carries on as it would have
    live; only the OOS bars' returns count.
Stitched equity
    The OOS returns of all windows chained from ``cash``: capital continues from window to
    window.
Decay
    ``decay`` is the mean over windows of ``oos_objective / is_objective`` (windows where
    either is null, NaN or the IS value is 0 are left out): 1 means the OOS performance
    matched what the choice promised, below 1 it decayed, negative it reversed.
    ``WalkForwardResult.windows`` holds the per-window pair for any other summary.
Runs
    With ``save_to``, every IS sweep row is a run tagged ``<tag>:w<k>:is`` and each OOS run
    is tagged ``<tag>:w<k>:oos`` (default tag ``walkforward``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from houseedge.errors import ConfigError
from houseedge.research.backtest import backtest
from houseedge.research.runs import save_run
from houseedge.research.sweep._grid import DEFAULT_METRICS, Space, sweep
from houseedge.research.sweep._shard import RETURN_METRICS, StoreBars, load

if TYPE_CHECKING:
    from houseedge.data.store import Store
    from houseedge.research.sweep.executors import Executor

__all__ = ["WalkForwardResult", "walk_forward", "windows"]


@dataclass(frozen=True)
class WalkForwardResult:
    """The windows, the parameters chosen in each, the stitched OOS equity and the decay.

    Attributes
    ----------
    windows
        One row per window: ``window, is_start, is_end, oos_start, oos_end`` (ends
        exclusive), the chosen parameters, ``is_objective``, ``oos_objective``,
        ``oos_return`` and ``oos_run_id`` when saved.
    equity
        ``ts, window, returns, equity``: the OOS bars of every window, capital continuing.
    decay
        Mean OOS / IS objective ratio (see the module docstring); None without a usable
        window.
    objective, maximize
        How the parameters were chosen.
    """

    windows: pl.DataFrame
    equity: pl.DataFrame
    decay: float | None
    objective: str
    maximize: bool


def windows(
    ts: pl.Series, in_sample: int | str, out_of_sample: int | str, *, anchored: bool = False
) -> list[tuple[Any, Any, Any, Any]]:
    """Return ``(is_start, is_end, oos_start, oos_end)`` times (ends exclusive) per window.

    ``ts`` is the bars' times; counts are of distinct times. The last OOS window may be
    shorter; it ends after the last bar.

    Examples
    --------
    >>> ts = pl.Series(range(10))
    >>> windows(ts, 4, 3)
    [(0, 4, 4, 7), (3, 7, 7, 10)]
    >>> windows(ts, 4, 3, anchored=True)[1]
    (0, 7, 7, 10)
    """
    times = ts.unique().sort()
    if times.len() == 0:
        return []
    if isinstance(in_sample, int) != isinstance(out_of_sample, int):
        raise ConfigError("in_sample and out_of_sample must both be bar counts or both spans")
    if isinstance(in_sample, int) and isinstance(out_of_sample, int):
        return _by_count(times, in_sample, out_of_sample, anchored)
    return _by_span(times, str(in_sample), str(out_of_sample), anchored)


def _after(times: pl.Series, last: Any) -> Any:
    # an exclusive end after the last bar: one step past it
    step = times[-1] - times[-2] if times.len() > 1 else 1
    return last + step


def _by_count(
    times: pl.Series, size: int, step: int, anchored: bool
) -> list[tuple[Any, Any, Any, Any]]:
    if size < 1 or step < 1:
        raise ConfigError(f"window sizes must be >= 1, got {size} and {step}")
    n = times.len()
    out: list[tuple[Any, Any, Any, Any]] = []
    end = _after(times, times[-1])
    for oos_start in range(size, n, step):
        start = 0 if anchored else oos_start - size
        oos_end = times[oos_start + step] if oos_start + step < n else end
        out.append((times[start], times[oos_start], times[oos_start], oos_end))
    return out


def _by_span(
    times: pl.Series, size: str, step: str, anchored: bool
) -> list[tuple[Any, Any, Any, Any]]:
    first, last = times[0], times[-1]
    frame = pl.DataFrame({"t": [first]}).with_columns(
        a=pl.col("t").dt.offset_by(size), b=pl.col("t").dt.offset_by(step)
    )
    boundary = frame.item(0, "a")
    span = frame.item(0, "b") - first
    if span.total_seconds() <= 0 or boundary <= first:
        raise ConfigError(f"window spans must be positive, got {size!r} and {step!r}")
    out: list[tuple[Any, Any, Any, Any]] = []
    oos_start = boundary
    length = boundary - first
    while oos_start <= last:
        start = first if anchored else oos_start - length
        out.append((start, oos_start, oos_start, oos_start + span))
        oos_start = oos_start + span
    return out


def _slice(bars: Any, start: Any, end: Any) -> Any:
    if isinstance(bars, StoreBars):
        return replace(bars, start=start.isoformat(), end=end.isoformat())
    return bars.filter((pl.col("ts") >= start) & (pl.col("ts") < end))


def walk_forward(
    bars: pl.DataFrame | pl.LazyFrame | StoreBars,
    policy: Any,
    grid: Mapping[str, Iterable[Any]] | None = None,
    *,
    in_sample: int | str,
    out_of_sample: int | str,
    anchored: bool = False,
    objective: str = "sharpe_ratio",
    maximize: bool = True,
    space: Space | None = None,
    n: int | None = None,
    seed: int = 0,
    metrics: Sequence[str] = DEFAULT_METRICS,
    constraints: Callable[[dict[str, Any]], bool] | None = None,
    executor: Executor | None = None,
    memory_budget: int = 512 * 2**20,
    save_to: Store | None = None,
    tag: str = "walkforward",
    progress: Any = None,
    **options: Any,
) -> WalkForwardResult:
    """Choose parameters per IS window by ``objective``, trade them OOS, stitch the OOS.

    ``options`` are the backtest options (``cash``, ``costs``, ``sizing``, ``execution``,
    ``allow_short``, ``periods_per_year``); the rest are as in
    :func:`~houseedge.research.sweep.sweep`. See the module docstring for the semantics.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> from houseedge.data.synthetic import synthetic_bars
    >>> bars = synthetic_bars(["A"], periods=400, timeframe="1d", seed=4)
    >>> wf = walk_forward(bars, SmaCross, {"fast": [5, 10], "slow": [20, 40]},
    ...                   in_sample=200, out_of_sample=100)
    >>> wf.windows.select("window", "fast", "slow").height, wf.equity.height
    (2, 200)
    """
    frame = load(bars)
    cash = float(options.get("cash", 100_000.0))
    cuts = windows(frame.get_column("ts"), in_sample, out_of_sample, anchored=anchored)
    if not cuts:
        raise ConfigError("no walk-forward window fits the bars")
    task = progress.add_task("walk-forward", total=len(cuts)) if progress is not None else None
    rows: list[dict[str, Any]] = []
    pieces: list[pl.DataFrame] = []
    wealth = cash
    for k, (is_start, is_end, oos_start, oos_end) in enumerate(cuts):
        chosen = sweep(
            _slice(bars, is_start, is_end),
            policy,
            grid,
            space=space,
            n=n,
            seed=seed,
            objective=objective,
            maximize=maximize,
            metrics=metrics,
            constraints=constraints,
            executor=executor,
            memory_budget=memory_budget,
            save_to=save_to,
            tag=f"{tag}:w{k}:is",
            **options,
        )
        best = chosen.best
        params = {name: best[name] for name in chosen.params}
        run = backtest(
            _slice(frame, is_start, oos_end),
            policy(**params),
            **{k: v for k, v in options.items() if k != "finalize"},
        )
        oos = run.equity.filter(pl.col("ts") >= oos_start).select("ts", "returns")
        growth = (1.0 + oos.get_column("returns")).cum_prod() * wealth
        pieces.append(oos.with_columns(window=pl.lit(k), equity=growth))
        oos_value = _objective(oos, objective, options.get("periods_per_year", 252))
        row = {"window": k, "is_start": is_start, "is_end": is_end, "oos_start": oos_start}
        row |= {"oos_end": oos_end} | params
        row |= {"is_objective": best[objective], "oos_objective": oos_value}
        row["oos_return"] = float(growth[-1] / wealth - 1.0) if growth.len() else 0.0
        if save_to is not None:
            row["oos_run_id"] = save_run(run, save_to, tag=f"{tag}:w{k}:oos")
        wealth = float(growth[-1]) if growth.len() else wealth
        rows.append(row)
        if progress is not None:
            progress.advance(task, 1)
    table = pl.DataFrame(rows, strict=False)
    equity = pl.concat(pieces).select("ts", "window", "returns", "equity")
    return WalkForwardResult(table, equity, _decay(table), objective, maximize)


def _objective(oos: pl.DataFrame, objective: str, periods_per_year: float) -> float | None:
    if objective in RETURN_METRICS:
        return oos.select(RETURN_METRICS[objective]("returns", periods_per_year)).item()
    from houseedge.research.metrics import summary

    values = summary(oos, "returns", periods_per_year=periods_per_year)
    if objective not in values.columns:
        raise ConfigError(
            f"walk-forward objective {objective!r} is not a return metric of the OOS window; "
            f"use one of {', '.join(values.columns)}"
        )
    return values.item(0, objective)


def _decay(table: pl.DataFrame) -> float | None:
    ratio = (pl.col("oos_objective") / pl.col("is_objective")).fill_nan(None)
    usable = table.filter(pl.col("is_objective") != 0).select(ratio.mean())
    value = usable.item() if usable.height else None
    return None if value is None else float(value)
