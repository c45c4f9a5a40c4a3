from __future__ import annotations

import polars as pl
import pytest

from houseedge.core.costs import NO_COSTS, SLIPPAGE_INPUT, CostModel, LinearCostModel


def test_no_costs_is_frictionless() -> None:
    assert NO_COSTS.fill_price(100.0, 1, {}) == 100.0
    assert NO_COSTS.fill_price(100.0, -1, {}) == 100.0
    assert NO_COSTS.fee(10, 100.0) == 0.0
    assert NO_COSTS.borrow_rate() == 0.0
    assert isinstance(NO_COSTS, CostModel)


def test_half_spread_and_slippage_move_price_against_the_trader() -> None:
    costs = LinearCostModel(spread_bps=10, slippage_bps=5)
    assert costs.fill_price(200.0, 1, {}) == pytest.approx(200.0 * (1 + 10e-4))
    assert costs.fill_price(200.0, -1, {}) == pytest.approx(200.0 * (1 - 10e-4))


def test_volatility_slippage_reads_its_input_and_skips_warmup() -> None:
    costs = LinearCostModel(slippage_fraction=0.5, slippage_scale="atr")
    assert costs.fill_price(50.0, 1, {SLIPPAGE_INPUT: 2.0}) == 51.0
    assert costs.fill_price(50.0, -1, {SLIPPAGE_INPUT: 2.0}) == 49.0
    assert costs.fill_price(50.0, 1, {SLIPPAGE_INPUT: float("nan")}) == 50.0
    frame = pl.DataFrame({"atr": [1.0, 3.0]})
    assert frame.select(costs.inputs()[SLIPPAGE_INPUT]).to_series().to_list() == [1.0, 3.0]
    assert LinearCostModel().inputs() == {}


def test_commission_per_share_bps_and_minimum() -> None:
    costs = LinearCostModel(commission_per_share=0.01, commission_bps=2, min_commission=1.0)
    assert costs.fee(1000, 50.0) == pytest.approx(1000 * 0.01 + 1000 * 50.0 * 2e-4)
    assert costs.fee(10, 50.0) == 1.0  # the minimum
    assert costs.fee(0, 50.0) == 0.0  # no order, no minimum
    assert costs.fee_rate(50.0) == pytest.approx(2e-4 + 0.01 / 50.0)


def test_borrow_is_annual_bps_spread_over_bars() -> None:
    assert LinearCostModel(borrow_bps=252, periods_per_year=252).borrow_rate() == pytest.approx(
        1e-4
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"commission_bps": -1}, {"periods_per_year": 0}, {"slippage_fraction": 0.1}],
)
def test_invalid_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"slippage|periods|>= 0"):
        LinearCostModel(**kwargs)  # pyright: ignore[reportArgumentType]


def test_params_are_plain_data() -> None:
    params = LinearCostModel(slippage_fraction=0.1, slippage_scale=pl.col("atr") * 2).params()
    assert params["slippage_fraction"] == 0.1
    assert isinstance(params["slippage_scale"], str)
