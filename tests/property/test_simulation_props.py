"""Properties of Monte Carlo paths and per-path statistics, against a plain NumPy evaluation."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.research.simulation import (
    IidBootstrap,
    StationaryBootstrap,
    WealthRules,
    draw_returns,
    path_statistics,
    simulate,
)

returns = st.lists(
    st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False), min_size=1, max_size=30
)


@settings(max_examples=40, deadline=None)
@given(
    sample=returns,
    n_steps=st.integers(1, 40),
    n_paths=st.integers(1, 300),
    seed=st.integers(0, 2**32),
    chunk_rows=st.integers(1, 5000),
    floor=st.floats(0.0, 0.95),
    target=st.floats(1.05, 3.0),
)
def test_statistics_match_numpy_and_ignore_chunking(
    sample: list[float],
    n_steps: int,
    n_paths: int,
    seed: int,
    chunk_rows: int,
    floor: float,
    target: float,
) -> None:
    model = StationaryBootstrap(sample, mean_block_length=3, n_steps=n_steps)
    mc = simulate(model, n_paths=n_paths, seed=seed, floor=floor, target=target,
                  chunk_rows=chunk_rows)  # fmt: skip
    whole = simulate(model, n_paths=n_paths, seed=seed, floor=floor, target=target)
    assert mc.per_path.equals(whole.per_path)
    wealth = np.cumprod(1 + draw_returns(model, seed=seed, start=0, stop=n_paths), axis=1)
    peak = np.maximum(np.maximum.accumulate(wealth, axis=1), 1.0)
    per_path = mc.per_path
    assert np.array_equal(per_path["terminal_wealth"].to_numpy(), wealth[:, -1])
    assert np.array_equal(per_path["max_drawdown"].to_numpy(), (wealth / peak - 1).min(axis=1))
    assert np.array_equal(per_path["ruined"].to_numpy(), (wealth <= floor).any(axis=1))
    assert np.array_equal(per_path["underwater_fraction"].to_numpy(), (wealth < peak).mean(axis=1))
    assert per_path["max_drawdown"].is_between(-1, 0).all()
    assert (per_path["longest_underwater"] <= n_steps).all()
    hit = per_path.filter("target_hit")
    assert (hit["time_to_target"] <= n_steps).all()
    assert hit.filter(pl.col("time_to_ruin") <= pl.col("time_to_target")).is_empty()


@settings(max_examples=30, deadline=None)
@given(
    sample=returns,
    n_paths=st.integers(1, 600),
    seed=st.integers(0, 2**32),
    start=st.integers(0, 600),
    width=st.integers(0, 300),
)
def test_any_slice_of_paths_is_the_same_slice_of_all_paths(
    sample: list[float], n_paths: int, seed: int, start: int, width: int
) -> None:
    model = IidBootstrap(sample, n_steps=5)
    stop = start + width
    everything = draw_returns(model, seed=seed, start=0, stop=max(stop, n_paths))
    assert np.array_equal(draw_returns(model, seed=seed, start=start, stop=stop),
                          everything[start:stop])  # fmt: skip
    assert np.isin(everything, np.asarray(sample)).all()


@settings(max_examples=30, deadline=None)
@given(steps=st.lists(st.lists(returns.map(tuple), min_size=1, max_size=1), min_size=1, max_size=6))
def test_longest_underwater_spell_is_the_longest_run_below_the_peak(
    steps: list[list[tuple[float, ...]]],
) -> None:
    paths = [list(p[0]) for p in steps]
    frame = pl.DataFrame(
        {
            "path_id": [i for i, p in enumerate(paths) for _ in p],
            "step": [t for p in paths for t in range(len(p))],
            "return": [r for p in paths for r in p],
        }
    )
    out = path_statistics(frame, WealthRules()).collect().sort("path_id")
    for path, got in zip(paths, out["longest_underwater"].to_list(), strict=True):
        wealth = np.cumprod(1 + np.asarray(path))
        below = wealth < np.maximum(np.maximum.accumulate(wealth), 1.0)
        longest = run = 0
        for flag in below:
            run = run + 1 if flag else 0
            longest = max(longest, run)
        assert got == longest
