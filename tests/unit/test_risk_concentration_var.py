"""The pre-trade concentration limit and the post-trade VaR monitor."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from houseedge.core.risk.gate import RiskGate, RiskLimits
from houseedge.core.risk.monitors import BreakerState
from houseedge.core.risk.var import ReturnsVaR
from houseedge.core.types import Order, Side
from houseedge.errors import ConfigError


def _buy(qty: float, symbol: str = "X") -> Order:
    return Order(client_order_id="o", symbol=symbol, side=Side.BUY, qty=qty)


def test_concentration_rejects_a_symbol_over_its_share_of_gross() -> None:
    gate = RiskGate(RiskLimits(max_concentration=0.5))
    # 1,000 held elsewhere: 10 at 100 makes X exactly half; 11 makes it over half.
    at_limit = gate.check(_buy(10), now_ns=0, position=0.0, last_price=100.0, gross_notional=1e3)
    over = gate.check(_buy(11), now_ns=0, position=0.0, last_price=100.0, gross_notional=1e3)
    assert at_limit.accepted
    assert (over.accepted, over.check) == (False, "max_concentration")
    assert "52.380952% of the gross notional 2100" in over.detail


def test_concentration_lets_reductions_through_and_skips_a_small_book() -> None:
    gate = RiskGate(RiskLimits(max_concentration=0.3, concentration_floor=5_000))
    small = gate.check(_buy(10), now_ns=0, position=0.0, last_price=100.0)
    big = gate.check(_buy(60), now_ns=0, position=0.0, last_price=100.0)
    sell = Order(client_order_id="s", symbol="X", side=Side.SELL, qty=10)
    reducing = gate.check(sell, now_ns=0, position=60.0, last_price=100.0, gross_notional=6e3)
    assert small.accepted and reducing.accepted
    assert big.check == "max_concentration"


def test_concentration_config_is_a_fraction() -> None:
    with pytest.raises(ConfigError, match="max_concentration"):
        RiskLimits.from_config({"max_concentration": 1.5})
    with pytest.raises(ConfigError, match="var_method"):
        RiskLimits.from_config({"var_method": "monte_carlo"})


def test_historical_var_is_the_lower_quantile_loss() -> None:
    var = ReturnsVaR(window=10, confidence=0.9)
    equity = 100.0
    var.add(equity)
    returns = [0.01, -0.03, 0.02, -0.01, 0.0, 0.015, -0.02, 0.005, 0.01, -0.005]
    for r in returns[:-1]:
        equity *= 1 + r
        var.add(equity)
    assert math.isnan(var.value())  # nine returns: the window is not full
    var.add(equity * (1 + returns[-1]))
    assert var.value() == pytest.approx(0.03)  # the worst of ten at 90%: the 1st order statistic


def test_parametric_var_is_z_stdev_minus_mean() -> None:
    var = ReturnsVaR(window=5, confidence=0.95, method="parametric")
    marks = [100.0, 101.0, 99.0, 100.0, 97.0, 98.0]
    for mark in marks:
        var.add(mark)
    returns = [b / a - 1 for a, b in itertools.pairwise(marks)]
    z = statistics.NormalDist().inv_cdf(0.95)
    expected = z * statistics.stdev(returns) - statistics.fmean(returns)
    assert var.value() == pytest.approx(expected)


def test_var_feeds_the_breaker_and_a_reset_rebases_it() -> None:
    gate = RiskGate(RiskLimits(var_soft=0.01, var_hard=0.04, var_window=3, var_confidence=0.9))
    events = []
    for ts, equity in enumerate([1000.0, 1001.0, 1000.0, 1001.0]):
        events += gate.on_mark(equity, ts)
    assert events == [] and gate.state is BreakerState.NORMAL
    (soft,) = gate.on_mark(985.0, 5)
    assert (soft.kind, soft.state) == ("var", BreakerState.REDUCE_ONLY)
    (hard,) = gate.on_mark(940.0, 6)
    assert (hard.kind, hard.state, hard.threshold) == ("var", BreakerState.HALTED, 0.04)
    assert gate.snapshot().monitors["var"] == pytest.approx(1 - 940 / 985)
    gate.reset("desk")
    assert gate.snapshot().monitors["var"] is None
