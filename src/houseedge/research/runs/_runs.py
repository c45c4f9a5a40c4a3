"""Backtest runs as data: save a result into the store, load it back, find runs in SQL.

:func:`save_run` (and :meth:`BacktestResult.save`) writes one run into six datasets:

``runs``
    One row per run: ``run_id``, ``config_id``, ``policy``, ``params`` (JSON), ``symbols``,
    ``timeframe``, ``data_start``/``data_end`` (first and last equity time), ``bars``,
    ``data_fingerprint``, ``data_files`` (JSON: path, bytes and sha256 of each store file read)
    and ``files_fingerprint``, ``package_version``, ``code_version`` (``git describe`` of the
    source tree, else the package version), ``seed``, cash, execution, finalize, allow_short,
    periods_per_year, costs/sizing names and parameters (JSON), every backtest parameter
    (``backtest_params``, JSON: exits, rebalancing, ...), ``result_digest``,
    ``created_at``, ``tag``, ``notes``.
``run_metrics``
    One row per run with one column per scalar metric (``sharpe_ratio``, ``max_drawdown``,
    ``trades``, ...), repeating the run's policy, params, symbols, timeframe, data range, tag
    and creation time, so the usual question is one query on one table.
``run_trades``, ``run_orders``, ``run_equity``, ``run_positions``
    The result's frames with ``run_id`` and ``policy`` (open lots are trades with
    ``open = true``; ``trade_no``/``fill_no`` keep the engine's order).

Which runs of sma_cross had a Sharpe ratio above 1 on 2010-2012::

    SELECT run_id, params, sharpe_ratio, max_drawdown
    FROM run_metrics
    WHERE policy = 'sma_cross' AND sharpe_ratio > 1
      AND data_start >= '2010-01-01' AND data_end < '2013-01-01'
    ORDER BY sharpe_ratio DESC

(``params->>'fast'`` reads a parameter; join ``runs`` or ``run_equity`` on ``run_id`` for more.)

Run ids
    Content addressed: ``config_id`` is a hash of what defined the run (every backtest
    parameter: policy and its parameters, costs, sizing, execution, exits, cash, finalize,
    shorts, annualisation; the data fingerprint; the seed);
    ``run_id`` hashes it with a digest of the results. Saving the same run again changes
    nothing (its ``created_at`` is kept); a code change that alters the results gives a new
    run beside the old one, never a mix of both, and ``config_id`` groups them. An explicit
    ``run_id`` that already holds different results is refused.
Data fingerprint
    ``data_fingerprint`` hashes the bars the backtest ran on (rows sorted by symbol,
    timeframe, ts; every column), when given; else the closes the result saw (``positions``).
Layout
    ``runs`` and ``run_metrics`` are one file each (a row per run: 10,000 runs are a few MB).
    The result datasets are partitioned by policy and run (``policy=…/run_id=…``): saving a
    run writes only its own files, so saving runs one by one stays linear in their number,
    and :func:`load_run` opens only the run's files. :func:`save_runs` saves a sweep in one
    atomic write (all its runs land, or none).

Examples
--------
>>> import tempfile
>>> from houseedge.core.policies.builtin import SmaCross
>>> from houseedge.data.store import Store
>>> from houseedge.data.synthetic import synthetic_bars
>>> from houseedge.research.backtest import backtest
>>> store = Store(tempfile.mkdtemp())
>>> bars = synthetic_bars(["AAA"], periods=200, timeframe="1d", seed=3)
>>> run_id = save_run(backtest(bars, SmaCross(5, 20)), store, bars=bars)
>>> run_id == save_run(backtest(bars, SmaCross(5, 20)), store, bars=bars)  # idempotent
True
>>> record = load_run(store, run_id)
>>> record.run["policy"], record.trades.height == record.metrics["trades"]
('sma_cross', True)
>>> store.sql("SELECT policy, params->>'slow' AS slow FROM run_metrics").row(0)
('sma_cross', '20')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from houseedge import logs
from houseedge.errors import DatasetNotFound, InvalidData
from houseedge.research.backtest import BacktestResult
from houseedge.research.runs import _datasets as ds
from houseedge.research.runs._fingerprint import (
    bars_fingerprint,
    canonical,
    file_manifest,
    frame_digest,
    sha,
)
from houseedge.research.runs._rows import Inputs, Run, code_version, frames_of, prepare

if TYPE_CHECKING:
    from houseedge.data.store import Store

__all__ = [
    "RunRecord",
    "bars_fingerprint",
    "code_version",
    "frame_digest",
    "list_runs",
    "load_run",
    "save_run",
    "save_runs",
]

log = logs.get_logger("houseedge.research.runs._runs")


@dataclass(frozen=True)
class RunRecord:
    """A stored run: its ``runs`` row, its metrics and its frames as the backtest returned them."""

    run: dict[str, Any]
    metrics: dict[str, Any]
    trades: pl.DataFrame
    open_trades: pl.DataFrame
    orders: pl.DataFrame
    equity: pl.DataFrame
    positions: pl.DataFrame

    def result(self) -> BacktestResult:
        """Return the run as a :class:`BacktestResult` (metrics recomputed from its frames)."""
        params = orjson.loads(self.run["backtest_params"])
        return BacktestResult(
            self.orders, self.trades, self.open_trades, self.equity, self.positions, params
        )


def _inputs(
    store: Store,
    *,
    data_fingerprint: str | None,
    bars: pl.DataFrame | pl.LazyFrame | None,
    data_files: Sequence[str | Path] | None,
    timeframe: str | None,
    seed: int | None,
    tag: str | None,
    notes: str | None,
) -> Inputs:
    fingerprint = data_fingerprint or (bars_fingerprint(bars) if bars is not None else None)
    files = files_fingerprint = None
    if data_files is not None:
        manifest = canonical(file_manifest([Path(f) for f in data_files], store.root))
        files, files_fingerprint = manifest.decode(), sha(manifest)
    now = dt.datetime.now(dt.UTC)
    return Inputs(fingerprint, files, files_fingerprint, timeframe, seed, tag, notes, now)


def save_run(
    result: BacktestResult,
    store: Store,
    *,
    run_id: str | None = None,
    data_fingerprint: str | None = None,
    bars: pl.DataFrame | pl.LazyFrame | None = None,
    data_files: Sequence[str | Path] | None = None,
    timeframe: str | None = None,
    seed: int | None = None,
    tag: str | None = None,
    notes: str | None = None,
) -> str:
    """Write a backtest result into the run datasets and return its run id.

    Parameters
    ----------
    result
        The backtest result.
    store
        The store to write into (all six datasets land together or not at all).
    run_id
        The id to save under; default: content addressed (see the module docstring).
    data_fingerprint, bars
        The input's fingerprint, or the bars to compute it from (:func:`bars_fingerprint`);
        default: a hash of the closes in ``result.positions``.
    data_files
        Store files the bars were read from: their paths, sizes and sha256 are recorded.
    timeframe
        The bars' timeframe; default: inferred from the median time step (``1d``, ``1h``).
    seed, tag, notes
        Recorded as given (the seed is part of the run's definition; tag and notes are not).

    Raises
    ------
    InvalidData
        ``run_id`` is already stored with different results.
    """
    inputs = _inputs(
        store,
        data_fingerprint=data_fingerprint,
        bars=bars,
        data_files=data_files,
        timeframe=timeframe,
        seed=seed,
        tag=tag,
        notes=notes,
    )
    run = prepare(result, inputs, run_id)
    _write(store, [run])
    return run.run_id


def save_runs(
    results: Iterable[BacktestResult],
    store: Store,
    *,
    data_fingerprint: str | None = None,
    bars: pl.DataFrame | pl.LazyFrame | None = None,
    data_files: Sequence[str | Path] | None = None,
    timeframe: str | None = None,
    seed: int | None = None,
    tag: str | None = None,
    notes: str | None = None,
) -> list[str]:
    """Save many results (a sweep over the same data) in one store write; return their ids.

    The options apply to every run; see :func:`save_run`.

    Examples
    --------
    >>> import tempfile
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> from houseedge.data.store import Store
    >>> from houseedge.data.synthetic import synthetic_bars
    >>> from houseedge.research.backtest import backtest
    >>> store, bars = Store(tempfile.mkdtemp()), synthetic_bars(["A"], periods=100)
    >>> ids = save_runs([backtest(bars, SmaCross(f, 30)) for f in (5, 10)], store, bars=bars)
    >>> list_runs(store).get_column("run_id").sort().to_list() == sorted(ids)
    True
    """
    inputs = _inputs(
        store,
        data_fingerprint=data_fingerprint,
        bars=bars,
        data_files=data_files,
        timeframe=timeframe,
        seed=seed,
        tag=tag,
        notes=notes,
    )
    runs = [prepare(result, inputs, None) for result in results]
    _write(store, runs)
    return [run.run_id for run in runs]


def _write(store: Store, runs: list[Run]) -> None:
    unique = {run.run_id: run for run in runs}  # a batch may hold the same run twice
    if not unique:
        return
    stored = (
        store.scan("runs")
        .filter(pl.col("run_id").is_in(list(unique)))
        .select("run_id", "result_digest", "created_at", "tag", "notes")
        .collect()
    )
    for run_id, digest in stored.select("run_id", "result_digest").iter_rows():
        if digest != unique[run_id].digest:
            raise InvalidData(
                f"run {run_id!r} is already stored with different results",
                source="runs",
                field="run_id",
                expected="a new run_id, or none (ids are content addressed)",
            )
    # a re-saved run keeps its creation time (and its tag and notes unless new ones are
    # given), so saving it again rewrites nothing
    first = stored.drop("result_digest")

    def rows(frame: pl.DataFrame) -> pl.DataFrame:
        old = first.select("run_id", *(c for c in first.columns[1:] if c in frame.columns))
        joined = frame.join(old, on="run_id", how="left", suffix="_stored")
        kept = old.columns[1:]
        return joined.with_columns(
            pl.coalesce(f"{c}_stored", c).alias(c)
            if c == "created_at"
            else pl.coalesce(c, f"{c}_stored").alias(c)
            for c in kept
        ).drop(f"{c}_stored" for c in kept)

    table, metrics = frames_of(list(unique.values()))
    items: list[tuple[str, pl.DataFrame]] = [("runs", rows(table)), ("run_metrics", rows(metrics))]
    items += [
        (name, pl.concat([run.frames[name] for run in unique.values()]))
        for name in ds.RESULT_DATASETS
    ]
    store.write_many(items, source="save_run")
    log.info("runs_saved", runs=len(unique), resaved=stored.height)


def load_run(store: Store, run_id: str) -> RunRecord:
    """Return a stored run: its ``runs`` row, metrics, trades, fills, equity and positions.

    Raises
    ------
    DatasetNotFound
        No run has this id.
    """
    found = store.scan("runs").filter(pl.col("run_id") == run_id).collect()
    if found.height == 0:
        raise DatasetNotFound(
            f"no run {run_id!r} in the store",
            source=str(store.root / "runs"),
            field="run_id",
            expected="a run id listed by `houseedge runs` (list_runs)",
        )
    run = found.row(0, named=True)
    folder = {"policy": run["policy"], "run_id": run_id}

    def part(name: str) -> pl.DataFrame:
        return store.scan(name, partition=folder).drop("run_id", "policy").collect()

    trades, open_trades = ds.split_trades(part("run_trades"))
    metrics = store.scan("run_metrics").filter(pl.col("run_id") == run_id).collect()
    return RunRecord(
        run=run,
        metrics=metrics.select(list(ds.METRIC_COLUMNS)).row(0, named=True)
        if metrics.height
        else {},
        trades=trades,
        open_trades=open_trades,
        orders=part("run_orders").sort("fill_no").drop("fill_no"),
        equity=part("run_equity").sort("ts"),
        positions=part("run_positions").sort("symbol", "ts"),
    )


def list_runs(store: Store, **filters: object) -> pl.DataFrame:
    """Return the stored runs with their metrics, oldest first, filtered by ``runs`` columns.

    A filter is ``column=value`` (equality; ``None`` matches null); ``symbols="X"`` keeps the
    runs that traded X.

    Examples
    --------
    >>> import tempfile
    >>> from houseedge.data.store import Store
    >>> list_runs(Store(tempfile.mkdtemp()), policy="sma_cross").height
    0
    """
    frame = store.scan("runs")
    for name, value in filters.items():
        if name not in ds.RUN_COLUMNS:
            known = ", ".join(ds.RUN_COLUMNS)
            raise ValueError(f"unknown run filter {name!r}; filters are runs columns: {known}")
        column = pl.col(name)
        if name == "symbols":
            frame = frame.filter(column.list.contains(pl.lit(value, pl.String)))
        else:
            frame = frame.filter(column.is_null() if value is None else column == value)
    metrics = store.scan("run_metrics").select("run_id", *ds.METRIC_COLUMNS)
    return frame.join(metrics, on="run_id", how="left").sort("created_at", "run_id").collect()
