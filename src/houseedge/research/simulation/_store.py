"""Monte Carlo datasets in the store: ``mc_runs``, ``mc_summary`` and ``mc_paths``.

Registered on import, so ``Store.write`` validates them and ``Store.sql`` sees them as views::

    SELECT r.run_id, s.value AS p_ruin FROM mc_runs r JOIN mc_summary s USING (run_id)
    WHERE s.metric = 'p_ruin'
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import orjson
import polars as pl

from houseedge.data.schemas import TS, DatasetSpec, register

if TYPE_CHECKING:
    from houseedge.data.store import Store
    from houseedge.research.simulation._simulate import MonteCarloResult

__all__ = ["MC_PATHS", "MC_RUNS", "MC_SUMMARY", "save_result"]

MC_RUNS = register(
    DatasetSpec(
        name="mc_runs",
        columns={
            "run_id": pl.String(),
            "created_at": TS,
            "model": pl.String(),
            "seed": pl.Int64(),
            "n_paths": pl.Int64(),
            "n_steps": pl.Int64(),
            "source_run_id": pl.String(),
            "config": pl.String(),
        },
        key=("run_id",),
        partitions=(),
        # The store's key-order check compares the key columns after the series columns;
        # naming the last key column here gives it one (nothing is time-filtered).
        time_column="run_id",
        nullable=frozenset({"source_run_id"}),
    )
)
"""One row per simulation: what reproduces it (``config`` is JSON: model, rules, seed)."""

MC_SUMMARY = register(
    DatasetSpec(
        name="mc_summary",
        columns={"run_id": pl.String(), "metric": pl.String(), "value": pl.Float64()},
        key=("run_id", "metric"),
        partitions=("run_id",),
        time_column="metric",  # see MC_RUNS
        nullable=frozenset({"value"}),
    )
)
"""The summary row of a simulation, long: one ``(metric, value)`` per summary column."""

MC_PATHS = register(
    DatasetSpec(
        name="mc_paths",
        columns={
            "run_id": pl.String(),
            "path_id": pl.Int64(),
            "step": pl.Int32(),
            "return": pl.Float64(),
            "wealth": pl.Float64(),
        },
        key=("run_id", "path_id", "step"),
        partitions=("run_id",),
        time_column="step",  # see MC_RUNS
    )
)
"""Every path's returns and wealth (optional: large)."""


def save_result(result: MonteCarloResult, store: Store, *, run_id: str, keep_paths: bool) -> str:
    """Write a result's datasets in one all-or-nothing store write; return the run id."""
    config = result.config
    runs = pl.DataFrame(
        {
            "run_id": [run_id],
            "created_at": [dt.datetime.now(dt.UTC)],
            "model": [str(config["model"].get("model", type(result.model).__name__))],
            "seed": [result.seed],
            "n_paths": [result.n_paths],
            "n_steps": [result.model.n_steps],
            "source_run_id": [result.source_run_id],
            "config": [orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode()],
        }
    )
    summary = (
        result.summary.select(pl.all().cast(pl.Float64))
        .unpivot(variable_name="metric", value_name="value")
        .with_columns(run_id=pl.lit(run_id))
    )
    items: list[tuple[str | DatasetSpec, pl.DataFrame]] = [(MC_RUNS, runs), (MC_SUMMARY, summary)]
    if keep_paths:
        items.append((MC_PATHS, _paths_with_wealth(result).with_columns(run_id=pl.lit(run_id))))
    store.write_many(items, source=f"monte carlo {run_id}")
    return run_id


def _paths_with_wealth(result: MonteCarloResult) -> pl.DataFrame:
    rules = result.rules
    scaled = rules.fraction * pl.col("return")
    if rules.compounding:
        wealth = rules.initial_wealth * (1.0 + scaled).cum_prod().over("path_id")
    else:
        wealth = rules.initial_wealth * (1.0 + scaled.cum_sum().over("path_id"))
    return result.paths.with_columns(wealth=wealth).collect()
