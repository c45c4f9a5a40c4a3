"""Sweeps: the fast path equals backtest() per set, saved rows are runs, executors agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import DonchianBreakout, EmaCross, SmaCross
from houseedge.core.sizing.sizers import FixedFraction
from houseedge.data.store._store import Store
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.research.backtest import backtest
from houseedge.research.runs import load_run
from houseedge.research.sweep import StoreBars, grid_params, random_params, sweep
from houseedge.research.sweep import _kernel as kernel
from houseedge.research.sweep.executors import LocalProcessExecutor

COSTS = LinearCostModel(commission_bps=10)
GRID = {"fast": list(range(2, 22, 2)), "slow": list(range(25, 125, 10))}  # 10 x 10


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    return synthetic_bars(["AAA"], periods=1_500, timeframe="1h", seed=11)


def _same(a: object, b: object) -> None:
    for name in ("orders", "trades", "open_trades", "equity"):
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


@pytest.mark.parametrize(
    ("cls", "extra"),
    [(SmaCross, {}), (SmaCross, {"mode": "long_short", "signal": "cross"}), (EmaCross, {})],
)
def test_fast_path_equals_backtest_for_every_set_of_a_10x10_grid(
    bars: pl.DataFrame, cls: type, extra: dict[str, str]
) -> None:
    sets = [p | extra for p in grid_params(GRID)]
    setup = kernel.Setup(100_000.0, COSTS, FixedFraction(1.0), "next_open", None, None, 252)
    decomposition = kernel.decomposition_of(cls)
    assert decomposition is not None
    prepared = kernel.prepare_bars(bars, setup, decomposition, sets)
    raws = kernel.targets(prepared, decomposition, sets)
    trades = set()
    for params, raw in zip(sets, raws, strict=True):
        policy = cls(**params)
        fast, slow = (
            kernel.run_target(prepared, setup, policy, raw),
            backtest(bars, policy, costs=COSTS),
        )
        _same(fast, slow)
        assert fast.params == slow.params
        trades.add(slow.trades.height)
    assert len(trades) > 10  # the grid's sets really differ


def test_sweep_rows_match_backtest_and_the_general_path(bars: pl.DataFrame) -> None:
    result = sweep(bars, SmaCross, GRID, costs=COSTS)
    assert result.frame.height == 100 and not result.skipped
    general = sweep(bars, SmaCross, GRID, costs=COSTS, fast=False)
    assert_frame_equal(result.frame, general.frame, check_exact=False, rel_tol=1e-12)
    for row in result.frame.sample(5, seed=1).iter_rows(named=True):
        metrics = backtest(bars, SmaCross(row["fast"], row["slow"]), costs=COSTS).metrics
        assert row["final_equity"] == metrics["final_equity"]
        assert row["trades"] == metrics["trades"]
        for name in ("sharpe_ratio", "max_drawdown", "total_fees", "exposure_time"):
            assert row[name] == pytest.approx(metrics[name], rel=1e-12)
    best = result.best
    assert best["sharpe_ratio"] == result.frame.get_column("sharpe_ratio").max()
    worst = sweep(bars, SmaCross, GRID, costs=COSTS, objective="max_drawdown", maximize=False)
    assert worst.best["max_drawdown"] == result.frame.get_column("max_drawdown").min()


def test_small_memory_budget_chunks_give_the_same_rows(bars: pl.DataFrame) -> None:
    grid = {"fast": [3, 5, 8], "slow": [20, 30]}
    whole = sweep(bars, SmaCross, grid, costs=COSTS)
    chunked = sweep(bars, SmaCross, grid, costs=COSTS, memory_budget=1)  # one set per chunk
    assert_frame_equal(whole.frame, chunked.frame)


def test_several_symbols_and_a_full_summary_metric() -> None:
    bars = synthetic_bars(["AAA", "BBB"], periods=600, timeframe="1d", seed=4)
    grid = {"fast": [3, 7], "slow": [15, 30]}
    result = sweep(bars, SmaCross, grid, costs=COSTS, objective="omega_ratio")
    for row in result.frame.iter_rows(named=True):
        expected = backtest(bars, SmaCross(row["fast"], row["slow"]), costs=COSTS).metrics
        assert row["final_equity"] == expected["final_equity"]
        assert row["omega_ratio"] == pytest.approx(expected["omega_ratio"], rel=1e-12)


def test_general_path_for_a_policy_without_a_decomposition(bars: pl.DataFrame) -> None:
    result = sweep(bars, DonchianBreakout, {"entry": [10, 20], "exit": [5, 10]}, costs=COSTS)
    for row in result.frame.iter_rows(named=True):
        policy = DonchianBreakout(entry=row["entry"], exit=row["exit"])
        assert row["final_equity"] == backtest(bars, policy, costs=COSTS).metrics["final_equity"]


def test_random_search_is_seeded_and_constrained(bars: pl.DataFrame) -> None:
    space = {"fast": (2, 30), "slow": [40, 60, 80]}
    a = sweep(bars, SmaCross, space=space, n=6, seed=3, constraints=lambda p: p["fast"] % 2 == 0)
    b = sweep(bars, SmaCross, space=space, n=6, seed=3, constraints=lambda p: p["fast"] % 2 == 0)
    assert_frame_equal(a.frame, b.frame)
    assert a.frame.height == 6 and (a.frame.get_column("fast") % 2 == 0).all()
    assert random_params(space, 6, seed=4) != random_params(space, 6, seed=3)


def test_saved_sweep_rows_are_runs_equal_to_backtest(bars: pl.DataFrame, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    grid = {"fast": [3, 5], "slow": [20, 40]}
    result = sweep(bars, SmaCross, grid, costs=COSTS, save_to=store, tag="grid1")
    ids = result.run_ids
    assert ids is not None and len(set(ids)) == 4
    for row in result.frame.iter_rows(named=True):
        stored = load_run(store, row["run_id"])
        expected = backtest(bars, SmaCross(row["fast"], row["slow"]), costs=COSTS)
        assert_frame_equal(stored.equity, expected.equity, check_exact=True)
        assert stored.run["data_fingerprint"] and stored.run["tag"] == "grid1"
    top = store.sql(
        "SELECT params->>'fast' AS fast, sharpe_ratio FROM run_metrics "
        "WHERE tag = 'grid1' ORDER BY sharpe_ratio DESC LIMIT 1"
    )
    assert int(top.item(0, "fast")) == result.best["fast"]
    assert top.item(0, "sharpe_ratio") == pytest.approx(result.best["sharpe_ratio"], rel=1e-12)


def test_process_executor_reads_the_store_and_agrees(bars: pl.DataFrame, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.write("bars", bars)
    source = StoreBars(store.root, ("AAA",), "1h")
    grid = {"fast": [3, 5, 8], "slow": [20, 40]}
    here = sweep(source, SmaCross, grid, costs=COSTS)
    there = sweep(source, SmaCross, grid, costs=COSTS, executor=LocalProcessExecutor(2))
    assert_frame_equal(here.frame, there.frame)


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "houseedge", *args, "--store", str(store)],
        capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )  # fmt: skip


def test_cli_sweep_prints_the_best_and_saves_runs(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = Store(root)
    store.write("bars", synthetic_bars(["AAA"], periods=300, timeframe="1d", seed=2))
    done = _cli(
        "sweep", "sma_cross", "--grid", "fast=5:15:5", "--grid", "slow=20,40", "-s", "AAA",
        "--save", "--tag", "cli", "--objective", "total_return", store=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6 sets by total_return" in done.stdout and "saved 6 runs" in done.stdout
    stored = store.sql("SELECT count(*) AS n FROM run_metrics WHERE tag = 'cli'")
    assert stored.item(0, "n") == 6
    bad = _cli("sweep", "sma_cross", "--grid", "fast=5:15", "-s", "AAA", store=root)
    assert bad.returncode == 2 and "expected start:stop:step" in bad.stderr
