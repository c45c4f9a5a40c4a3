"""Parameter sweeps: grid and random search over a policy's parameters.

:func:`sweep` backtests every parameter set and returns one row per set: the parameters and
the metrics, the best set by an objective, and the run ids when the runs are saved.

Fast path
    A policy class with a registered decomposition (``SmaCross`` and ``EmaCross`` built in;
    see ``houseedge.research.sweep._kernel`` and :func:`register_decomposition`) is evaluated
    indicator-first: every distinct indicator of the grid (each SMA window once, all sharing
    one exact pass) in one pass, then the targets of a chunk of parameter sets (in NumPy for
    ``SmaCross``'s level signal, else as columns of one Polars ``select``), and each target
    through the backtest engine's own steps. The bars are prepared once. Each set's fills,
    trades and equity equal ``backtest()``'s.
    Any other policy takes the general path: one ``backtest()`` per set.
Metrics-only kernel
    When only metrics are kept (no ``save_to``, metrics among ``DEFAULT_METRICS``), with one
    symbol, a ``LinearCostModel`` without borrow, and fractional ``FixedFraction`` sizing
    (without a minimum commission: the engine's closed form) or ``FixedUnits``, a set's fills
    are computed from its target's changes alone, with the engine's formulas in its order
    (``research._sweep_metrics``); final equity, trades and fees are reductions over them. A
    set it does not cover (resized positions, equity lost) runs the engine's steps.
Memory
    Sets are evaluated in chunks sized from ``memory_budget`` (bytes); only the metrics of a
    chunk are kept once it is done.
Metrics
    ``metrics`` names what each row carries (``objective`` is added). The headline return
    metrics, ``final_equity``, ``trades``, ``total_fees`` and ``exposure_time`` are computed
    directly; any other name of :attr:`BacktestResult.metrics` costs the full summary.
Executors
    Shards of the parameter sets run on an executor (:mod:`houseedge.research.sweep.executors`):
    in this process (default), a local process pool or Ray. Give bars as a :class:`StoreBars`
    so workers read the store by path.
Runs
    With ``save_to``, every row is a run in the store (``runs.save_runs`` per chunk: policy,
    parameters, data fingerprint, seed, metrics, ``tag``), so the sweep is SQL.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from houseedge.core.costs import NO_COSTS, CostModel
from houseedge.core.sizing.sizers import FixedFraction, Sizer
from houseedge.errors import ConfigError, PolicyError
from houseedge.research.sweep._kernel import Decomposition, Setup, register_decomposition
from houseedge.research.sweep._shard import (
    CHEAP_METRICS,
    Bars,
    Shard,
    StoreBars,
    evaluate_shard,
    load,
)
from houseedge.research.sweep.executors import Executor, InProcessExecutor

if TYPE_CHECKING:
    from houseedge.data.store import Store

__all__ = [
    "DEFAULT_METRICS",
    "Decomposition",
    "StoreBars",
    "SweepResult",
    "grid_params",
    "random_params",
    "register_decomposition",
    "sweep",
]

DEFAULT_METRICS = CHEAP_METRICS
"""Metrics a sweep row carries by default (all computed without the full summary)."""

SpaceValue = Sequence[Any] | tuple[float, float] | Callable[[random.Random], Any]
Space = Mapping[str, SpaceValue]


@dataclass(frozen=True)
class SweepResult:
    """The rows of a sweep and the best of them.

    Attributes
    ----------
    frame
        One row per evaluated parameter set: the parameters, then the metrics (and
        ``run_id`` when saved), in the order the sets were generated.
    objective, maximize
        The metric the sets are ranked by, and its direction.
    params
        The parameter names (the first columns of ``frame``).
    skipped
        Parameter sets the policy rejected (e.g. ``fast >= slow``), with the reason.
    """

    frame: pl.DataFrame
    objective: str
    maximize: bool
    params: tuple[str, ...]
    skipped: list[tuple[dict[str, Any], str]] = field(
        default_factory=list[tuple[dict[str, Any], str]]
    )

    def ranked(self) -> pl.DataFrame:
        """Return the rows best first (nulls and NaN last)."""
        score = pl.col(self.objective).fill_nan(None)
        return self.frame.sort(score, descending=self.maximize, nulls_last=True)

    @property
    def best(self) -> dict[str, Any]:
        """Return the best row (parameters and metrics) by the objective."""
        ranked = self.ranked()
        if ranked.height == 0:
            raise PolicyError("the sweep evaluated no parameter set")
        return ranked.row(0, named=True)

    @property
    def best_params(self) -> dict[str, Any]:
        """Return the best row's parameters."""
        best = self.best
        return {name: best[name] for name in self.params}

    @property
    def run_ids(self) -> list[str] | None:
        """Return the stored run ids in row order (None when the sweep was not saved)."""
        return self.frame.get_column("run_id").to_list() if "run_id" in self.frame else None


def grid_params(
    grid: Mapping[str, Iterable[Any]], constraints: Callable[[dict[str, Any]], bool] | None = None
) -> list[dict[str, Any]]:
    """Return every combination of the grid's values (first key slowest) that passes.

    Examples
    --------
    >>> grid_params({"fast": [5, 10], "slow": [10, 20]}, lambda p: p["fast"] < p["slow"])
    [{'fast': 5, 'slow': 10}, {'fast': 5, 'slow': 20}, {'fast': 10, 'slow': 20}]
    """
    names = list(grid)
    sets = (dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values()))
    return [p for p in sets if constraints is None or constraints(p)]


def random_params(
    space: Space,
    n: int,
    *,
    seed: int = 0,
    constraints: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Return ``n`` distinct random parameter sets that pass ``constraints`` (seeded).

    A value is a sequence to choose from, a ``(low, high)`` tuple (integers: inclusive
    uniform integers; floats: uniform), or a function of a ``random.Random``. Fewer than ``n``
    come back when the space has fewer distinct passing sets.

    Examples
    --------
    >>> sets = random_params({"fast": (2, 9), "slow": [20, 40]}, 3, seed=1)
    >>> len(sets), sets == random_params({"fast": (2, 9), "slow": [20, 40]}, 3, seed=1)
    (3, True)
    """
    rng = random.Random(seed)  # noqa: S311  # reproducible draws, not secrets
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for _ in range(max(100, 100 * n)):
        if len(out) == n:
            break
        p = {name: _draw(rng, spec) for name, spec in space.items()}
        if constraints is None or constraints(p):
            out.setdefault(tuple(p.values()), p)
    return list(out.values())


def _draw(rng: random.Random, spec: SpaceValue) -> Any:
    if callable(spec):
        return spec(rng)
    if isinstance(spec, tuple) and len(spec) == 2:  # (low, high)
        low, high = spec
        if isinstance(low, int) and isinstance(high, int):
            return rng.randint(low, high)
        return rng.uniform(float(low), float(high))
    return rng.choice(list(spec))


def _valid(
    policy: Any, sets: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    good: list[dict[str, Any]] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for p in sets:
        try:
            policy(**p)
        except (PolicyError, ValueError, TypeError) as error:
            skipped.append((p, str(error)))
        else:
            good.append(p)
    return good, skipped


def _shards(sets: list[dict[str, Any]], count: int) -> list[tuple[int, ...]]:
    # Round-robin: each shard gets a spread of the grid (similar cost per shard).
    count = max(1, min(count, len(sets)))
    return [tuple(range(i, len(sets), count)) for i in range(count)]


def sweep(
    bars: Bars,
    policy: Any,
    grid: Mapping[str, Iterable[Any]] | None = None,
    *,
    space: Space | None = None,
    n: int | None = None,
    seed: int = 0,
    cash: float = 100_000.0,
    costs: CostModel | None = None,
    sizing: Sizer | None = None,
    execution: str = "next_open",
    allow_short: bool | None = None,
    finalize: str | None = None,
    periods_per_year: float = 252,
    objective: str = "sharpe_ratio",
    maximize: bool = True,
    metrics: Sequence[str] = DEFAULT_METRICS,
    constraints: Callable[[dict[str, Any]], bool] | None = None,
    executor: Executor | None = None,
    memory_budget: int = 512 * 2**20,
    save_to: Store | None = None,
    tag: str | None = None,
    progress: Any = None,
    fast: bool = True,
) -> SweepResult:
    """Backtest ``policy`` over every parameter set of a grid (or ``n`` random draws).

    Parameters
    ----------
    bars
        A frame, lazy frame or :class:`StoreBars` (workers read the store by path).
    policy
        A policy class, or any callable building a policy from keyword parameters.
    grid
        ``{name: values}``: every combination. Or give ``space`` and ``n`` (and ``seed``)
        for a random search (see :func:`random_params`).
    cash, costs, sizing, execution, allow_short, finalize, periods_per_year
        As in :func:`~houseedge.research.backtest.backtest`, for every set.
    objective, maximize
        The metric that ranks the sets (added to ``metrics``) and its direction.
    metrics
        The metrics each row carries (see the module docstring).
    constraints
        A predicate on a parameter set; sets the policy rejects are skipped anyway.
    executor
        Where the shards run (default: this process).
    memory_budget
        Bytes one shard may hold for the sets it evaluates at once.
    save_to, tag
        Store every set as a run, tagged ``tag`` (recorded with the seed).
    progress
        A ``rich.progress.Progress`` to advance (the CLI passes one), or None.
    fast
        Use the policy's registered decomposition when it has one.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> from houseedge.data.synthetic import synthetic_bars
    >>> bars = synthetic_bars(["A"], periods=300, timeframe="1d", seed=2)
    >>> result = sweep(bars, SmaCross, {"fast": [5, 10, 40], "slow": [20, 40]})
    >>> result.frame.height, len(result.skipped)  # fast=40, slow=20 and 40, 40 are rejected
    (4, 2)
    >>> result.frame.columns[:4]
    ['fast', 'slow', 'total_return', 'annual_return']
    >>> sorted(result.best_params)
    ['fast', 'slow']
    """
    if (grid is None) == (space is None):
        raise ConfigError("give a grid, or a space with n")
    if grid is not None:
        sets = grid_params(grid, constraints)
    else:
        if n is None:
            raise ConfigError("a random search needs n")
        sets = random_params(space or {}, n, seed=seed, constraints=constraints)
    sets, skipped = _valid(policy, sets)
    names = tuple(grid or space or {})
    wanted = tuple(dict.fromkeys([*metrics, objective]))
    costs = NO_COSTS if costs is None else costs
    sizing = FixedFraction(1.0) if sizing is None else sizing
    setup = Setup(cash, costs, sizing, execution, allow_short, finalize, periods_per_year)
    executor = executor or InProcessExecutor()
    local = isinstance(executor, InProcessExecutor)
    save = _save_options(bars, save_to, seed if space is not None else None, tag)
    shards = [
        Shard(
            bars if local or isinstance(bars, StoreBars) else load(bars),
            policy,
            tuple(sets[i] for i in index),
            index,
            setup,
            wanted,
            memory_budget,
            fast,
            save,
        )
        for index in _shards(sets, 1 if local else executor.workers)
    ]
    task = progress.add_task("sweep", total=len(sets)) if progress is not None else None
    if local:
        step: Callable[[int], None] | None = (
            None if progress is None else (lambda k: progress.advance(task, k))
        )
        frames = [evaluate_shard(s, step) for s in shards]
    else:
        done: Callable[[int], None] | None = (
            None if progress is None else (lambda i: progress.advance(task, len(shards[i].index)))
        )
        frames = executor.map(evaluate_shard, shards, done)
    return _result(sets, names, frames, wanted, objective, maximize, skipped)


def _save_options(
    bars: Bars, store: Store | None, seed: int | None, tag: str | None
) -> dict[str, Any] | None:
    if store is None:
        return None
    from houseedge.research.runs import bars_fingerprint

    options: dict[str, Any] = {"root": str(store.root), "seed": seed, "tag": tag}
    options["data_fingerprint"] = bars_fingerprint(load(bars))
    if isinstance(bars, StoreBars):
        options["timeframe"] = bars.timeframe
    return options


def _result(
    sets: list[dict[str, Any]],
    names: tuple[str, ...],
    frames: list[pl.DataFrame],
    metrics: tuple[str, ...],
    objective: str,
    maximize: bool,
    skipped: list[tuple[dict[str, Any], str]],
) -> SweepResult:
    params = pl.DataFrame(sets, orient="row") if sets else pl.DataFrame()
    params = params.select(names) if sets else pl.DataFrame(schema=dict.fromkeys(names, pl.Int64))
    values = pl.concat([f for f in frames if f.height], how="vertical_relaxed") if sets else None
    if values is None or values.height == 0:
        schema = dict.fromkeys(metrics, pl.Float64)
        return SweepResult(
            pl.concat([params, pl.DataFrame(schema=schema)], how="horizontal"),
            objective,
            maximize,
            names,
            skipped,
        )
    values = values.sort("index").drop("index")
    return SweepResult(
        pl.concat([params, values], how="horizontal"), objective, maximize, names, skipped
    )
