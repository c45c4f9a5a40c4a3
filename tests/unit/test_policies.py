from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from houseedge.core.features.indicators import ema, rsi, sma
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
from houseedge.core.policies.protocol import VectorPolicy
from houseedge.errors import PolicyError

BUILT_INS: list[Any] = [
    SmaCross(3, 8),
    SmaCross(2, 5, "long_short"),
    SmaCross(1, 6, "long_short", "cross"),
    EmaCross(3, 8, "long_short"),
    DonchianBreakout(6, 3, "long_short"),
    RsiReversion(5, 35, 65, "long_short"),
    BollingerReversion(6, 1.0, "long_short"),
    BuyAndHold(),
    FixedWeights({"X": -0.5}),
    VolTargetTrend(5, 7, target_vol=0.2, periods_per_year=252, mode="long_short"),
]
BOUNDED = [p for p in BUILT_INS if not p.unbounded_state]


def _bars(n: int, seed: int = 3, flat_from: int | None = None) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = np.round(100.0 * np.cumprod(1.0 + rng.normal(0.0, 0.03, n)), 2)
    if flat_from is not None:
        close[flat_from:] = close[flat_from]
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.round(np.abs(rng.normal(0.0, 0.01, n)) * close, 2)
    return pl.DataFrame(
        {
            "symbol": "X",
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
        }
    )


def _target(policy: Any, frame: pl.DataFrame) -> list[float | None]:
    return frame.select(policy.target()).to_series().to_list()


@pytest.mark.parametrize("policy", BUILT_INS, ids=lambda p: p.name)
def test_built_ins_satisfy_the_protocol_and_round_trip_params(policy: Any) -> None:
    assert isinstance(policy, VectorPolicy)
    assert type(policy)(**policy.params()) == policy
    assert hash(type(policy)(**policy.params())) == hash(policy)
    values = [v for v in _target(policy, _bars(80)) if v is not None]
    assert values
    assert all(-1.0 <= v <= 1.0 for v in values)


@pytest.mark.parametrize("policy", BUILT_INS, ids=lambda p: p.name)
def test_warmup_is_the_first_meaningful_bar(policy: Any) -> None:
    target = _target(policy, _bars(60))
    assert all(v is None for v in target[: policy.warmup])
    assert target[policy.warmup] is not None


@pytest.mark.parametrize("flat_from", [None, 20])
@pytest.mark.parametrize("policy", BOUNDED, ids=lambda p: p.name)
def test_bounded_warmup_reproduces_the_full_history(policy: Any, flat_from: int | None) -> None:
    # Flat prices make fast == slow: the tie must break the same way in both evaluations.
    frame = _bars(70, flat_from=flat_from)
    full = _target(policy, frame)
    size = policy.warmup + 1
    for end in range(size, frame.height + 1):
        assert _target(policy, frame.slice(end - size, size))[-1] == full[end - 1]


@pytest.mark.parametrize(
    "policy", [p for p in BUILT_INS if p.unbounded_state], ids=lambda p: p.name
)
def test_unbounded_policies_differ_on_a_short_window_somewhere(policy: Any) -> None:
    frame = _bars(300, seed=11)
    full = _target(policy, frame)
    size = policy.warmup + 1
    differs = (
        _target(policy, frame.slice(end - size, size))[-1] != full[end - 1]
        for end in range(size, frame.height + 1)
    )
    assert any(differs), "the policy is marked unbounded but a warm-up window reproduced it"


def test_sma_cross_levels_and_ties() -> None:
    frame = _bars(50, flat_from=30)
    fast, slow = (frame.select(sma("close", n)).to_series().to_numpy() for n in (3, 8))
    long_only = _target(SmaCross(3, 8), frame)
    long_short = _target(SmaCross(3, 8, "long_short"), frame)
    for t in range(7, 50):
        assert long_only[t] == (1.0 if fast[t] > slow[t] else 0.0)
        assert long_short[t] == float(np.sign(fast[t] - slow[t]))
    assert long_short[45:] == [0.0] * 5  # flat prices: fast == slow exactly


def test_cross_signal_waits_for_a_cross_and_ignores_touches() -> None:
    # close vs its 2-bar average: above from the start, touches (diff 0), then crosses down.
    frame = pl.DataFrame({"close": [1.0, 2.0, 3.0, 3.0, 4.0, 1.0, 1.0, 2.0]})
    level = _target(SmaCross(1, 2, "long_short"), frame)
    cross = _target(SmaCross(1, 2, "long_short", "cross"), frame)
    assert level == [None, 1.0, 1.0, 0.0, 1.0, -1.0, 0.0, 1.0]
    assert cross == [None, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 1.0]
    assert _target(SmaCross(1, 2, "long_only", "cross"), frame)[-3:] == [0.0, 0.0, 1.0]


def test_ema_cross_follows_the_sign_of_the_averages() -> None:
    frame = _bars(60)
    diff = frame.select(ema("close", 3) - ema("close", 9)).to_series().to_numpy()
    target = _target(EmaCross(3, 9, "long_short"), frame)
    assert target[8:] == [float(np.sign(d)) for d in diff[8:]]


def test_donchian_holds_from_breakout_until_the_exit_channel_breaks() -> None:
    close = [10.0, 10.0, 10.0, 12.0, 11.0, 11.5, 10.5, 9.0, 9.5, 7.0, 8.0]
    frame = pl.DataFrame({"high": close, "low": close, "close": close})
    assert _target(DonchianBreakout(3, 2), frame) == [
        None,
        None,
        None,
        1.0,
        1.0,
        1.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]
    # 10.5 breaks the 2-bar low (11.0); 9.0 breaks the 3-bar low and the short is held after.
    assert _target(DonchianBreakout(3, 2, "long_short"), frame)[7:] == [-1.0, -1.0, -1.0, -1.0]


def test_rsi_reversion_holds_between_thresholds() -> None:
    frame = _bars(200, seed=5)
    value = frame.select(rsi("close", 5)).to_series().to_list()
    target = _target(RsiReversion(5, 35, 65), frame)
    position = 0.0
    for t in range(5, 200):
        if value[t] < 35:
            position = 1.0
        elif value[t] > 65:
            position = 0.0
        assert target[t] == position
    assert 0 < sum(v == 1.0 for v in target[5:]) < 195


def test_bollinger_reversion_enters_below_the_band_and_exits_at_the_mean() -> None:
    close = [10.0, 10.0, 10.0, 10.0, 6.0, 7.0, 8.0, 11.0, 14.0, 10.0]
    frame = pl.DataFrame({"close": close})
    assert _target(BollingerReversion(4, 1.0), frame) == [
        None,
        None,
        None,
        0.0,
        1.0,
        1.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]
    assert _target(BollingerReversion(4, 1.0, "long_short"), frame)[8:] == [-1.0, 0.0]


def test_buy_and_hold_and_fixed_weights_per_symbol() -> None:
    frame = pl.DataFrame({"symbol": ["A", "A", "B", "C"], "close": [1.0, 2.0, 3.0, 4.0]})
    assert frame.with_columns(t=BuyAndHold().target())["t"].to_list() == [1.0] * 4
    weights = FixedWeights({"A": 0.25, "B": -1.0})
    assert frame.with_columns(t=weights.target().over("symbol"))["t"].to_list() == [
        0.25,
        0.25,
        -1.0,
        0.0,
    ]
    assert weights.params() == {"weights": {"A": 0.25, "B": -1.0}}


def test_vol_target_trend_sizes_to_the_target_and_caps() -> None:
    frame = _bars(80)
    close = frame["close"].to_numpy()
    policy = VolTargetTrend(10, 5, target_vol=0.3, periods_per_year=252, max_leverage=0.8)
    target = _target(policy, frame)
    ret = close[1:] / close[:-1] - 1
    for t in range(10, 80):
        vol = np.std(ret[t - 5 : t], ddof=1) * math.sqrt(252)
        size = min(0.3 / vol, 0.8) if close[t] > close[t - 10] else 0.0
        assert target[t] == pytest.approx(size, rel=1e-12)
    flat = pl.DataFrame({"close": [1.0, 2.0, 4.0, 8.0, 16.0]})
    geometric = VolTargetTrend(1, 2, target_vol=0.1, periods_per_year=1, max_leverage=0.5)
    assert _target(geometric, flat) == [None, None, 0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: SmaCross(5, 5), "slow must be > fast"),
        (lambda: SmaCross(0, 5), "fast"),
        (lambda: SmaCross(2, 5, "short"), "mode"),
        (lambda: EmaCross(2, 5, signal="edge"), "signal"),
        (lambda: DonchianBreakout(0, 2), "entry"),
        (lambda: RsiReversion(14, 70, 30), "lower < upper"),
        (lambda: BollingerReversion(1), "period"),
        (lambda: BollingerReversion(20, 0.0), "k"),
        (lambda: FixedWeights({"A": 1.5}), r"\[-1, 1\]"),
        (lambda: VolTargetTrend(5, 1, 0.1, 252), "vol_lookback"),
        (lambda: VolTargetTrend(5, 5, 0.1, 252, max_leverage=2.0), "max_leverage"),
    ],
)
def test_bad_parameters_raise_policy_error(build: Any, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        build()


def test_optional_policy_flags_default_and_reject_non_booleans() -> None:
    from houseedge.core.policies import allows_short, has_unbounded_state
    from houseedge.errors import PolicyError

    class Mine:
        name = "mine"
        allow_short = "no"

    class LongOnly:
        allow_short = False
        unbounded_state = 0

    assert allows_short(object()) is True and has_unbounded_state(object()) is True
    assert allows_short(LongOnly()) is False and has_unbounded_state(LongOnly()) is False
    with pytest.raises(PolicyError, match=r"policy 'mine': attribute allow_short is 'no'"):
        allows_short(Mine())


def test_registry_names_every_builtin_and_rejects_clashes() -> None:
    from houseedge.core.policies import registry
    from houseedge.errors import PolicyError

    assert registry.policy_class("donchian") is registry.policy_class("donchian_breakout")
    assert set(registry.policy_names()) >= {"sma_cross", "fixed_weights", "vol_target_trend"}
    with pytest.raises(PolicyError, match="already registered"):
        registry.register_policy("sma_cross", dict)
    with pytest.raises(PolicyError, match="lowercase identifier"):
        registry.register_policy("Bad Name", dict)
    with pytest.raises(PolicyError, match="unknown policy 'nope'; known policies: "):
        registry.policy_class("nope")
