from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from houseedge.core.sizing.hybrid import Condition, Hybrid, InputAbove, NearTarget
from houseedge.core.sizing.inputs import realised_volatility
from houseedge.core.sizing.sizers import FixedFraction, Sizer, SizingRequest
from houseedge.core.sizing.target_hitting import (
    binary_log_growth,
    deadline_hit_probability,
    hit_probability,
    kelly_binary,
    kelly_continuous,
    log_growth,
    maximise,
    simulated_hit_probability,
)
from houseedge.core.sizing.utility import (
    KellyBinary,
    KellyContinuous,
    TargetHitting,
    VolatilityTarget,
)
from houseedge.data.synthetic._market import synthetic_bars

MU, SIGMA = 0.001, 0.02  # per bar: Kelly f* = 2.5, Kelly growth nu(f*) = 0.00125 per bar
KELLY = MU / SIGMA**2


def _request(**overrides: object) -> SizingRequest:
    base: dict[str, object] = {
        "symbol": "A",
        "target": 1.0,
        "price": 10.0,
        "equity": 1_000.0,
        "cash": 1_000.0,
    }
    return SizingRequest(**(base | overrides))  # pyright: ignore[reportArgumentType]


def _leverage(units: float, request: SizingRequest) -> float:
    return abs(units) * request.price * (1 + request.fee_rate) / request.equity


@pytest.mark.parametrize(("p", "b"), [(0.6, 1.0), (0.55, 2.0), (0.3, 4.0), (0.9, 0.5)])
def test_kelly_binary_is_the_maximiser_of_expected_log_growth(p: float, b: float) -> None:
    fractions = np.linspace(0.0, 0.999, 20_001)
    growth = [binary_log_growth(float(f), p, b) for f in fractions]
    assert kelly_binary(p, b) == pytest.approx(p - (1 - p) / b)
    assert fractions[int(np.argmax(growth))] == pytest.approx(kelly_binary(p, b), abs=1e-4)


def test_kelly_binary_without_an_edge_bets_nothing_and_validates() -> None:
    assert kelly_binary(0.5, 1.0) == 0.0
    assert kelly_binary(0.2, 2.0) == 0.0
    with pytest.raises(ValueError, match="probability"):
        kelly_binary(1.2, 1.0)
    with pytest.raises(ValueError, match="odds"):
        kelly_binary(0.6, 0.0)


def test_kelly_continuous_is_mu_over_variance_and_maximises_the_drift() -> None:
    assert kelly_continuous(0.0005, 0.0001) == pytest.approx(5.0)
    assert kelly_continuous(0.0005, 0.0001, rate=0.0001) == pytest.approx(4.0)
    assert kelly_continuous(-0.0005, 0.0001) == pytest.approx(-5.0)
    best, _ = maximise(lambda f: log_growth(f, MU, SIGMA), np.linspace(0, 10, 11).tolist())
    assert best == pytest.approx(KELLY, abs=1e-4)
    assert log_growth(2 * KELLY, MU, SIGMA) == pytest.approx(0.0, abs=1e-15)


def test_kelly_binary_sizer_scales_with_fraction_target_and_sign() -> None:
    full = KellyBinary(p=0.6, b=1.0).quantity(_request())
    assert full == pytest.approx(0.2 * 1_000 / 10)
    assert KellyBinary(0.6, 1.0, fraction=0.5).quantity(_request()) == pytest.approx(full / 2)
    assert KellyBinary(0.6, 1.0).quantity(_request(target=-0.5)) == pytest.approx(-full / 2)
    capped = KellyBinary(0.9, 5.0, fraction=2.0, max_leverage=1.0)
    assert _leverage(capped.quantity(_request()), _request()) == pytest.approx(1.0)
    assert KellyBinary(0.4, 1.0).quantity(_request()) == 0.0


def test_kelly_continuous_sizer_bets_the_edge_in_the_target_direction() -> None:
    sizer = KellyContinuous(lookback=20, fraction=1.0, max_leverage=10.0)
    inputs = {"mean": MU, "variance": SIGMA**2}
    long = sizer.quantity(_request(inputs=inputs))
    assert _leverage(long, _request()) == pytest.approx(KELLY)
    short_edge = {"mean": -MU, "variance": SIGMA**2}
    assert sizer.quantity(_request(target=-1.0, inputs=short_edge)) == pytest.approx(-long)
    assert sizer.quantity(_request(target=-1.0, inputs=inputs)) == 0.0
    capped = KellyContinuous(lookback=20, max_leverage=1.5).quantity(_request(inputs=inputs))
    assert _leverage(capped, _request()) == pytest.approx(1.5)


@pytest.mark.parametrize(
    "sizer",
    [
        VolatilityTarget(0.1, 20, 252, 2.0),
        KellyContinuous(20, 252, 0.5, 2.0),
        TargetHitting(target=1_500.0, horizon=100, lookback=20, max_leverage=2.0),
    ],
)
@pytest.mark.parametrize("value", [None, math.nan, math.inf])
def test_warm_up_and_bad_inputs_size_zero(sizer: Sizer, value: float | None) -> None:
    inputs = dict.fromkeys(sizer.inputs(), value) | (
        {"bar": 0.0} if "bar" in sizer.inputs() else {}
    )
    assert sizer.quantity(_request(inputs=inputs)) == 0.0
    assert sizer.quantity(_request(inputs={})) == 0.0


def test_volatility_target_sizes_inversely_to_volatility_up_to_the_cap() -> None:
    sizer = VolatilityTarget(target_vol=0.2, lookback=20, periods_per_year=252, max_leverage=2.0)
    calm = sizer.quantity(_request(inputs={"volatility": 0.4}))
    assert _leverage(calm, _request()) == pytest.approx(0.5)
    wild = sizer.quantity(_request(target=-1.0, inputs={"volatility": 0.8}))
    assert wild == pytest.approx(-calm / 2)
    tiny = sizer.quantity(_request(inputs={"volatility": 0.01}))
    assert _leverage(tiny, _request()) == pytest.approx(2.0)
    assert sizer.quantity(_request(equity=-5.0, inputs={"volatility": 0.4})) == 0.0


def test_every_sizer_satisfies_the_protocol_and_rejects_bad_parameters() -> None:
    sizers = [
        VolatilityTarget(),
        KellyBinary(0.6, 1.0),
        KellyContinuous(),
        TargetHitting(target=2.0, floor=1.0),
        _hybrid(),
    ]
    for sizer in sizers:
        assert isinstance(sizer, Sizer)
        assert sizer.name
        assert isinstance(dict(sizer.params()), dict)
    assert isinstance(NearTarget(1.0, 0.1), Condition)
    with pytest.raises(ValueError, match="lookback"):
        VolatilityTarget(lookback=1)
    with pytest.raises(ValueError, match="max_leverage"):
        KellyContinuous(max_leverage=0.0)
    with pytest.raises(ValueError, match="floor or a horizon"):
        TargetHitting(target=2.0)
    with pytest.raises(ValueError, match="floor"):
        TargetHitting(target=2.0, floor=3.0)
    with pytest.raises(ValueError, match="both"):
        TargetHitting(target=2.0, floor=1.0, mu=0.1)


def test_hit_probability_matches_driftless_and_mirror_identities() -> None:
    # theta = 0 at f = 2 f*: a driftless walk hits +a before -b with probability b / (a + b).
    assert hit_probability(2 * KELLY, MU, SIGMA, 0.2, 0.3) == pytest.approx(0.3 / 0.5)
    # Mirror: the walk with drift +nu hits +a before -b as often as drift -nu misses the other way.
    mu_plus, mu_minus = 0.0015, 0.0005  # theta = 2 mu / (f sigma^2) - 1 = +1 and -1 at f = 5
    up = hit_probability(5.0, mu_plus, SIGMA, 0.2, 0.3)
    down = hit_probability(5.0, mu_minus, SIGMA, 0.3, 0.2)
    assert up + down == pytest.approx(1.0)
    assert hit_probability(1.0, MU, SIGMA, 0.0, 0.3) == 1.0
    assert hit_probability(1.0, MU, SIGMA, 0.1, 0.0) == 0.0
    assert 0.0 < hit_probability(50.0, -0.01, SIGMA, 1.0, 1.0) < 1.0  # no overflow at theta << 0


def test_closed_forms_agree_with_simulation_within_its_error() -> None:
    fractions = [1.0, 2.5, 5.0]
    closed = [hit_probability(f, MU, SIGMA, 0.15, 0.15) for f in fractions]
    # A horizon long enough that nearly every path has hit a barrier.
    simulated = simulated_hit_probability(
        fractions, MU, SIGMA, 0.15, 0.15, 20_000, n_paths=4_000, max_steps=4_000, seed=3
    )
    for c, s in zip(closed, simulated, strict=True):
        assert s == pytest.approx(c, abs=4 * math.sqrt(c * (1 - c) / 4_000) + 0.02)
    deadline = [deadline_hit_probability(f, MU, SIGMA, 0.2, 252) for f in fractions]
    simulated = simulated_hit_probability(
        fractions, MU, SIGMA, 0.2, math.inf, 252, n_paths=4_000, max_steps=252, seed=4
    )
    for c, s in zip(deadline, simulated, strict=True):
        # Checking barriers once per bar misses some touches: the simulation may only be lower.
        assert c - 0.04 - 4 * math.sqrt(c * (1 - c) / 4_000) <= s <= c + 0.01


def test_target_before_floor_without_deadline_is_timid_when_favourable_bold_when_not() -> None:
    sizer = TargetHitting(target=1_500.0, floor=500.0, max_leverage=4.0, grid_size=40)
    timid = sizer.best_fraction(1_000.0, MU, SIGMA)
    bold = sizer.best_fraction(1_000.0, -MU, SIGMA)
    assert timid == pytest.approx(4.0 / 40, rel=1e-3)
    assert bold == pytest.approx(4.0, rel=1e-3)
    assert hit_probability(timid, MU, SIGMA, math.log(1.5), math.log(2)) > hit_probability(
        KELLY, MU, SIGMA, math.log(1.5), math.log(2)
    )


def test_target_by_deadline_is_kelly_when_the_target_is_kellys_median_wealth() -> None:
    horizon = 25_200
    median = 1_000.0 * math.exp(log_growth(KELLY, MU, SIGMA) * horizon)
    sizer = TargetHitting(target=median, horizon=horizon, max_leverage=10.0, mu=MU, sigma=SIGMA)
    assert sizer.best_fraction(1_000.0, MU, SIGMA, horizon) == pytest.approx(KELLY, rel=0.03)
    # Needing more than Kelly's pace asks for more than Kelly: f = f* sqrt(c / nu(f*)).
    far = 1_000.0 * math.exp(3 * log_growth(KELLY, MU, SIGMA) * horizon)
    sizer = TargetHitting(target=far, horizon=horizon, max_leverage=10.0, mu=MU, sigma=SIGMA)
    assert sizer.best_fraction(1_000.0, MU, SIGMA, horizon) == pytest.approx(
        KELLY * math.sqrt(3), rel=0.03
    )


@pytest.mark.parametrize(
    ("target", "floor", "horizon"), [(1_300.0, None, 252), (1_500.0, 500.0, 1_000)]
)
def test_target_hitting_beats_kelly_at_hitting_the_target_in_fresh_simulation(
    target: float, floor: float | None, horizon: int
) -> None:
    sizer = TargetHitting(
        target=target,
        floor=floor,
        horizon=horizon,
        mu=MU,
        sigma=SIGMA,
        max_leverage=8.0,
        n_paths=2_000,
        seed=0,
    )
    chosen = sizer.best_fraction(1_000.0, MU, SIGMA, horizon)
    down = math.inf if floor is None else math.log(1_000.0 / floor)
    # Independent paths (another seed) judge the choice, so it cannot be fitted to its own noise.
    odds = simulated_hit_probability(
        [chosen, KELLY],
        MU,
        SIGMA,
        math.log(target / 1_000.0),
        down,
        horizon,
        n_paths=10_000,
        max_steps=1_000,
        seed=12345,
    )
    error = math.sqrt(0.25 / 10_000)
    assert odds[0] > odds[1] + 4 * error
    assert abs(chosen - KELLY) > 0.5


def test_target_hitting_sizes_zero_when_done_ruined_or_late() -> None:
    sizer = TargetHitting(target=1_200.0, floor=800.0, horizon=50, mu=MU, sigma=SIGMA)
    assert sizer.quantity(_request(equity=1_250.0, inputs={"bar": 0.0})) == 0.0
    assert sizer.quantity(_request(equity=790.0, inputs={"bar": 0.0})) == 0.0
    assert sizer.quantity(_request(inputs={"bar": 49.0})) == 0.0
    live = sizer.quantity(_request(target=-1.0, inputs={"bar": 10.0}))
    assert live < 0
    assert _leverage(live, _request()) <= 1.0 + 1e-12


def _hybrid() -> Hybrid:
    high_vol = InputAbove("vol", realised_volatility(20, 252), 0.3)
    return Hybrid(
        rules=[
            (NearTarget(target=1_200.0, within=0.1), KellyBinary(0.6, 1.0, fraction=2.0)),
            (high_vol, KellyBinary(0.6, 1.0, fraction=0.5)),
        ],
        default=KellyBinary(0.6, 1.0),
    )


def test_hybrid_switches_by_distance_to_target_then_by_regime() -> None:
    sizer = _hybrid()
    assert sorted(sizer.inputs()) == ["1.when.vol"]
    kelly_units = KellyBinary(0.6, 1.0).quantity(_request())

    def units(equity: float, vol: float | None) -> float:
        return sizer.quantity(_request(equity=equity, inputs={"1.when.vol": vol}))

    assert units(1_000.0, 0.1) == pytest.approx(kelly_units)
    assert units(1_000.0, 0.5) == pytest.approx(kelly_units / 2)
    assert units(1_100.0, 0.5) == pytest.approx(2 * kelly_units * 1.1)  # near target first
    assert units(1_000.0, None) == 0.0  # regime unknown while warming up


def test_inputs_are_causal_prefix_of_full_equals_full_of_prefix() -> None:
    bars = synthetic_bars(["A"], periods=400, seed=5).select("ts", "close")
    hybrid = Hybrid(
        rules=[(InputAbove("vol", realised_volatility(30, 252), 0.3), KellyContinuous(40))],
        default=TargetHitting(target=2.0, horizon=300, lookback=25),
    )
    for sizer in (VolatilityTarget(lookback=30), KellyContinuous(lookback=40), hybrid):
        exprs = [expr.alias(name) for name, expr in sizer.inputs().items()]
        full = bars.select(exprs)
        for cut in (35, 120, 399):
            prefix = bars.head(cut).select(exprs)
            assert prefix.equals(full.head(cut))
        assert full.tail(100).null_count().sum_horizontal().item() == 0
    bar = pl.DataFrame({"close": [1.0, 2.0, 3.0]}).select(
        TargetHitting(2.0, horizon=9).inputs()["bar"]
    )
    assert bar.to_series().to_list() == [0, 1, 2]


def test_fractional_kelly_matches_fixed_fraction_at_the_kelly_stake() -> None:
    request = _request()
    half = KellyBinary(0.6, 1.0, fraction=0.5).quantity(request)
    assert half == pytest.approx(FixedFraction(0.1).quantity(request))
