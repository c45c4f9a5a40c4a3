"""The Ray executor against a real local Ray instance: same rows as in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import SmaCross
from houseedge.data.store._store import Store
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.research.sweep import StoreBars, sweep
from houseedge.research.sweep.executors import RayExecutor

ray = pytest.importorskip("ray")

# In the default suite on purpose: the issue asks for the Ray executor to be tested for real,
# and CI runs the default suite. 33 s on an idle 2-vCPU machine (73 s under load): most of it is
# Ray starting with the uv environment replicated for its workers.


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_sweep_reads_the_store_and_equals_in_process(local_ray: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.write("bars", synthetic_bars(["AAA", "BBB"], periods=800, timeframe="1h", seed=5))
    grid = {"fast": [3, 5, 8, 13], "slow": [21, 34]}
    costs = LinearCostModel(commission_bps=10)
    for symbols in (("AAA",), ("AAA", "BBB")):
        source = StoreBars(store.root, symbols, "1h")
        here = sweep(source, SmaCross, grid, costs=costs)
        there = sweep(source, SmaCross, grid, costs=costs, executor=RayExecutor())
        assert there.frame.height == 8
        assert_frame_equal(here.frame, there.frame)
