"""A backtest result as the rows of the run datasets: ids, the ``runs`` row, metrics, frames.

``config_id`` hashes what defined the run (every backtest parameter, the data fingerprint, the
seed); ``run_id`` hashes it with a digest of the results (see :mod:`houseedge.research.runs`).
"""

from __future__ import annotations

import datetime as dt
import functools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from houseedge import __version__, logs
from houseedge.research.backtest import BacktestResult
from houseedge.research.runs import _datasets as ds
from houseedge.research.runs._fingerprint import canonical, frame_digest, sha

log = logs.get_logger("houseedge.research.runs._rows")
_ID_LENGTH = 16  # hex digits: 64 bits, no collision in any realistic number of runs


@functools.cache
def code_version() -> str:
    """Return ``git describe --always --dirty --tags`` of the source tree, else the version."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return described or __version__


def timeframe_of(ts: pl.Series) -> str | None:
    """Return a bar-size label (``1d``, ``4h``, ``1m``, ``30s``) from the median time step."""
    if not isinstance(ts.dtype, pl.Datetime) or ts.n_unique() < 2:
        return None
    step = ts.unique().sort().diff().median()
    seconds = round(step.total_seconds()) if isinstance(step, dt.timedelta) else 0
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return None


@dataclass(frozen=True)
class Run:
    run_id: str
    digest: str
    policy: str
    values: dict[str, Any]  # the runs row
    metrics: dict[str, Any]  # its metrics
    frames: dict[str, pl.DataFrame]


@dataclass(frozen=True)
class Inputs:
    fingerprint: str | None
    files: str | None
    files_fingerprint: str | None
    timeframe: str | None
    seed: int | None
    tag: str | None
    notes: str | None
    created_at: dt.datetime


# result.params entries stored as columns of their own (all of them: ``backtest_params``)
_COLUMNS = ("costs", "sizing", "execution", "finalize", "allow_short", "cash", "periods_per_year")


def prepare(result: BacktestResult, inputs: Inputs, run_id: str | None) -> Run:
    rows = ds.result_rows(result)
    digest = _result_digest([rows[name] for name in ds.RESULT_DATASETS])
    closes = rows["run_positions"].select("symbol", "ts", "close")
    fingerprint = inputs.fingerprint or frame_digest(closes)
    params = result.params
    # every parameter the engine reports (exits, rebalancing, ...) defines the run
    definition = _numbers_as_floats(dict(params))
    config_id = sha(canonical(definition | {"data": fingerprint, "seed": inputs.seed}))
    run_id = run_id or sha(config_id, digest)[:_ID_LENGTH]
    policy = str(params["policy"])
    ids = {"run_id": run_id, "config_id": config_id[:_ID_LENGTH], "result_digest": digest}
    values = _run_values(result, inputs, ids | {"data_fingerprint": fingerprint}, closes)
    metrics = {k: v for k, v in result.metrics.items() if k in ds.METRIC_COLUMNS}
    dropped = sorted(set(result.metrics) - set(metrics))
    if dropped:
        log.warning("run_metrics_not_stored", run_id=run_id, metrics=dropped)
    frames = {name: ds.with_run(frame, run_id, policy) for name, frame in rows.items()}
    return Run(run_id, digest, policy, values, metrics, frames)


def _result_digest(frames: Sequence[pl.DataFrame]) -> str:
    """Return a digest of result frames: names, types and 64-bit hashes of every row.

    Row hashes are stable within one Polars version only. An identical rerun after an
    upgrade may then be stored as a second run, never mixed with the first; the input
    fingerprints, which must compare across versions, use :func:`frame_digest`.
    """
    parts: list[str | bytes] = []
    for frame in frames:
        parts += [repr(frame.schema), frame.hash_rows(seed=0).to_numpy().tobytes()]
    return sha(*parts)


def _numbers_as_floats(value: Any) -> Any:
    """Return ``value`` with every number a float: 10 and 10.0 bps define the same run."""
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}  # type: ignore[misc]
    if isinstance(value, list | tuple):
        return [_numbers_as_floats(v) for v in value]  # type: ignore[misc]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _run_values(
    result: BacktestResult, inputs: Inputs, ids: dict[str, str], closes: pl.DataFrame
) -> dict[str, Any]:
    params = result.params
    ts = result.equity.get_column("ts")
    values: dict[str, Any] = ids | {
        "policy": str(params["policy"]),
        "params": canonical(params.get("policy_params", {})).decode(),
        "symbols": sorted(closes.get_column("symbol").unique().to_list()),
        "timeframe": inputs.timeframe or timeframe_of(ts),
        "bars": ts.n_unique(),
        "data_files": inputs.files,
        "files_fingerprint": inputs.files_fingerprint,
        "package_version": __version__,
        "code_version": code_version(),
        "seed": inputs.seed,
        "created_at": inputs.created_at,
        "tag": inputs.tag,
        "notes": inputs.notes,
    }
    values |= {k: params.get(k) for k in (*_COLUMNS, *ds.RUN_CODE_COLUMNS)}
    values["backtest_params"] = canonical(params).decode()
    values |= {k: canonical(params.get(k)).decode() for k in ("costs_params", "sizing_params")}
    # as integer nanoseconds: a Python datetime would drop the nanoseconds
    time = pl.col("ts")
    if isinstance(ts.dtype, pl.Datetime):
        time = time.dt.convert_time_zone("UTC") if ts.dtype.time_zone else time
        time = time.dt.cast_time_unit("ns").to_physical()
    span = result.equity.select(time.min().alias("start"), time.max().alias("end"))
    values["data_start"], values["data_end"] = span.row(0)
    return values


def frames_of(runs: Sequence[Run]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the ``runs`` and ``run_metrics`` rows of a batch, built once for all of it."""
    times = {"data_start": pl.Int64(), "data_end": pl.Int64()}
    types = ds.RUN_COLUMNS | ds.RUN_CODE_COLUMNS | times
    table = pl.DataFrame([r.values for r in runs], schema=types, strict=False)
    context = {k: types[k] for k in ds.METRIC_CONTEXT}
    metrics = pl.DataFrame(
        [{k: r.values[k] for k in context} | r.metrics for r in runs],
        schema=context | ds.METRIC_COLUMNS,
        strict=False,
    )
    return table, metrics
