"""Monte Carlo results in a real store on disk, queried through DuckDB SQL."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from houseedge.data.store._store import Store
from houseedge.research.simulation import BinaryBet, Gbm, simulate


def test_save_writes_runs_and_summary_queryable_in_sql(tmp_path: Path) -> None:
    store = Store(tmp_path)
    mc = simulate(
        BinaryBet(p=0.55, payoff=1.0, n_steps=100),
        n_paths=400,
        seed=12,
        fraction=0.2,
        floor=0.5,
        target=2.0,
        source_run_id="bt-42",
    )
    run_id = mc.save(store)
    assert run_id == mc.run_id and run_id.startswith("mc-")
    runs = store.sql("SELECT * FROM mc_runs")
    assert runs.height == 1
    row = runs.row(0, named=True)
    assert (row["seed"], row["n_paths"], row["n_steps"]) == (12, 400, 100)
    assert (row["model"], row["source_run_id"]) == ("binary_bet", "bt-42")
    config = orjson.loads(row["config"])
    assert config["model"]["p"] == 0.55 and config["rules"]["target"] == 2.0
    p_target = store.sql(
        f"SELECT s.value FROM mc_runs r JOIN mc_summary s USING (run_id) "  # noqa: S608
        f"WHERE r.run_id = '{run_id}' AND s.metric = 'p_target'"
    )["value"]
    assert p_target.to_list() == [mc.summary["p_target"].item()]
    assert "mc_paths" not in store.datasets()


def test_saving_again_replaces_the_run(tmp_path: Path) -> None:
    store = Store(tmp_path)
    mc = simulate(Gbm(0.05, 0.2, n_steps=20), n_paths=100, seed=1)
    mc.save(store, run_id="a")
    mc.save(store, run_id="a")
    simulate(Gbm(0.05, 0.2, n_steps=20), n_paths=100, seed=2).save(store, run_id="b")
    counts = store.sql(
        "SELECT run_id, count(*) AS n FROM mc_summary GROUP BY run_id ORDER BY run_id"
    )
    assert counts["run_id"].to_list() == ["a", "b"]
    assert counts["n"][0] == mc.summary.width
    assert store.sql("SELECT count(*) AS n FROM mc_runs")["n"].item() == 2


def test_kept_paths_reproduce_the_per_path_statistics(tmp_path: Path) -> None:
    store = Store(tmp_path)
    mc = simulate(Gbm(0.1, 0.3, n_steps=30), n_paths=50, seed=4, initial_wealth=100.0)
    mc.save(store, run_id="p", keep_paths=True)
    last = store.sql("SELECT path_id, wealth FROM mc_paths WHERE step = 29 ORDER BY path_id")
    assert store.sql("SELECT count(*) AS n FROM mc_paths")["n"].item() == 50 * 30
    assert last["wealth"].to_numpy() == pytest.approx(mc.per_path["terminal_wealth"].to_numpy())
    stored = store.read("mc_paths").sort("path_id", "step").select("path_id", "step", "return")
    assert stored.equals(mc.paths.collect().select(pl.all()))
