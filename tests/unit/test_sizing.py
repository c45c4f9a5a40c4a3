from __future__ import annotations

import math
import sys

import pytest

from houseedge.core.sizing.sizers import (
    FixedFraction,
    FixedUnits,
    Sizer,
    SizingRequest,
    TargetWeights,
)


def _request(**overrides: float | str | int) -> SizingRequest:
    base = {"symbol": "A", "target": 1.0, "price": 30.0, "equity": 1_000.0, "cash": 1_000.0}
    return SizingRequest(**(base | overrides))  # pyright: ignore[reportArgumentType]


def test_builtins_satisfy_the_protocol() -> None:
    for sizer in (FixedUnits(), FixedFraction(), TargetWeights()):
        assert isinstance(sizer, Sizer)
        assert sizer.inputs() == {}
        assert sizer.name


def test_fixed_units_scale_with_target_not_equity() -> None:
    assert FixedUnits(5).quantity(_request(target=0.5, equity=1e9)) == 2.5
    assert FixedUnits(5).quantity(_request(target=-1.0)) == -5


def test_fixed_fraction_all_in_whole_units_matches_backtesting_py() -> None:
    eps = sys.float_info.epsilon
    sizer = FixedFraction(1 - eps, whole_units=True)
    assert sizer.quantity(_request(equity=9_920.0, price=180.36)) == math.floor(
        9_920.0 * (1 - eps) / 180.36
    )
    # Exactly affordable: the epsilon keeps the order inside the cash, as in backtesting.py.
    assert sizer.quantity(_request(equity=900.0, price=30.0)) == 29
    assert FixedFraction(1.0, whole_units=True).quantity(_request(equity=900.0)) == 30


def test_fixed_fraction_rounds_shorts_toward_zero() -> None:
    assert FixedFraction(1.0, whole_units=True).quantity(_request(target=-1.0)) == -33


def test_fixed_fraction_keeps_fees_inside_the_notional() -> None:
    qty = FixedFraction(1.0).quantity(_request(price=10.0, fee_rate=0.001))
    assert qty * 10.0 * 1.001 == pytest.approx(1_000.0)


def test_fractions_scale_with_target_and_never_size_from_negative_equity() -> None:
    assert FixedFraction(0.5).quantity(_request(target=0.5, price=10.0)) == 25.0
    assert FixedFraction(1.0).quantity(_request(equity=-5.0)) == 0.0


def test_target_weights_default_to_an_equal_split() -> None:
    assert TargetWeights().quantity(_request(price=10.0, n_symbols=4)) == 25.0
    weights = TargetWeights({"A": 0.6}, default=0.1)
    assert weights.quantity(_request(price=10.0)) == 60.0
    assert weights.quantity(_request(symbol="B", price=10.0)) == 10.0
    assert TargetWeights(whole_units=True).quantity(_request(price=30.0, n_symbols=2)) == 16.0


@pytest.mark.parametrize("make", [lambda: FixedUnits(0), lambda: FixedFraction(-1.0)])
def test_invalid_parameters_are_refused(make: object) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        make()  # pyright: ignore[reportCallIssue]
