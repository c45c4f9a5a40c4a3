"""The live engine's incremental targets equal the policies' Polars targets on every bar.

For random bar streams (prices on a cent grid, so flat runs are common; spread over many
magnitudes; or decimals whose averages tie only when summed exactly) and random parameters,
each built-in policy's stepper gives, bar after bar, the value ``policy.target()`` gives on the
whole history: the same float (``-0.0`` and ``0.0`` count as one target) or both null. The
column ring buffer keeps exactly the last bars it is asked for.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from houseedge.core.costs import NO_COSTS
from houseedge.core.policies.builtin import (
    BollingerReversion,
    BuyAndHold,
    DonchianBreakout,
    EmaCross,
    FixedWeights,
    RsiReversion,
    SmaCross,
    VolTargetTrend,
)
from houseedge.core.types import Bar
from houseedge.live.engine._ring import BarRing
from houseedge.live.engine.pipeline import PolicySpec, VectorRunner
from houseedge.live.engine.steppers import stepper_factory

MODES = st.sampled_from(["long_only", "long_short"])
SIGNALS = st.sampled_from(["level", "cross"])


@st.composite
def crosses(draw: st.DrawFn) -> Any:
    fast = draw(st.integers(1, 6))
    slow = draw(st.integers(fast + 1, 12))
    kind = draw(st.sampled_from([SmaCross, EmaCross]))
    return kind(fast, slow, draw(MODES), draw(SIGNALS))


POLICIES = st.one_of(
    crosses(),
    st.builds(DonchianBreakout, st.integers(1, 8), st.integers(1, 8), MODES),
    st.builds(
        RsiReversion,
        st.integers(1, 8),
        st.sampled_from([20.0, 30.0]),
        st.sampled_from([70.0, 80.0]),
        MODES,
    ),
    st.builds(BollingerReversion, st.integers(2, 8), st.sampled_from([0.5, 1.0, 2.0]), MODES),
    st.builds(
        VolTargetTrend,
        st.integers(1, 6),
        st.integers(2, 6),
        st.sampled_from([0.05, 0.2]),
        st.just(252.0),
        st.sampled_from([0.5, 1.0]),
        MODES,
    ),
    st.just(BuyAndHold()),
    st.just(FixedWeights({"X": 0.5, "Y": -0.25})),
)

CENTS = st.integers(9_990, 10_010).map(lambda c: c / 100)  # a narrow grid: many ties
WIDE = st.floats(1e-3, 1e9, allow_nan=False).map(lambda p: float(f"{p:.6g}"))
# Decimals whose float sums round (0.1 + 0.3 + 0.2 > 0.6): averages tie only when summed exactly.
TIES = st.sampled_from([0.1, 0.2, 0.3, 0.6, 0.7, 1.1, 2.2, 3.3])


@st.composite
def bars(draw: st.DrawFn) -> list[Bar]:
    closes = draw(st.lists(draw(st.sampled_from([CENTS, WIDE, TIES])), min_size=1, max_size=80))
    spreads = draw(st.lists(st.sampled_from([0.0, 0.01, 0.5]), min_size=2, max_size=2))
    return [
        Bar(symbol="X", timeframe="1d", ts=i, open=c, high=c + spreads[0], low=c - spreads[1],
            close=c, volume=1.0)
        for i, c in enumerate(closes)
    ]  # fmt: skip


def _polars(policy: Any, stream: list[Bar]) -> list[float | None]:
    frame = pl.DataFrame({
        "symbol": ["X"] * len(stream),
        **{c: [getattr(b, c) for b in stream] for c in ("open", "high", "low", "close", "volume")},
    })  # fmt: skip
    values = frame.select(policy.target().alias("t")).to_series().to_list()
    return [None if v is None or math.isnan(v) else v + 0.0 for v in values]


def _closes(*closes: float) -> list[Bar]:
    return [Bar(symbol="X", timeframe="1d", ts=i, open=c, high=c, low=c, close=c, volume=1.0)
            for i, c in enumerate(closes)]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(policy=POLICIES, stream=bars())
# A running float sum says the slow average is above the fast one; exactly, it is below.
@example(policy=SmaCross(1, 3, "long_short"), stream=_closes(0.1, 0.3, 0.2))
def test_stepper_equals_polars_target_on_every_bar(policy: Any, stream: list[Bar]) -> None:
    make = stepper_factory(policy)
    assert make is not None
    stepper = make("X")
    stepped = [stepper.step(bar) for bar in stream]
    got = [None if v is None else v + 0.0 for v in stepped]
    assert got == _polars(policy, stream)


@settings(max_examples=60, deadline=None)
@given(stream=bars(), at=st.integers(0, 79))
def test_runner_falls_back_to_polars_after_a_non_finite_close(stream: list[Bar], at: int) -> None:
    policy = SmaCross(2, 4, "long_short")
    runner = VectorRunner(PolicySpec("p", policy, ["X"]), NO_COSTS)
    at = min(at, len(stream) - 1)
    bad = stream[at]
    stream[at] = Bar(symbol="X", timeframe="1d", ts=bad.ts, open=bad.open, high=bad.high,
                     low=bad.low, close=math.nan, volume=1.0)  # fmt: skip
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
        ring.append(Bar(symbol="X", timeframe="1m", ts=i, open=c, high=c, low=c, close=c,
                        volume=float(i)))  # fmt: skip
    kept = closes if keep is None else closes[len(closes) - min(keep, len(closes)) :]
    assert ring.column("close").tolist() == kept
    frame = ring.frame()
    assert (
        frame.get_column("volume").to_list()
        == [float(i) for i in range(len(closes))][len(closes) - len(kept) :]
    )
    assert frame.get_column("symbol").to_list() == ["X"] * len(kept)
