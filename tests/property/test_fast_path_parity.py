"""Every registered fast path equals its policy's Polars ``target()`` on random bars.

The cases are read from the registry (:mod:`houseedge.core.policies.fastpaths`) after importing
the modules that fill it, so a fast path registered there is tested here without an edit; a
policy class without a drawer below gets its parameters drawn from its constructor's types.

* ``"stepper"``: fed the bars one at a time, the live engine's stepper gives, bar after bar, the
  value ``policy.target()`` gives on the whole history: the same float (``-0.0`` and ``0.0``
  count as one target) or both null.
* ``"sweep_target"``: for a few parameter sets of one class, on one symbol or two, the sweep's
  targets (shared indicators, then each set's combination: NumPy or Polars, whichever the sweep
  takes) equal each policy's own target once cleaned as the engine cleans it (null and NaN are
  flat), and the Polars combination equals it null for null.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

import houseedge.live.engine.steppers  # fills the "stepper" fast paths
import houseedge.research.sweep  # fills the "sweep_target" fast paths
from houseedge.core.costs import NO_COSTS
from houseedge.core.policies import (
    BollingerReversion,
    BuyAndHold,
    DonchianBreakout,
    EmaCross,
    FixedWeights,
    RsiReversion,
    SmaCross,
    VolTargetTrend,
    fast_path,
    fast_paths,
)
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.core.types import Bar
from houseedge.errors import PolicyError
from houseedge.research.sweep import _kernel as kernel
from tests.property.strategies import tied_bars

MODES = st.sampled_from(["long_only", "long_short"])
SIGNALS = st.sampled_from(["level", "cross"])


@st.composite
def crosses(draw: st.DrawFn, cls: type) -> Any:
    fast = draw(st.integers(1, 6))
    return cls(fast, draw(st.integers(fast + 1, 12)), draw(MODES), draw(SIGNALS))


DRAWERS: dict[type, st.SearchStrategy[Any]] = {
    SmaCross: crosses(SmaCross),
    EmaCross: crosses(EmaCross),
    DonchianBreakout: st.builds(DonchianBreakout, st.integers(1, 8), st.integers(1, 8), MODES),
    RsiReversion: st.builds(
        RsiReversion,
        st.integers(1, 8),
        st.sampled_from([20.0, 30.0]),
        st.sampled_from([70.0, 80.0]),
        MODES,
    ),
    BollingerReversion: st.builds(
        BollingerReversion, st.integers(2, 8), st.sampled_from([0.5, 1.0, 2.0]), MODES
    ),
    VolTargetTrend: st.builds(
        VolTargetTrend,
        st.integers(1, 6),
        st.integers(2, 6),
        st.sampled_from([0.05, 0.2]),
        st.just(252.0),
        st.sampled_from([0.5, 1.0]),
        MODES,
    ),
    BuyAndHold: st.just(BuyAndHold()),
    FixedWeights: st.just(FixedWeights({"X": 0.5, "Y": -0.25})),
}
"""Parameters that make the fast paths work: short windows, ties, both modes and signals."""

SMALL: dict[Any, st.SearchStrategy[Any]] = {int: st.integers(1, 12), float: st.floats(0.05, 0.95)}


@st.composite
def _from_constructor(draw: st.DrawFn, cls: type) -> Any:
    hints = typing.get_type_hints(cls.__init__)
    hints.pop("return", None)
    kwargs = {name: draw(SMALL.get(hint, st.from_type(hint))) for name, hint in hints.items()}
    try:
        return cls(**kwargs)
    except PolicyError:
        reject()


def policies(cls: type) -> st.SearchStrategy[Any]:
    """Draw policies of exactly ``cls``."""
    return DRAWERS[cls] if cls in DRAWERS else _from_constructor(cls)


def _registered(kind: Any) -> list[Any]:
    classes = sorted(fast_paths(kind), key=lambda cls: cls.__qualname__)
    return [pytest.param(cls, id=cls.__qualname__) for cls in classes]


def _values(series: pl.Series) -> list[float | None]:
    return [None if v is None or math.isnan(v) else v + 0.0 for v in series.to_list()]


def _stream(frame: pl.DataFrame, symbol: str) -> list[Bar]:
    return [Bar(symbol=symbol, timeframe="1d", **row) for row in frame.iter_rows(named=True)]


def _stepped(policy: Any, stream: list[Bar]) -> list[float | None]:
    make = houseedge.live.engine.steppers.stepper_factory(policy)
    assert make is not None
    stepper = make(stream[0].symbol)
    return [None if v is None else v + 0.0 for v in (stepper.step(bar) for bar in stream)]


def test_every_builtin_fast_path_is_registered() -> None:
    steppers, sweeps = fast_paths("stepper"), fast_paths("sweep_target")
    assert set(DRAWERS) <= set(steppers)
    assert {SmaCross, EmaCross} <= set(sweeps)
    assert fast_path("stepper", SmaCross(2, 3)) is steppers[SmaCross]


@pytest.mark.parametrize("cls", _registered("stepper"))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_stepper_equals_polars_target_on_every_bar(cls: type, data: st.DataObject) -> None:
    policy = data.draw(policies(cls), label="policy")
    frame = data.draw(tied_bars(), label="bars")
    symbol = data.draw(st.sampled_from(["X", "Y", "Z"]), label="symbol")
    expected = frame.with_columns(symbol=pl.lit(symbol)).select(policy.target()).to_series()
    assert _stepped(policy, _stream(frame, symbol)) == _values(expected)


def test_stepper_sums_exactly_where_a_running_sum_would_not() -> None:
    # A running float sum says the slow average is above the fast one; exactly, it is below.
    frame = pl.DataFrame({"ts": [0, 1, 2], "close": [0.1, 0.3, 0.2]}).with_columns(
        open="close", high="close", low="close", volume=pl.lit(1.0)
    )
    policy = SmaCross(1, 3, "long_short")
    expected = frame.select(policy.target()).to_series()
    assert _stepped(policy, _stream(frame, "X")) == _values(expected) == [None, None, 1.0]


@st.composite
def sweep_bars(draw: st.DrawFn) -> pl.DataFrame:
    """One symbol's bars or two (of different lengths): the sweep's two ways of evaluating."""
    parts = [
        draw(tied_bars(min_size=2)).with_columns(symbol=pl.lit(symbol))
        for symbol in draw(st.sampled_from([["X"], ["X", "Y"]]))
    ]
    return pl.concat(parts)


def _cleaned(values: Any) -> Any:
    values = np.asarray(values, dtype=np.float64)
    return np.where(values == values, values, 0.0) + 0.0  # null and NaN: flat


@pytest.mark.parametrize("cls", _registered("sweep_target"))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_sweep_target_equals_polars_target(cls: type, data: st.DataObject) -> None:
    sets = data.draw(st.lists(policies(cls), min_size=1, max_size=3), label="policies")
    bars = data.draw(sweep_bars(), label="bars")
    decomposition = fast_path("sweep_target", cls)
    assert decomposition is not None
    params = [dict(policy.params()) for policy in sets]
    setup = kernel.Setup(1e6, NO_COSTS, FixedUnits(), "next_open", None, None, 252.0)
    prepared = kernel.prepare_bars(bars, setup, decomposition, params)
    multi = prepared.starts.size > 1
    columns = {name: pl.col(name) for name in prepared.names}
    raws = kernel.targets(prepared, decomposition, params)
    for policy, p, raw in zip(sets, params, raws, strict=True):
        target = policy.target().over("symbol") if multi else policy.target()
        own = prepared.frame.select(target).to_series()
        # What the sweep simulates: its target, NumPy or Polars, cleaned as the engine does.
        np.testing.assert_array_equal(_cleaned(raw), _cleaned(own.cast(pl.Float64).to_numpy()))
        # The Polars combination over the shared indicators: the same values, null for null.
        combined = decomposition.target_from(columns, p)
        combined = combined.over("symbol") if multi else combined
        from_indicators = prepared.indicators.select(combined).to_series()
        assert _values(from_indicators.cast(pl.Float64)) == _values(own.cast(pl.Float64))
