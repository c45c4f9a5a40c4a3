"""Monte Carlo: resampled and parametric return paths, judged by their wealth distribution.

A *path model* draws ``(n_paths, n_steps)`` simple returns; the paths are a long Polars frame
``path_id, step, return`` (:func:`generate_paths`, lazy), evaluated per path by Polars
expressions (:func:`path_statistics`) and summarised (:func:`summarize`). :func:`simulate` draws
the paths in chunks and reduces each chunk's rows on NumPy tiles to the same per-path numbers
(:mod:`houseedge.research.simulation._kernel`: a third of the time of the long-frame expressions),
so memory stays bounded whatever the number of paths::

    model = StationaryBootstrap(returns_sample(result), mean_block_length=20, n_steps=2520)
    mc = simulate(model, n_paths=10_000, seed=7, fraction=0.5, floor=0.5, target=2.0)
    mc.summary["p_target"], mc.per_path["max_drawdown"].quantile(0.05)
    mc.save(store, run_id="mc-1")   # mc_runs, mc_summary (and mc_paths) in SQL

Models: :class:`IidBootstrap`, :class:`BlockBootstrap`, :class:`StationaryBootstrap` (resample a
run's bar returns or trade returns, with replacement), :class:`Gbm`, :class:`JumpDiffusion`,
:class:`RegimeSwitching`, :class:`BinaryBet`, and :class:`UncertainBinaryBet` (win rate and payoff
redrawn per path from their sampling distributions). Any object with ``n_steps``,
``draw(rng, n_paths)`` and ``config()`` is a :class:`PathModel`.

Seeds: same model and seed give an identical frame; path ``i`` depends only on the seed and
``i``, never on ``n_paths`` or chunking (see :mod:`houseedge.research.simulation._paths`).
Wealth, drawdown, ruin, target and CAGR conventions are in
:mod:`houseedge.research.simulation._stats`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from houseedge.research.simulation._bootstrap import (
    BlockBootstrap,
    IidBootstrap,
    StationaryBootstrap,
    returns_sample,
)
from houseedge.research.simulation._kernel import block_statistics, raw_frame
from houseedge.research.simulation._parametric import BinaryBet, Gbm, JumpDiffusion, RegimeSwitching
from houseedge.research.simulation._paths import (
    PATHS_PER_SEED_BLOCK,
    PathModel,
    block_rng,
    draw_returns,
    generate_paths,
    long_frame,
)
from houseedge.research.simulation._stats import (
    QUANTILES,
    WealthRules,
    finish,
    path_statistics,
    summarize,
    wilson_interval,
)
from houseedge.research.simulation._store import MC_PATHS, MC_RUNS, MC_SUMMARY, save_result
from houseedge.research.simulation._uncertainty import UncertainBinaryBet

if TYPE_CHECKING:
    from houseedge.data.store import Store

__all__ = [
    "MC_PATHS",
    "MC_RUNS",
    "MC_SUMMARY",
    "PATHS_PER_SEED_BLOCK",
    "QUANTILES",
    "BinaryBet",
    "BlockBootstrap",
    "Gbm",
    "IidBootstrap",
    "JumpDiffusion",
    "MonteCarloResult",
    "PathModel",
    "RegimeSwitching",
    "StationaryBootstrap",
    "UncertainBinaryBet",
    "WealthRules",
    "block_rng",
    "draw_returns",
    "generate_paths",
    "long_frame",
    "path_statistics",
    "returns_sample",
    "simulate",
    "summarize",
    "wilson_interval",
]

DEFAULT_CHUNK_ROWS = 1 << 21
"""Returns drawn at once (16 MB); they are reduced on tiles of a few rows, so more buys nothing."""


@dataclass(frozen=True)
class MonteCarloResult:
    """The outcome of :func:`simulate`.

    Attributes
    ----------
    model, rules, n_paths, seed
        What defined the simulation.
    per_path
        One row per path (see :func:`path_statistics`).
    summary
        One row (see :func:`summarize`).
    source_run_id
        The run whose returns or trades were resampled, if any.
    """

    model: PathModel
    rules: WealthRules
    n_paths: int
    seed: int
    per_path: pl.DataFrame
    summary: pl.DataFrame
    source_run_id: str | None = None
    confidence: float = 0.95

    @property
    def paths(self) -> pl.LazyFrame:
        """Return the paths as a lazy long frame, redrawn from the seed on each collection."""
        return generate_paths(self.model, n_paths=self.n_paths, seed=self.seed)

    @cached_property
    def config(self) -> dict[str, Any]:
        """Return everything that reproduces the run, as JSON-able values."""
        return {
            "model": self.model.config(),
            "rules": self.rules.config(),
            "n_paths": self.n_paths,
            "seed": self.seed,
            "confidence": self.confidence,
        }

    @cached_property
    def run_id(self) -> str:
        """Return the default run id: a hash of the configuration (same config, same id)."""
        digest = hashlib.sha256(orjson.dumps(self.config, option=orjson.OPT_SORT_KEYS))
        return "mc-" + digest.hexdigest()[:12]

    def save(self, store: Store, *, run_id: str | None = None, keep_paths: bool = False) -> str:
        """Write ``mc_runs`` and ``mc_summary`` (and ``mc_paths``) to a store; return the run id.

        ``mc_summary`` is long (``run_id, metric, value``); ``mc_paths`` holds ``run_id,
        path_id, step, return, wealth`` and is collected in memory, so keep it for small runs.

        Examples
        --------
        >>> import tempfile
        >>> from houseedge.data.store import Store
        >>> store = Store(tempfile.mkdtemp())
        >>> mc = simulate(Gbm(0.05, 0.2, n_steps=10), n_paths=50, seed=1)
        >>> mc.save(store, run_id="demo")
        'demo'
        >>> store.sql("SELECT value FROM mc_summary WHERE metric = 'n_paths'")["value"][0]
        50.0
        """
        return save_result(self, store, run_id=run_id or self.run_id, keep_paths=keep_paths)


def _evaluate(
    model: PathModel, rules: WealthRules, *, n_paths: int, seed: int, chunk_rows: int
) -> pl.DataFrame:
    # Paths are drawn a chunk at a time and reduced to per-path rows on NumPy tiles (the same
    # floats as path_statistics over the long frame, a third of the time); only those rows
    # are kept, so memory is one chunk of returns whatever n_paths.
    n_steps = model.n_steps
    chunk = max(1, chunk_rows // (PATHS_PER_SEED_BLOCK * max(n_steps, 1))) * PATHS_PER_SEED_BLOCK
    parts = [
        block_statistics(
            draw_returns(model, seed=seed, start=start, stop=min(start + chunk, n_paths)),
            rules,
            first_path=start,
        )
        for start in range(0, n_paths, chunk)
    ]
    return finish(raw_frame(parts, n_steps).lazy(), rules).collect()


def simulate(
    model: PathModel,
    *,
    n_paths: int = 10_000,
    seed: int = 0,
    initial_wealth: float = 1.0,
    fraction: float = 1.0,
    floor: float = 0.0,
    target: float | None = None,
    compounding: bool = True,
    periods_per_year: float = 252,
    confidence: float = 0.95,
    source_run_id: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> MonteCarloResult:
    """Draw ``n_paths`` paths from a model and evaluate each one's wealth.

    Parameters
    ----------
    model
        The path model.
    n_paths, seed
        How many paths, and the seed that makes them reproducible.
    initial_wealth, fraction, floor, target, compounding, periods_per_year
        The :class:`WealthRules`: wealth moves by ``1 + fraction * return`` per step; ruin is
        wealth at or below ``floor``, success wealth at or above ``target`` before ruin.
    confidence
        Level of the Wilson intervals of the ruin and target probabilities.
    source_run_id
        The backtest run the model was fitted to, recorded with the result.
    chunk_rows
        Rows generated and evaluated at once (rounded to whole seed blocks); bounds memory and
        never changes results.

    Examples
    --------
    >>> mc = simulate(BinaryBet(p=0.55, payoff=1.0, n_steps=200), n_paths=1000, seed=3,
    ...     fraction=0.1, floor=0.5, target=2.0)
    >>> mc.per_path.height, mc.summary["n_steps"][0]
    (1000, 200)
    >>> 0 < mc.summary["p_target"][0] < 1
    True
    """
    rules = WealthRules(
        initial_wealth=initial_wealth,
        fraction=fraction,
        floor=floor,
        target=target,
        compounding=compounding,
        periods_per_year=periods_per_year,
    )
    if n_paths < 1:
        raise ValueError(f"n_paths must be >= 1, got {n_paths}")
    per_path = _evaluate(model, rules, n_paths=n_paths, seed=seed, chunk_rows=chunk_rows)
    summary = summarize(per_path, confidence=confidence)
    if target is None:
        summary = summary.with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in summary.columns if "target" in c
        )
    return MonteCarloResult(
        model=model,
        rules=rules,
        n_paths=n_paths,
        seed=seed,
        per_path=per_path,
        summary=summary,
        source_run_id=source_run_id,
        confidence=confidence,
    )
