"""Sweep figures (issue: sweeps and walk-forward), each measured beside its baseline.

Task: SMA crossover fast in {5, 10, ..., 50} x slow in {20, 40, ..., 200} (100 sets) on 1M
synthetic one-minute bars, long-only, all-in fractional units, next-open, 0.1% fee per side:
the reference task of ``test_bench_backtest.py`` over a grid. Before anything is timed, every
set's trade count and final equity must agree across houseedge's sweep, a bare hand-written
Polars sweep and a numba loop. Timings and peak memory are recorded in ``extra_info`` and
printed, not asserted (ratios on a shared machine are noisy): houseedge vs bare Polars (target
<= 1.3x), vs numba (reported), peak memory (target <= 1 GiB), Ray overhead (target <= 1.5x).

Run: ``uv run pytest benchmarks/test_bench_sweep.py -m benchmark --benchmark-enable -s``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import SmaCross
from houseedge.data.store._store import Store
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.research.sweep import StoreBars, sweep
from houseedge.research.sweep.executors import RayExecutor

pytestmark = pytest.mark.benchmark

FEE, CASH, BARS = 0.001, 100_000.0, 1_000_000
FASTS, SLOWS = list(range(5, 55, 5)), list(range(20, 220, 20))
PAIRS = [(f, s) for f in FASTS for s in SLOWS]  # 100; the 90 with fast < slow are valid
FIGURES: dict[str, float] = {}
Outcomes = dict[tuple[int, int], tuple[int, float]]


def make_bars() -> pl.DataFrame:
    bars = synthetic_bars("BENCH", periods=BARS, timeframe="1m", seed=1)
    return bars.select("symbol", "ts", "open", "high", "low", "close")


def run_houseedge(bars: Any, executor: Any = None) -> Outcomes:
    result = sweep(
        bars, SmaCross, {"fast": FASTS, "slow": SLOWS}, costs=LinearCostModel(commission_bps=10),
        metrics=("final_equity", "trades"), objective="final_equity", executor=executor,
    )  # fmt: skip
    return {(r[0], r[1]): (r[3], r[2]) for r in result.frame.iter_rows()}


def run_polars(bars: pl.DataFrame) -> Outcomes:
    """Hand-written Polars: every window's rolling mean once, then one lazy plan per set."""
    close, open_ = pl.col("close"), pl.col("open")
    windows = sorted({*FASTS, *SLOWS})
    base = bars.lazy().select(
        "open", "close", previous_close=close.shift(1),
        **{f"m{n}": close.rolling_mean(n) for n in windows},
    ).collect()  # fmt: skip
    plans = []
    for fast, slow in PAIRS:
        if fast >= slow:
            continue
        held = (pl.col(f"m{fast}") > pl.col(f"m{slow}")).shift(1).fill_null(False)
        plans.append(
            base.lazy()
            .select(open_, close, "previous_close", held=held)
            .with_columns(was=pl.col("held").shift(1, fill_value=False))
            .with_columns(
                entry=pl.col("held") & ~pl.col("was"), exit=~pl.col("held") & pl.col("was")
            )
            .select(
                trades=pl.col("exit").sum(),
                final=CASH * pl.when("entry").then(close / (open_ * (1 + FEE)))
                .when("held").then(close / pl.col("previous_close"))
                .when("exit").then(open_ * (1 - FEE) / pl.col("previous_close"))
                .otherwise(1.0).product(),
            )
        )  # fmt: skip
    frames = pl.collect_all(plans)
    keys = [(f, s) for f, s in PAIRS if f < s]
    return {k: (int(f.item(0, 0)), f.item(0, 1)) for k, f in zip(keys, frames, strict=True)}


@numba.njit(cache=False)
def _loop(open_: Any, close: Any, fast: int, slow: int, cash: float, fee: float) -> Any:
    fast_sum = slow_sum = 0.0
    qty, trades, want = 0.0, 0, False
    for t in range(close.size):
        price = open_[t]
        if want and qty == 0.0:
            qty = cash / (price * (1.0 + fee))
            cash -= qty * price + qty * price * fee
        elif not want and qty > 0.0:
            cash += qty * price - qty * price * fee
            qty = 0.0
            trades += 1  # closed round trips, as the trade summary counts them
        fast_sum += close[t]
        slow_sum += close[t]
        if t >= fast:
            fast_sum -= close[t - fast]
        if t >= slow:
            slow_sum -= close[t - slow]
        want = t >= slow - 1 and fast_sum / fast > slow_sum / slow
    return trades, cash + qty * close[-1]


@numba.njit(parallel=True, cache=False)
def _loops(open_: Any, close: Any, pairs: Any, cash: float, fee: float) -> Any:
    trades, final = np.zeros(pairs.shape[0], np.int64), np.zeros(pairs.shape[0])
    for i in numba.prange(pairs.shape[0]):
        trades[i], final[i] = _loop(open_, close, pairs[i, 0], pairs[i, 1], cash, fee)
    return trades, final


def _valid_pairs() -> np.ndarray[Any, Any]:
    return np.array([(f, s) for f, s in PAIRS if f < s], dtype=np.int64)


def run_numba(bars: pl.DataFrame) -> Outcomes:
    open_, close = bars.get_column("open").to_numpy(), bars.get_column("close").to_numpy()
    return {
        (int(f), int(s)): _loop(open_, close, int(f), int(s), CASH, FEE) for f, s in _valid_pairs()
    }


def run_numba_parallel(bars: pl.DataFrame) -> Outcomes:
    open_, close = bars.get_column("open").to_numpy(), bars.get_column("close").to_numpy()
    pairs = _valid_pairs()
    trades, final = _loops(open_, close, pairs, CASH, FEE)
    return {
        (int(f), int(s)): (int(t), float(e))
        for (f, s), t, e in zip(pairs, trades, final, strict=True)
    }


RUNNERS: dict[str, Callable[[pl.DataFrame], Outcomes]] = {
    "houseedge": run_houseedge, "polars": run_polars, "numba": run_numba,
    "numba_parallel": run_numba_parallel,
}  # fmt: skip


@pytest.fixture(scope="module")
def bars_1m() -> pl.DataFrame:
    return make_bars()


@pytest.fixture(scope="module")
def agreed(bars_1m: pl.DataFrame) -> Outcomes:
    """Every set's trades and final equity agree (this also compiles the numba loops)."""
    outcomes = {name: run(bars_1m) for name, run in RUNNERS.items()}
    reference = outcomes["numba"]
    assert len(reference) == 90  # the sets with fast < slow
    assert min(t for t, _ in reference.values()) > 100
    for name, outcome in outcomes.items():
        assert outcome.keys() == reference.keys(), name
        for key, (trades, final) in reference.items():
            assert outcome[key][0] == trades, (name, key)
            assert math.isclose(outcome[key][1], final, rel_tol=1e-9), (name, key)
    return reference


def _time(fn: Callable[[], Any], rounds: int = 3) -> float:
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_bench_sweep_against_polars_and_numba(
    benchmark: Any, bars_1m: pl.DataFrame, agreed: Outcomes
) -> None:
    for name in ("polars", "numba", "numba_parallel"):
        FIGURES[name] = _time(lambda name=name: RUNNERS[name](bars_1m))
    outcome = benchmark.pedantic(run_houseedge, args=(bars_1m,), rounds=3, iterations=1)
    assert outcome == {k: outcome[k] for k in agreed}
    FIGURES["houseedge"] = benchmark.stats.stats.min
    extra = {f"{k}_s": v for k, v in FIGURES.items()}
    extra |= {
        "vs_polars": FIGURES["houseedge"] / FIGURES["polars"],
        "vs_numba": FIGURES["houseedge"] / FIGURES["numba"],
        "vs_numba_parallel": FIGURES["houseedge"] / FIGURES["numba_parallel"],
    }
    benchmark.extra_info.update(extra)
    print("\nsweep of 100 sets on 1M bars (best of 3):", json.dumps(extra, indent=1))


def test_sweep_peak_memory(benchmark: Any) -> None:
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_bench_sweep import make_bars, run_houseedge
        def status(key):
            for line in open("/proc/self/status"):
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        bars = make_bars()
        before = status("VmRSS:")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        run_houseedge(bars)
        print(json.dumps({{"before": before, "peak": status("VmHWM:")}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    figures = json.loads(done.stdout.splitlines()[-1])
    gib = figures["peak"] / 2**30
    benchmark.extra_info.update(
        peak_gib=gib, above_bars_gib=(figures["peak"] - figures["before"]) / 2**30
    )
    print(f"\nsweep peak memory: {gib:.2f} GiB for the whole process (target <= 1 GiB)")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)


def test_ray_overhead(benchmark: Any, tmp_path: Path, agreed: Outcomes) -> None:
    ray = pytest.importorskip("ray")
    store = Store(tmp_path / "store")
    store.write("bars", synthetic_bars("BENCH", periods=BARS, timeframe="1m", seed=1))
    source = StoreBars(store.root, ("BENCH",), "1m")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        executor = RayExecutor()
        assert run_houseedge(source, executor) == run_houseedge(source)  # warm workers, agree
        local = _time(lambda: run_houseedge(source), rounds=2)
        remote = _time(lambda: run_houseedge(source, executor), rounds=2)
    finally:
        ray.shutdown()
    benchmark.extra_info.update(inprocess_s=local, ray_s=remote, ray_overhead=remote / local)
    print(
        f"\nRay {remote:.2f} s vs in-process {local:.2f} s: {remote / local:.2f}x (target <= 1.5x)"
    )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
