"""Runs as data: save, load, re-save and query backtest runs in a real store on tmp_path."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import BuyAndHold, EmaCross, SmaCross
from houseedge.data.store._store import Store
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.errors import DatasetNotFound, InvalidData
from houseedge.research.backtest import BacktestResult, backtest
from houseedge.research.runs import bars_fingerprint, list_runs, load_run, save_run, save_runs

HEADLINE_QUERY = """
    SELECT run_id, params, sharpe_ratio FROM run_metrics
    WHERE policy = 'sma_cross' AND sharpe_ratio > {threshold}
      AND data_start >= '2010-01-01' AND data_end < '2013-01-01'
    ORDER BY sharpe_ratio DESC
"""


def daily(symbols: list[str], periods: int = 300, start: str = "2010-01-01") -> pl.DataFrame:
    return synthetic_bars(
        symbols, periods=periods, timeframe="1d", start=start, seed=5, session="equity"
    )


def rising(symbol: str, start: str, periods: int) -> pl.DataFrame:
    """Bars that climb steadily with a small wiggle: a trend follower's Sharpe is high."""
    step = pl.int_range(periods, eager=True).cast(pl.Float64)
    close = 100.0 * (0.001 * step + 0.002 * step.sin()).exp()
    ts = pl.datetime_range(
        pl.lit(start).str.to_datetime(time_zone="UTC"),
        pl.lit(start).str.to_datetime(time_zone="UTC") + pl.duration(days=periods - 1),
        "1d",
        eager=True,
    )
    return pl.DataFrame(
        {"symbol": symbol, "timeframe": "1d", "ts": ts, "open": close * 0.999,
         "high": close * 1.002, "low": close * 0.997, "close": close, "volume": 1e6}
    )  # fmt: skip


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def files_state(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in root.rglob("*.parquet")
    }


def test_a_saved_run_loads_back_with_identical_frames_and_metrics(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = daily(["AAA", "BBB"])
    costs = LinearCostModel(commission_bps=10)
    result = backtest(bars, SmaCross(5, 20, "long_short"), costs=costs, finalize=None)
    assert result.open_trades.height > 0, "the run must end with open lots to check them"
    run_id = save_run(result, store, bars=bars, seed=7, tag="roundtrip", notes="a note")
    record = load_run(store, run_id)

    assert record.trades.equals(result.trades)
    assert record.open_trades.equals(result.open_trades.select(record.open_trades.columns))
    assert record.orders.equals(result.orders)
    assert record.equity.equals(result.equity)
    assert record.positions.equals(result.positions)
    assert set(record.metrics) == set(result.metrics)
    assert all(same(record.metrics[k], v) for k, v in result.metrics.items())
    rebuilt = record.result()
    assert rebuilt.params == result.params
    assert all(same(rebuilt.metrics[k], v) for k, v in result.metrics.items())

    run = record.run
    assert run["policy"] == "sma_cross" and run["symbols"] == ["AAA", "BBB"]
    assert orjson.loads(run["params"]) == {
        "fast": 5, "slow": 20, "mode": "long_short", "signal": "level"
    }  # fmt: skip
    assert orjson.loads(run["costs_params"])["commission_bps"] == 10
    assert run["timeframe"] == "1d" and run["bars"] == result.equity.height
    assert run["data_start"] == bars["ts"].min() and run["data_end"] == bars["ts"].max()
    assert run["data_fingerprint"] == bars_fingerprint(bars)
    assert (run["seed"], run["tag"], run["notes"]) == (7, "roundtrip", "a note")
    assert run["code_version"] and run["package_version"]


def test_saving_the_same_run_again_rewrites_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = daily(["AAA"])
    first = save_run(backtest(bars, SmaCross(5, 20)), store, bars=bars, tag="keep")
    before = files_state(tmp_path)
    created = store.read("runs")["created_at"].to_list()
    assert save_run(backtest(bars, SmaCross(5, 20)), store, bars=bars) == first
    # a stored run rebuilt from its frames is the same run
    assert save_run(load_run(store, first).result(), store, bars=bars) == first
    assert files_state(tmp_path) == before
    runs = store.read("runs")
    assert runs["created_at"].to_list() == created and runs["tag"].to_list() == ["keep"]


def test_saving_one_more_run_writes_only_its_own_result_files(tmp_path: Path) -> None:
    """Runs saved one by one stay linear: earlier runs' result files are never rewritten."""
    store, bars = Store(tmp_path), daily(["AAA"])
    first = save_run(backtest(bars, SmaCross(5, 20)), store, bars=bars)
    before = {k: v for k, v in files_state(tmp_path).items() if f"run_id={first}" in k}
    assert len(before) == 4, "one file per result dataset for the first run"
    second = save_run(backtest(bars, SmaCross(6, 20)), store, bars=bars)
    after = files_state(tmp_path)
    assert {k: after[k] for k in before} == before
    assert sum(f"run_id={second}" in k for k in after) == 4
    assert load_run(store, second).equity.height == bars.height


def test_different_params_and_data_are_different_runs(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars, other = daily(["AAA"]), daily(["AAA"], start="2014-01-01")
    ids = {
        save_run(backtest(bars, SmaCross(5, 20)), store, bars=bars),
        save_run(backtest(bars, SmaCross(5, 30)), store, bars=bars),
        save_run(backtest(other, SmaCross(5, 20)), store, bars=other),
    }
    assert len(ids) == 3
    assert store.sql("SELECT count(*) AS n FROM runs")["n"][0] == 3
    assert store.read("run_equity").height == bars.height + bars.height + other.height


def test_an_explicit_run_id_that_holds_other_results_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = daily(["AAA"])
    save_run(backtest(bars, SmaCross(5, 20)), store, run_id="mine")
    with pytest.raises(InvalidData, match="already stored with different results"):
        save_run(backtest(bars, SmaCross(5, 30)), store, run_id="mine")
    assert orjson.loads(load_run(store, "mine").run["params"])["slow"] == 20


def test_the_headline_sql_query_finds_the_right_run(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = daily(["SYN"], periods=700)  # ends in 2012
    up_early, up_late = rising("UP", "2010-01-01", 900), rising("UP", "2014-01-01", 400)
    runs = {
        "a": backtest(bars, SmaCross(5, 20)),
        "b": backtest(bars, SmaCross(10, 50)),
        "other_policy": backtest(up_early, EmaCross(5, 20)),
        "other_years": backtest(up_late, SmaCross(5, 20)),
    }
    sharpe = {name: result.metrics["sharpe_ratio"] for name, result in runs.items()}
    threshold = (sharpe["a"] + sharpe["b"]) / 2
    assert sharpe["a"] != sharpe["b"]
    # without the policy and date filters these two would match: the filters are tested
    assert min(sharpe["other_policy"], sharpe["other_years"]) > threshold
    ids = {name: save_run(result, store) for name, result in runs.items()}

    found = store.sql(HEADLINE_QUERY.format(threshold=threshold))
    best = "a" if sharpe["a"] > sharpe["b"] else "b"
    assert found["run_id"].to_list() == [ids[best]]
    assert found["sharpe_ratio"][0] == pytest.approx(sharpe[best])
    slow = store.sql("SELECT run_id, params->>'slow' AS slow FROM runs ORDER BY slow")
    assert dict(slow.iter_rows())[ids["b"]] == "50"


def test_save_runs_writes_a_batch_once_with_the_ids_of_single_saves(tmp_path: Path) -> None:
    bars = daily(["AAA"], periods=150)
    results = [backtest(bars, SmaCross(f, 30)) for f in (5, 10)]
    batch = Store(tmp_path / "batch")
    ids = save_runs([*results, results[0]], batch, bars=bars, tag="sweep")
    single = Store(tmp_path / "single")
    assert ids[:2] == [save_run(r, single, bars=bars) for r in results] and ids[2] == ids[0]
    assert sorted(list_runs(batch, tag="sweep")["run_id"]) == sorted(set(ids))
    assert batch.read("run_equity").height == 2 * bars.height


def test_list_runs_filters_on_run_columns(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = daily(["AAA", "BBB"], periods=120)
    trend = save_run(backtest(bars, SmaCross(5, 20)), store, tag="t")
    hold = save_run(backtest(bars.filter(pl.col("symbol") == "AAA"), BuyAndHold()), store)
    assert list_runs(store, policy="sma_cross")["run_id"].to_list() == [trend]
    assert list_runs(store, symbols="BBB")["run_id"].to_list() == [trend]
    assert list_runs(store, tag=None)["run_id"].to_list() == [hold]
    assert list_runs(store)["sharpe_ratio"].null_count() == 0
    with pytest.raises(ValueError, match="unknown run filter 'colour'"):
        list_runs(store, colour="red")


def test_an_unknown_run_id_is_dataset_not_found(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(DatasetNotFound, match="no run 'nope'") as caught:
        load_run(store, "nope")
    assert caught.value.field == "run_id"


def test_store_files_and_bars_are_fingerprinted(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = daily(["AAA"], periods=100)
    store.write("bars", bars)
    files = store.files("bars", symbols=["AAA"])
    result: BacktestResult = backtest(bars, SmaCross(5, 20))
    run_id = save_run(result, store, bars=bars, data_files=files)
    run = load_run(store, run_id).run
    manifest = orjson.loads(run["data_files"])
    assert [m["path"] for m in manifest] == [f.relative_to(tmp_path).as_posix() for f in files]
    assert manifest[0]["sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()
    assert run["files_fingerprint"]
    changed = bars.with_columns(close=pl.when(pl.int_range(pl.len()) == 50).then(
        pl.col("close") * 1.0001).otherwise(pl.col("close")))  # fmt: skip
    assert bars_fingerprint(changed) != bars_fingerprint(bars)
    assert (
        bars_fingerprint(bars.sample(fraction=1.0, shuffle=True, seed=1)) == run["data_fingerprint"]
    )
