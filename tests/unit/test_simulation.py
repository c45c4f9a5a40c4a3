"""Monte Carlo: path models, per-path statistics, summaries, and closed-form checks.

Each closed-form check asserts that the Monte Carlo estimate's own 99% confidence interval
contains the exact value (seeds are fixed, so the checks are deterministic).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from houseedge.research.metrics import max_drawdown
from houseedge.research.simulation import (
    BinaryBet,
    BlockBootstrap,
    Gbm,
    IidBootstrap,
    JumpDiffusion,
    RegimeSwitching,
    StationaryBootstrap,
    UncertainBinaryBet,
    WealthRules,
    draw_returns,
    generate_paths,
    path_statistics,
    returns_sample,
    simulate,
    summarize,
    wilson_interval,
)

Z99 = 2.5758293035489004
SAMPLE = np.random.default_rng(5).normal(0.0005, 0.01, 300)


def gamblers_ruin(p: float, start: int, goal: int) -> float:
    if p == 0.5:
        return start / goal
    ratio = (1 - p) / p
    return (1 - ratio**start) / (1 - ratio**goal)


# -- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(("p", "start", "goal"), [(0.45, 4, 10), (0.5, 4, 8), (0.55, 2, 8)])
def test_gamblers_ruin_probability_inside_the_wilson_interval(
    p: float, start: int, goal: int
) -> None:
    # A +-1 walk: fixed stake f * W0 = 1 (no compounding), ruin at 0, success at `goal`.
    mc = simulate(
        BinaryBet(p=p, payoff=1.0, n_steps=400),
        n_paths=8000,
        seed=17,
        initial_wealth=start,
        fraction=1 / start,
        compounding=False,
        floor=0.0,
        target=goal,
        confidence=0.99,
    )
    absorbed = mc.per_path.select(pl.col("ruined") | pl.col("target_hit")).to_series()
    assert absorbed.all()  # 400 steps: every walk has ended
    row = mc.summary.row(0, named=True)
    assert row["p_target_lo"] <= gamblers_ruin(p, start, goal) <= row["p_target_hi"]
    assert row["p_target_hi"] - row["p_target_lo"] < 0.04  # the interval is informative


def test_gbm_upper_barrier_before_lower_inside_the_wilson_interval() -> None:
    # log(S/S0) is a Brownian motion with drift nu = mu - sigma^2/2; exp(-2 nu x / sigma^2) is a
    # martingale, so P(hit +a before -b) = (1 - e^{2 nu b/s2}) / (e^{-2 nu a/s2} - e^{2 nu b/s2}).
    # Barriers are watched on the grid only, which misses excursions between steps (the
    # barriers act ~0.58 sigma sqrt(dt) further out): with sigma sqrt(dt) = 2% of a barrier
    # distance of 0.25 that moves the probability by ~0.003, well inside the interval (~0.014).
    mu, sigma, a, b, dt = 1.0, 1.0, 0.25, 0.25, 4e-4
    k = 2 * (mu - sigma**2 / 2) / sigma**2
    exact = (1 - math.exp(k * b)) / (math.exp(-k * a) - math.exp(k * b))
    mc = simulate(
        Gbm(mu=mu, sigma=sigma, dt=dt, n_steps=1250),
        n_paths=8000,
        seed=3,
        floor=math.exp(-b),
        target=math.exp(a),
        confidence=0.99,
    )
    row = mc.summary.row(0, named=True)
    unfinished = mc.per_path.filter(~pl.col("ruined") & ~pl.col("target_hit")).height
    assert unfinished <= 2
    assert row["p_target_lo"] <= exact <= row["p_target_hi"]
    assert exact == pytest.approx(0.5622, abs=1e-4)


@pytest.mark.parametrize(
    ("p", "payoff", "scale"), [(0.6, 1.0, 1.0), (0.5, 2.0, 1.0), (0.6, 1.0, 1.5)]
)
def test_kelly_growth_rate_inside_the_confidence_interval(
    p: float, payoff: float, scale: float
) -> None:
    f = scale * (p - (1 - p) / payoff)  # Kelly's fraction, or 1.5x it (over-betting)
    exact = p * math.log(1 + f * payoff) + (1 - p) * math.log(1 - f)
    mc = simulate(BinaryBet(p=p, payoff=payoff, n_steps=500), n_paths=4000, seed=8, fraction=f)
    row = mc.summary.row(0, named=True)
    half = Z99 * row["log_growth_se"]
    assert row["log_growth_mean"] - half <= exact <= row["log_growth_mean"] + half
    assert half < abs(exact) / 2  # tight enough to tell the growth rate's sign


def test_kelly_fraction_beats_half_and_double() -> None:
    growth = {
        f: simulate(BinaryBet(p=0.6, payoff=1.0, n_steps=400), n_paths=2000, seed=1, fraction=f)
        .summary["log_growth_mean"]
        .item()
        for f in (0.1, 0.2, 0.4)
    }
    assert growth[0.2] > growth[0.1] > 0
    assert growth[0.2] > growth[0.4]


def test_wilson_interval_closed_forms() -> None:
    # With no successes the upper bound is z^2 / (n + z^2).
    z = 1.959963984540054
    assert wilson_interval(0, 100)[1] == pytest.approx(z * z / (100 + z * z))
    lo, hi = wilson_interval(30, 100)
    assert lo < 0.3 < hi
    assert hi - 0.3 > 0.3 - lo  # pulled towards 1/2, unlike the normal approximation
    lo, hi = wilson_interval(50, 100)
    assert 0.5 - lo == pytest.approx(hi - 0.5)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 4)


# -- generators -----------------------------------------------------------------------------


MODELS = [
    IidBootstrap(SAMPLE, n_steps=40),
    BlockBootstrap(SAMPLE, block_length=5, n_steps=40),
    StationaryBootstrap(SAMPLE, mean_block_length=5, n_steps=40),
    Gbm(0.05, 0.2, n_steps=40),
    JumpDiffusion(0.05, 0.2, jump_rate=5, jump_mean=-0.05, jump_std=0.05, n_steps=40),
    RegimeSwitching([(0.1, 0.1), (-0.2, 0.3)], [[0.95, 0.05], [0.1, 0.9]], n_steps=40),
    BinaryBet(p=0.55, payoff=1.2, n_steps=40),
    UncertainBinaryBet(wins=30, losses=20, win_mean=0.02, loss_mean=0.015, n_steps=40),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_same_seed_same_frame_and_paths_independent_of_count(model: object) -> None:
    lazy = generate_paths(model, n_paths=300, seed=9)  # type: ignore[arg-type]
    frame = lazy.collect()
    assert frame.equals(generate_paths(model, n_paths=300, seed=9).collect())  # type: ignore[arg-type]
    assert not frame.equals(generate_paths(model, n_paths=300, seed=10).collect())  # type: ignore[arg-type]
    assert frame.shape == (300 * 40, 3)
    few = generate_paths(model, n_paths=7, seed=9).collect()  # type: ignore[arg-type]
    assert few.equals(frame.filter(pl.col("path_id") < 7))
    middle = draw_returns(model, seed=9, start=250, stop=270)  # type: ignore[arg-type]
    expected = frame.filter(pl.col("path_id").is_between(250, 269))["return"].to_numpy()
    assert np.array_equal(middle.ravel(), expected)


def test_lazy_paths_honour_projection_filters_and_limits() -> None:
    lazy = generate_paths(Gbm(0.0, 0.2, n_steps=10), n_paths=600, seed=1)
    assert lazy.head(25).collect().height == 25
    assert lazy.filter(pl.col("path_id") == 599).select("return").collect().height == 10


def test_simulation_does_not_depend_on_chunking() -> None:
    model = StationaryBootstrap(SAMPLE, mean_block_length=4, n_steps=50)
    small = simulate(model, n_paths=700, seed=2, floor=0.9, target=1.1, chunk_rows=1)
    large = simulate(model, n_paths=700, seed=2, floor=0.9, target=1.1)
    assert small.per_path.equals(large.per_path)
    assert small.summary.equals(large.summary)


def test_bootstraps_resample_with_replacement() -> None:
    rng = np.random.default_rng(0)
    drawn = IidBootstrap([1.0, 2.0, 3.0], n_steps=3).draw(rng, 2000)
    sums = drawn.sum(axis=1)
    assert np.isin(drawn, [1.0, 2.0, 3.0]).all()
    assert sums.std() > 0  # not a permutation: terminal wealth varies across paths
    assert abs(drawn.mean() - 2.0) < 3 * drawn.std() / math.sqrt(drawn.size)


def test_block_bootstrap_keeps_runs_of_block_length() -> None:
    sample = np.arange(100, dtype=float)
    rows = BlockBootstrap(sample, block_length=10, n_steps=35).draw(np.random.default_rng(1), 50)
    steps = (np.diff(rows, axis=1) % 100) == 1
    assert steps.reshape(50, -1)[:, [i for i in range(34) if i % 10 != 9]].all()


def test_stationary_bootstrap_block_lengths_are_geometric_with_the_given_mean() -> None:
    sample = np.arange(1000, dtype=float)
    rows = StationaryBootstrap(sample, mean_block_length=8, n_steps=400).draw(
        np.random.default_rng(4), 200
    )
    starts = 1 + ((np.diff(rows, axis=1) % 1000) != 1).sum()  # new blocks (first per path too)
    mean_length = rows.size / (starts + 199)
    # A new block starts at each step with probability 1/8; continuing blocks that happen to
    # land on the next index are not seen, which shortens nothing measurable at n = 1000.
    assert mean_length == pytest.approx(8, rel=0.05)


def test_gbm_log_returns_have_the_model_moments() -> None:
    paths = Gbm(mu=0.1, sigma=0.3, dt=1 / 12, n_steps=12).draw(np.random.default_rng(2), 20000)
    log_year = np.log1p(paths).sum(axis=1)
    se = log_year.std() / math.sqrt(log_year.size)
    assert abs(log_year.mean() - (0.1 - 0.045)) < Z99 * se
    assert log_year.std() == pytest.approx(0.3, rel=0.02)


def test_regime_switching_spends_the_stationary_share_in_each_regime() -> None:
    model = RegimeSwitching([(0.0, 0.1), (0.0, 0.5)], [[0.9, 0.1], [0.3, 0.7]], n_steps=200)
    states = model.states(np.random.default_rng(3), 500)
    assert model.stationary() == pytest.approx([0.75, 0.25])
    assert states.mean() == pytest.approx(0.25, abs=0.02)
    switches = (np.diff(states, axis=1) != 0)[states[:, :-1] == 0].mean()
    assert switches == pytest.approx(0.1, abs=0.01)
    with pytest.raises(ValueError, match="sum to 1"):
        RegimeSwitching([(0, 0.1), (0, 0.2)], [[0.5, 0.4], [0.5, 0.5]], n_steps=5)


def test_uncertain_binary_bet_draws_win_rates_from_the_beta_posterior() -> None:
    model = UncertainBinaryBet(wins=12, losses=8, win_mean=0.03, loss_mean=0.02, n_steps=5)
    p, win, loss = model.parameters(np.random.default_rng(6), 20000)
    a, b = 13, 9
    assert p.mean() == pytest.approx(a / (a + b), abs=0.005)
    assert p.var() == pytest.approx(a * b / ((a + b) ** 2 * (a + b + 1)), rel=0.05)
    assert (win == 0.03).all() and (loss == 0.02).all()  # no standard errors given
    fitted = UncertainBinaryBet.from_trades([0.04, 0.02, -0.01, -0.03, 0.0])
    assert (fitted.wins, fitted.losses, fitted.n_steps) == (2, 3, 5)
    assert fitted.win_mean == pytest.approx(0.03)
    assert fitted.loss_mean == pytest.approx(4 / 3 / 100)
    assert fitted.win_se == pytest.approx(np.std([0.04, 0.02], ddof=1) / math.sqrt(2))


def test_parameter_uncertainty_widens_the_outcome_distribution() -> None:
    known = BinaryBet(p=0.6, payoff=1.0, n_steps=200)
    uncertain = UncertainBinaryBet(wins=30, losses=20, win_mean=1.0, loss_mean=1.0, n_steps=200)
    spread = [
        simulate(m, n_paths=2000, seed=4, fraction=0.1).per_path["log_growth"].std()
        for m in (known, uncertain)
    ]
    assert spread[1] > 1.5 * spread[0]


def test_bootstrap_from_a_backtest_of_trades_and_bars() -> None:
    from houseedge.core.policies.builtin import SmaCross
    from houseedge.data.synthetic._market import synthetic_bars
    from houseedge.research.backtest import backtest

    bars = synthetic_bars("X", periods=3000, timeframe="1h", seed=3)
    result = backtest(bars, SmaCross(10, 50), cash=10_000)
    trades = returns_sample(result, unit="trade")
    assert trades.size == result.trades.height > 0
    model = IidBootstrap(trades)  # each path: as many trades as the run had
    mc = simulate(model, n_paths=500, seed=1, source_run_id="bt-1")
    assert mc.summary["n_steps"].item() == trades.size
    assert mc.source_run_id == "bt-1"
    bars_model = BlockBootstrap(returns_sample(result), block_length=24)
    assert bars_model.n_steps == result.equity["returns"].drop_nulls().len()


def test_models_reject_bad_parameters() -> None:
    with pytest.raises(ValueError, match="sample"):
        IidBootstrap([])
    with pytest.raises(ValueError, match="NaN"):
        IidBootstrap([0.1, float("nan")])
    with pytest.raises(ValueError, match="block_length"):
        BlockBootstrap([0.1], block_length=0)
    with pytest.raises(ValueError, match="p must"):
        BinaryBet(p=1.5, payoff=1.0, n_steps=3)
    with pytest.raises(ValueError, match="floor < initial_wealth < target"):
        WealthRules(target=0.5)


# -- statistics -----------------------------------------------------------------------------


def test_path_statistics_by_hand() -> None:
    # Path 0: 1 -> 1.2 -> 0.6 -> 0.9 -> 1.35; path 1: 1 -> 0.5 -> 0.25 -> 0.5 -> 1.0
    paths = pl.DataFrame(
        {
            "path_id": [1, 1, 1, 1, 0, 0, 0, 0],
            "step": [3, 2, 1, 0, 0, 1, 2, 3],  # unsorted on purpose
            "return": [1.0, 1.0, -0.5, -0.5, 0.2, -0.5, 0.5, 0.5],
        }
    )
    rules = WealthRules(floor=0.3, target=1.3, periods_per_year=4)
    out = path_statistics(paths, rules).collect().sort("path_id")
    zero, one = out.row(0, named=True), out.row(1, named=True)
    assert zero["terminal_wealth"] == pytest.approx(1.35)
    assert zero["max_drawdown"] == pytest.approx(-0.5)
    assert zero["underwater_fraction"] == pytest.approx(0.5)  # steps 1 and 2
    assert zero["longest_underwater"] == 2
    assert (zero["ruined"], zero["target_hit"], zero["time_to_target"]) == (False, True, 4)
    assert zero["cagr"] == pytest.approx(0.35)  # one year of four steps
    assert one["max_drawdown"] == pytest.approx(-0.75)
    assert one["underwater_fraction"] == 0.75  # back at the peak on the last step
    assert one["longest_underwater"] == 3  # counted from the initial wealth, before step 0
    assert (one["ruined"], one["time_to_ruin"], one["target_hit"]) == (True, 2, False)
    assert one["log_growth"] == pytest.approx(0.0)


def test_max_drawdown_matches_the_metrics_module() -> None:
    frame = generate_paths(StationaryBootstrap(SAMPLE, 6, n_steps=120), n_paths=40, seed=1)
    ours = path_statistics(frame, WealthRules()).collect()
    theirs = frame.group_by("path_id").agg(max_drawdown("return")).sort("path_id").collect()
    assert np.allclose(ours["max_drawdown"].to_numpy(), theirs["max_drawdown"].to_numpy())


def test_fraction_and_fixed_stake_wealth() -> None:
    paths = pl.DataFrame({"path_id": [0, 0], "step": [0, 1], "return": [1.0, -0.5]})
    compound = path_statistics(paths, WealthRules(fraction=0.5)).collect()
    assert compound["terminal_wealth"].item() == pytest.approx(1.5 * 0.75)
    stake = path_statistics(paths, WealthRules(fraction=0.5, compounding=False)).collect()
    assert stake["terminal_wealth"].item() == pytest.approx(1 + 0.5 * (1.0 - 0.5))


def test_summary_quantiles_and_probabilities_match_per_path() -> None:
    mc = simulate(Gbm(0.05, 0.3, n_steps=100), n_paths=1000, seed=5, floor=0.8, target=1.2)
    row, per_path = mc.summary.row(0, named=True), mc.per_path
    assert row["terminal_wealth_p05"] == pytest.approx(
        per_path["terminal_wealth"].quantile(0.05, "linear")
    )
    assert row["max_drawdown_p50"] == pytest.approx(per_path["max_drawdown"].median())
    assert row["p_ruin"] == per_path["ruined"].mean()
    assert row["p_ruin_lo"] < row["p_ruin"] < row["p_ruin_hi"]
    hit_times = per_path.filter("target_hit")["time_to_target"]
    assert row["time_to_target_median"] == hit_times.median()
    assert row["cagr_p50"] == pytest.approx(per_path["cagr"].median())


def test_no_target_leaves_target_statistics_null() -> None:
    mc = simulate(Gbm(0.05, 0.2, n_steps=20), n_paths=300, seed=1)
    assert mc.summary["p_target"].is_null().all()
    assert not mc.per_path["target_hit"].any()
    assert summarize(mc.per_path)["n_paths"].item() == 300
