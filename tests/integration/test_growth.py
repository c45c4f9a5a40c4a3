from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from houseedge.core.sizing.target_hitting import kelly_binary
from houseedge.research.simulation.growth import (
    fraction_sweep,
    growth_chart,
    growth_curve,
    kelly_fraction,
)

P, B = 0.6, 1.0  # f* = 0.2; the growth curve crosses zero just below 2 f* = 0.4
N_PATHS, PERIODS = 1_000, 250


@pytest.fixture(scope="module")
def sweep() -> pl.DataFrame:
    return fraction_sweep((P, B), periods=PERIODS, n_paths=N_PATHS, seed=11)


def test_simulated_growth_peaks_near_kelly_and_crosses_zero_near_twice_kelly(
    sweep: pl.DataFrame,
) -> None:
    kelly = kelly_binary(P, B)
    fractions = sweep["fraction"].to_numpy()
    simulated = sweep["simulated_log_growth"].to_numpy()
    assert fractions[0] == 0.0
    assert fractions[-1] == pytest.approx(2 * kelly)
    assert fractions[int(np.argmax(simulated))] == pytest.approx(kelly, abs=0.03)
    crossing = fractions[1:][(simulated[:-1] > 0) & (simulated[1:] <= 0)]
    assert crossing.size == 1
    assert crossing[0] == pytest.approx(2 * kelly, abs=0.03)
    assert simulated[fractions < 1.8 * kelly][1:].min() > 0


def test_simulated_growth_is_within_its_error_of_the_closed_form(sweep: pl.DataFrame) -> None:
    for row in sweep.iter_rows(named=True):
        f = row["fraction"]
        # Per-period log factors are two-valued, so their spread is known exactly.
        spread = abs(math.log1p(f * B) - (math.log1p(-f) if f < 1 else 0.0)) * math.sqrt(
            P * (1 - P)
        )
        error = spread / math.sqrt(PERIODS * N_PATHS)
        assert row["simulated_log_growth"] == pytest.approx(
            row["expected_log_growth"], abs=4 * error + 1e-12
        )


def test_risk_grows_with_the_fraction(sweep: pl.DataFrame) -> None:
    at = {round(row["fraction"], 6): row for row in sweep.iter_rows(named=True)}
    half, full, double = at[0.1], at[0.2], at[0.4]
    for column in ("ruin_probability", "max_drawdown_median", "max_drawdown_p95"):
        assert half[column] < full[column] < double[column]
    assert full["median_terminal_wealth"] > max(half["median_terminal_wealth"], 1.0)
    assert double["median_terminal_wealth"] < 1.0
    assert (sweep["max_drawdown_p95"] >= sweep["max_drawdown_median"]).all()


def test_sweep_is_reproducible_from_its_seed() -> None:
    first = fraction_sweep((P, B), [0.1, 0.3], periods=50, n_paths=100, seed=4)
    assert first.equals(fraction_sweep((P, B), [0.1, 0.3], periods=50, n_paths=100, seed=4))
    assert not first.equals(fraction_sweep((P, B), [0.1, 0.3], periods=50, n_paths=100, seed=5))


def test_return_samples_use_their_empirical_kelly_and_bootstrap() -> None:
    rng = np.random.default_rng(0)
    sample = rng.normal(0.002, 0.03, 500)
    returns = pl.Series(sample)
    kelly = kelly_fraction(returns)
    assert kelly == pytest.approx(sample.mean() / sample.var(), rel=0.1)
    curve = growth_curve(returns)
    peak = int(np.argmax(curve["expected_log_growth"].to_numpy()))
    assert curve["fraction"][peak] == pytest.approx(kelly, rel=0.03)
    assert kelly_fraction(-returns) == 0.0
    sweep = fraction_sweep(returns, periods=100, n_paths=500, seed=1, ruin_floor=0.2)
    assert sweep.height == 41
    richest = int(np.argmax(sweep["median_terminal_wealth"].to_numpy()))
    assert sweep["fraction"][richest] == pytest.approx(kelly, rel=0.35)


def test_a_stake_that_can_lose_everything_has_minus_infinite_growth() -> None:
    curve = growth_curve([0.1, -0.5, 0.2], [0.5, 2.0, 2.5])
    growth = curve["expected_log_growth"].to_list()
    assert math.isfinite(growth[0])
    assert growth[1:] == [-math.inf, -math.inf]
    sweep = fraction_sweep([0.1, -0.5, 0.2], [2.5], periods=30, n_paths=50)
    assert sweep["ruin_probability"].item() == 1.0
    assert sweep["median_terminal_wealth"].item() == 0.0


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="binary bet"):
        growth_curve((0.6, 1.0, 2.0))
    with pytest.raises(ValueError, match="two finite returns"):
        growth_curve([0.01])
    with pytest.raises(ValueError, match="ruin_floor"):
        fraction_sweep((P, B), ruin_floor=1.5)


def test_growth_chart_writes_a_png(sweep: pl.DataFrame, tmp_path: Path) -> None:
    path = growth_chart(sweep, tmp_path / "growth.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
    again = growth_chart(sweep, tmp_path / "again.png", kelly=0.2)
    assert again.read_bytes() == data  # same data, same marks, same bytes
