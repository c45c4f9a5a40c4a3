"""Walk-forward: windows, the choice per IS window, stitched OOS equity, decay, saved runs."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import SmaCross
from houseedge.data.store._store import Store
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.errors import ConfigError
from houseedge.research.backtest import backtest
from houseedge.research.sweep import sweep
from houseedge.research.sweep.walkforward import walk_forward, windows

COSTS = LinearCostModel(commission_bps=5)
GRID = {"fast": [3, 6, 12], "slow": [20, 40]}


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    return synthetic_bars(["AAA"], periods=900, timeframe="1d", seed=8)


def test_rolling_and_anchored_windows_by_count_tile_the_oos(bars: pl.DataFrame) -> None:
    ts = bars.get_column("ts")
    rolling = windows(ts, 300, 200)
    anchored = windows(ts, 300, 200, anchored=True)
    assert len(rolling) == len(anchored) == 3
    for (a, b, c, d), (e, f, g, h) in zip(rolling, anchored, strict=True):
        assert b == c == f == g and d == h and e == ts[0]
        assert ts.filter((ts >= a) & (ts < b)).len() == 300  # rolling IS keeps its length
    for (_, _, _, end), (_, _, start, _) in itertools.pairwise(rolling):
        assert end == start
    assert rolling[-1][3] > ts[-1]


def test_windows_by_time_span(bars: pl.DataFrame) -> None:
    cuts = windows(bars.get_column("ts"), "180d", "90d")
    assert cuts and all(d - c == cuts[0][3] - cuts[0][2] for _, _, c, d in cuts)
    assert all((b - a).days == 180 for a, b, _, _ in cuts)
    with pytest.raises(ConfigError):
        windows(bars.get_column("ts"), 100, "90d")


def test_walk_forward_chooses_in_sample_and_stitches_out_of_sample(bars: pl.DataFrame) -> None:
    result = walk_forward(
        bars, SmaCross, GRID, in_sample=300, out_of_sample=200, costs=COSTS,
        objective="sharpe_ratio",
    )  # fmt: skip
    table, equity = result.windows, result.equity
    assert table.height == 3 and equity.height == 600
    wealth = 100_000.0
    ratios = []
    for row in table.iter_rows(named=True):
        in_sample = bars.filter((pl.col("ts") >= row["is_start"]) & (pl.col("ts") < row["is_end"]))
        best = sweep(in_sample, SmaCross, GRID, costs=COSTS).best
        assert (row["fast"], row["slow"]) == (best["fast"], best["slow"])
        assert row["is_objective"] == best["sharpe_ratio"]
        span = bars.filter((pl.col("ts") >= row["is_start"]) & (pl.col("ts") < row["oos_end"]))
        run = backtest(span, SmaCross(row["fast"], row["slow"]), costs=COSTS)
        oos = run.equity.filter(pl.col("ts") >= row["oos_start"]).get_column("returns")
        mine = equity.filter(pl.col("window") == row["window"])
        assert mine.get_column("returns").to_list() == oos.to_list()
        wealth *= float((1.0 + oos).product())
        assert mine.get_column("equity")[-1] == pytest.approx(wealth, rel=1e-12)
        ratios.append(row["oos_objective"] / row["is_objective"])
    assert result.decay == pytest.approx(sum(ratios) / len(ratios), rel=1e-12)


def test_anchored_walk_forward_saves_tagged_runs(bars: pl.DataFrame, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    result = walk_forward(
        bars, SmaCross, GRID, in_sample=400, out_of_sample=250, anchored=True, costs=COSTS,
        objective="max_drawdown", maximize=False, save_to=store, tag="wf",
    )  # fmt: skip
    assert result.windows.get_column("is_start").n_unique() == 1
    tags = store.sql("SELECT tag, count(*) AS n FROM runs GROUP BY tag ORDER BY tag")
    expected = {f"wf:w{k}:is": 6 for k in range(result.windows.height)}
    expected |= {f"wf:w{k}:oos": 1 for k in range(result.windows.height)}
    assert dict(tags.iter_rows()) == expected


def test_cli_walkforward(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store(root).write("bars", synthetic_bars(["AAA"], periods=500, timeframe="1d", seed=2))
    done = subprocess.run(
        [sys.executable, "-m", "houseedge", "walkforward", "sma_cross", "-g", "fast=3,6",
         "-g", "slow=20:40:20", "-s", "AAA", "--is", "200", "--oos", "100", "--anchored",
         "--store", str(root)],
        capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "stitched OOS equity" in done.stdout and "decay (mean OOS/IS sharpe_ratio)" in done.stdout
    )
