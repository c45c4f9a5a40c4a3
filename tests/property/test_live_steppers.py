"""The live runner leaves a stepper for Polars after an input it cannot follow; the ring keeps bars.

That each stepper equals its policy's Polars target on every bar is proven for every registered
fast path in ``test_fast_path_parity``. The column ring buffer keeps exactly the last bars it is
asked for.
"""

from __future__ import annotations

import math

import msgspec
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.core.costs import NO_COSTS
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.types import Bar
from houseedge.live.engine.pipeline import PolicySpec, VectorRunner
from houseedge.live.history import BarRing
from tests.property.strategies import tied_bars


@settings(max_examples=60, deadline=None)
@given(frame=tied_bars(), at=st.integers(0, 79))
def test_runner_falls_back_to_polars_after_a_non_finite_close(frame: pl.DataFrame, at: int) -> None:
    stream = [Bar(symbol="X", timeframe="1d", **row) for row in frame.iter_rows(named=True)]
    policy = SmaCross(2, 4, "long_short")
    runner = VectorRunner(PolicySpec("p", policy, ["X"]), NO_COSTS)
    at = min(at, len(stream) - 1)
    bad = stream[at]
    stream[at] = msgspec.structs.replace(bad, close=math.nan)
    for bar in stream:
        runner.append(bar)
    assert runner._steppers["X"] is None  # which path the runner took
    frame = runner.history.frame("X")
    assert frame.height == min(len(stream), runner.window)


@settings(max_examples=100, deadline=None)
@given(closes=st.lists(st.floats(-1e6, 1e6), max_size=300), keep=st.none() | st.integers(1, 70))
def test_ring_keeps_the_last_bars(closes: list[float], keep: int | None) -> None:
    ring = BarRing("X", "1m", keep)
    for i, c in enumerate(closes):
        bar = Bar(symbol="X", timeframe="1m", ts=i, open=c, high=c, low=c, close=c, volume=float(i))
        ring.append(bar)
    kept = closes if keep is None else closes[len(closes) - min(keep, len(closes)) :]
    assert ring.column("close").tolist() == kept
    frame = ring.frame()
    assert (
        frame.get_column("volume").to_list()
        == [float(i) for i in range(len(closes))][len(closes) - len(kept) :]
    )
    assert frame.get_column("symbol").to_list() == ["X"] * len(kept)
