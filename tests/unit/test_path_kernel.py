"""simulate()'s NumPy row kernel against the Polars expressions of path_statistics, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from polars.testing import assert_frame_equal

from houseedge.research.simulation import (
    BinaryBet,
    Gbm,
    IidBootstrap,
    JumpDiffusion,
    PathModel,
    StationaryBootstrap,
    WealthRules,
    generate_paths,
    path_statistics,
    simulate,
)
from houseedge.research.simulation import _kernel as _path_kernel

SAMPLE = np.random.default_rng(3).normal(0.0005, 0.02, 200)

RULES: list[dict[str, Any]] = [
    {"floor": 0.9, "target": 1.1},
    {"fraction": 0.5, "floor": 0.95, "target": 1.05},
    {"initial_wealth": 100.0, "fraction": 2.0, "floor": 80.0, "target": 130.0},
    {"compounding": False, "initial_wealth": 10.0, "fraction": 3.0, "floor": 9.5, "target": 10.4},
    {},  # no floor above zero, no target
]


def polars_statistics(model: PathModel, n_paths: int, seed: int, rules: dict[str, Any]) -> Any:
    paths = generate_paths(model, n_paths=n_paths, seed=seed)
    return path_statistics(paths, WealthRules(**rules), presorted=True).collect()


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize(
    "model",
    [
        StationaryBootstrap(SAMPLE, mean_block_length=5, n_steps=60),
        JumpDiffusion(0.05, 0.3, jump_rate=5, jump_mean=-0.05, jump_std=0.05, n_steps=45),
        BinaryBet(p=0.52, payoff=1.0, n_steps=70),
    ],
    ids=lambda m: type(m).__name__,
)
def test_simulate_equals_path_statistics(model: PathModel, rules: dict[str, Any]) -> None:
    mc = simulate(model, n_paths=300, seed=4, **rules)
    assert_frame_equal(mc.per_path, polars_statistics(model, 300, 4, rules), check_exact=True)


def test_events_happen_and_do_not_on_both_sides() -> None:
    # Guards the test above against vacuous agreement: ruin, target and neither all occur.
    mc = simulate(Gbm(0.0, 0.4, n_steps=50), n_paths=400, seed=1, floor=0.8, target=1.25)
    ruined, hit = mc.per_path["ruined"], mc.per_path["target_hit"]
    assert 0 < ruined.sum() < 400 and 0 < hit.sum() < 400
    assert mc.per_path["longest_underwater"].max() > 1


def test_non_finite_wealth_rows_follow_the_polars_semantics() -> None:
    # 1e300 twice overflows to inf; a -100% step then makes 0 * inf = NaN. NumPy would
    # propagate NaN through minima and running maxima where Polars skips it.
    model = IidBootstrap([1e300, -1.0, 0.01, -0.02], n_steps=6)
    mc = simulate(model, n_paths=300, seed=2, floor=0.5, target=2.0)
    assert not np.isfinite(mc.per_path["terminal_wealth"].to_numpy()).all()
    expected = polars_statistics(model, 300, 2, {"floor": 0.5, "target": 2.0})
    assert_frame_equal(mc.per_path, expected, check_exact=True)


@pytest.mark.parametrize("tile", [1, 7, 1000])
def test_tiling_never_changes_results(tile: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model = StationaryBootstrap(SAMPLE, mean_block_length=3, n_steps=30)
    expected = simulate(model, n_paths=260, seed=6, floor=0.9, target=1.1).per_path
    monkeypatch.setattr(_path_kernel, "TILE_ROWS", tile)
    got = simulate(model, n_paths=260, seed=6, floor=0.9, target=1.1, chunk_rows=1).per_path
    assert_frame_equal(got, expected, check_exact=True)
