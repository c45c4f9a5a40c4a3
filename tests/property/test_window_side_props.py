"""Exact window means and the side of one over another: the fast paths give the exact bits."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.core.features import window_sum as _window_sum
from houseedge.core.features.window_sum import mean_side, window_sums
from houseedge.core.policies.builtin import SmaCross

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _exact_side(x: np.ndarray, fast: int, slow: int, long_only: bool) -> np.ndarray:
    """The side from each window's correctly rounded sum divided by its length."""
    out = np.full(x.size, np.nan)
    for end in range(slow - 1, x.size):
        gap = math.fsum(x[end - fast + 1 : end + 1]) / fast
        gap -= math.fsum(x[end - slow + 1 : end + 1]) / slow
        out[end] = float(gap > 0) if long_only else float(np.sign(gap))
    return out


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(finite, min_size=1, max_size=40),
    n=st.integers(1, 12),
    scale=st.integers(-1070, 1000),
)
def test_means_are_the_sums_divided_bit_for_bit(values: list[float], n: int, scale: int) -> None:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        x = np.ldexp(np.array(values) / 2.0**1000, scale)
        sums = window_sums(x, [n])[0] / n
        means = window_sums(x, [n], means=True)[0]
    assert np.array_equal(np.signbit(sums), np.signbit(means))
    assert np.array_equal(sums, means, equal_nan=True)


@st.composite
def prices(draw: st.DrawFn) -> np.ndarray:
    """Series with ties: a coarse grid (many equal averages), a walk, or wide magnitudes."""
    size = draw(st.integers(0, 120))
    kind = draw(st.sampled_from(["grid", "walk", "wide"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "grid":
        return rng.integers(0, 4, size) / 4.0 + draw(st.sampled_from([0.0, 100.0, -3.0]))
    if kind == "walk":
        return 100.0 + np.cumsum(rng.standard_normal(size))
    return rng.standard_normal(size) * 2.0 ** rng.integers(-60, 60, size)


@settings(max_examples=300, deadline=None)
@given(x=prices(), fast=st.integers(1, 8), extra=st.integers(1, 12), long_only=st.booleans())
def test_side_is_the_sign_of_the_exact_means(
    x: np.ndarray, fast: int, extra: int, long_only: bool
) -> None:
    slow = fast + extra
    side = mean_side(x, fast, slow, long_only=long_only)
    assert side is not None
    expected = _exact_side(x, fast, slow, long_only)
    assert np.array_equal(side, expected, equal_nan=True)
    means = window_sums(x, (fast, slow), means=True)
    sign = np.sign(means[0] - means[1])
    assert np.array_equal(side, np.maximum(sign, 0.0) if long_only else sign, equal_nan=True)


def test_side_on_two_threads_matches_the_means() -> None:
    # Past 2**18 values each half of the series is read on its own thread.
    x = 100.0 + np.cumsum(np.random.default_rng(7).standard_normal(300_000)) * 0.01
    x[150_000:150_100] = 100.0  # a flat stretch across the split: exact ties
    means = window_sums(x, (5, 20), means=True)
    side = mean_side(x, 5, 20, long_only=False)
    assert side is not None
    assert np.array_equal(side, np.sign(means[0] - means[1]), equal_nan=True)


@pytest.mark.parametrize(
    ("x", "why"),
    [
        (np.array([1.0, np.nan, 2.0, 3.0]), "a NaN"),
        (np.array([1.0, np.inf, 2.0, 3.0]), "an infinity"),
        (np.array([1e-300, 2e-300, 3e-300]), "an extreme exponent"),
    ],
)
def test_side_declines_what_it_cannot_bound(x: np.ndarray, why: str) -> None:
    assert mean_side(x, 1, 2, long_only=True) is None, why


def test_many_ties_fall_back_to_the_averages_with_the_same_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    close = np.r_[np.full(40, 10.0), 10.0 + np.arange(20.0), np.full(40, 30.0)]
    frame = pl.DataFrame({"close": close})
    for mode in ("long_only", "long_short"):
        policy = SmaCross(2, 5, mode)
        fast = frame.select(policy.target()).to_series()
        monkeypatch.setattr(_window_sum, "_NEAR_TIES", 0)
        assert mean_side(close, 2, 5, long_only=mode == "long_only") is None
        slow = frame.select(policy.target()).to_series()
        monkeypatch.undo()
        assert fast.to_list() == slow.to_list()
        assert fast.null_count() == 4
        assert fast[50] == 1.0
        assert fast[-1] == 0.0  # a flat stretch: equal averages
