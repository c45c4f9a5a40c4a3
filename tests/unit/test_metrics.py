"""Metric expressions on tiny hand-computed inputs, plus missing, empty and grouped data."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from houseedge.errors import SchemaMismatch
from houseedge.research.metrics import (
    aggregate_returns,
    alpha,
    alpha_beta,
    annual_return,
    annual_volatility,
    average_r,
    beta,
    calmar_ratio,
    conditional_value_at_risk,
    cum_returns,
    down_capture,
    downside_risk,
    drawdown,
    drawdown_table,
    expectancy,
    exposure,
    max_drawdown,
    omega_ratio,
    profit_factor,
    r_distribution,
    rolling_max_drawdown,
    rolling_sharpe,
    sharpe_ratio,
    sortino_ratio,
    stability_of_timeseries,
    summary,
    tail_ratio,
    total_return,
    trade_summary,
    up_capture,
    value_at_risk,
    win_rate,
)

SCALAR_METRICS = [
    total_return(),
    annual_return(),
    annual_volatility(),
    sharpe_ratio(),
    sortino_ratio(),
    downside_risk(),
    calmar_ratio(),
    omega_ratio(),
    max_drawdown(),
    value_at_risk(),
    conditional_value_at_risk(),
    tail_ratio(),
    stability_of_timeseries(),
]


def one(expr: pl.Expr, returns: list[float | None], **columns: list[float | None]) -> float:
    frame = pl.DataFrame({"returns": returns, **columns}, schema_overrides={"returns": pl.Float64})
    return frame.select(expr).item()


# --- compounding and drawdowns -----------------------------------------------------------------


def test_max_drawdown_of_a_known_path() -> None:
    # wealth 1.1, 0.55, 0.66: the fall from 1.1 to 0.55 is half
    assert one(max_drawdown(), [0.1, -0.5, 0.2]) == pytest.approx(-0.5)


def test_max_drawdown_counts_a_loss_on_the_first_period() -> None:
    assert one(max_drawdown(), [-0.2, 0.1]) == pytest.approx(-0.2)


def test_max_drawdown_is_zero_when_the_path_only_rises() -> None:
    assert one(max_drawdown(), [0.1, 0.0, 0.2]) == 0.0


def test_drawdown_series_follows_the_running_peak() -> None:
    frame = pl.DataFrame({"returns": [0.1, -0.5, 0.2, 1.0]})
    assert frame.select(drawdown()).to_series().to_list() == pytest.approx([0.0, -0.5, -0.4, 0.0])


def test_missing_returns_compound_as_zero() -> None:
    assert one(total_return(), [None, 0.1, float("nan"), 0.1]) == pytest.approx(0.21)
    frame = pl.DataFrame({"returns": [0.1, None, 0.1]})
    assert frame.select(cum_returns()).to_series().to_list() == pytest.approx([0.1, 0.1, 0.21])
    wealth = frame.select(cum_returns(starting_value=100.0)).to_series()
    assert wealth.to_list() == pytest.approx([110.0, 110.0, 121.0])


def test_annual_return_counts_missing_rows_as_periods() -> None:
    # growth 1.21 over 2 periods of a 1-period year: sqrt(1.21) - 1
    assert one(annual_return(periods_per_year=1), [None, 0.21]) == pytest.approx(0.1)
    assert one(annual_return(periods_per_year=2), [0.1, 0.1]) == pytest.approx(0.21)


def test_annual_return_over_calendar_time() -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {"ts": [start, start + dt.timedelta(days=730.5)], "returns": [None, 0.21]},
        schema_overrides={"returns": pl.Float64},
    )
    # 730.5 days are exactly two 365.25-day years
    assert frame.select(annual_return(time="ts")).item() == pytest.approx(0.1)
    assert frame.select(annual_return(time="ts", days_per_year=730.5)).item() == pytest.approx(0.21)


def test_calmar_divides_cagr_by_the_drawdown_and_is_nan_without_one() -> None:
    # wealth 1.5 then 1.2: CAGR over one year 0.2, drawdown 0.2
    assert one(calmar_ratio(periods_per_year=2), [0.5, -0.2]) == pytest.approx(1.0)
    assert math.isnan(one(calmar_ratio(), [0.01, 0.02]))


def test_rolling_max_drawdown_restarts_each_window() -> None:
    frame = pl.DataFrame({"returns": [0.1, -0.5, 0.2, 0.5, -0.1]})
    out = frame.select(rolling_max_drawdown(window=2)).to_series().to_list()
    assert out[0] is None
    assert out[1:] == pytest.approx([-0.5, -0.5, 0.0, -0.1])
    with pytest.raises(ValueError, match="window"):
        rolling_max_drawdown(window=0)


def test_rolling_max_drawdown_runs_per_group() -> None:
    frame = pl.DataFrame({"run": [1, 1, 2, 2], "returns": [-0.5, 0.1, 0.2, -0.2]})
    out = frame.select(rolling_max_drawdown(window=2).over("run")).to_series().to_list()
    assert out[0] is None
    assert out[2] is None
    assert out[1] == pytest.approx(-0.5)
    assert out[3] == pytest.approx(-0.2)


def test_drawdown_views_agree_on_the_worst_fall() -> None:
    returns = [0.0, 0.05, -0.1, 0.02, -0.2, 0.3, -0.05, 0.01]
    frame = pl.DataFrame({"returns": returns})
    worst = frame.select(max_drawdown()).item()
    assert frame.select(drawdown().min()).item() == worst
    full_window = frame.select(rolling_max_drawdown(window=len(returns))).to_series()
    assert full_window[-1] == pytest.approx(worst)
    table = drawdown_table(frame["returns"], top=1)
    assert table["net_drawdown_pct"][0] == pytest.approx(-worst * 100)


# --- moments and quantiles ---------------------------------------------------------------------


def test_volatility_and_sharpe_by_hand() -> None:
    returns = [0.01, 0.03]
    # mean 0.02, sample std sqrt(0.0002), population std 0.01
    assert one(annual_volatility(periods_per_year=4), returns) == pytest.approx(
        math.sqrt(0.0002) * 2
    )
    assert one(sharpe_ratio(periods_per_year=1, ddof=0), returns) == pytest.approx(2.0)
    assert one(sharpe_ratio(periods_per_year=4, ddof=1), returns) == pytest.approx(
        0.02 / math.sqrt(0.0002) * 2
    )


def test_sharpe_takes_a_per_period_risk_free_column() -> None:
    # excess returns 0.0 and 0.02
    value = one(
        sharpe_ratio(periods_per_year=1, ddof=0, risk_free="rf"), [0.01, 0.03], rf=[0.01, 0.01]
    )
    assert value == pytest.approx(1.0)


def test_sharpe_drops_missing_values() -> None:
    assert one(sharpe_ratio(ddof=0, periods_per_year=1), [None, 0.01, float("nan"), 0.03]) == (
        pytest.approx(2.0)
    )


def test_downside_risk_averages_over_all_observations() -> None:
    # shortfalls 0, 0, -0.02, -0.02 -> sqrt(0.0008 / 4)
    value = one(downside_risk(periods_per_year=1), [0.05, 0.01, -0.02, -0.02])
    assert value == pytest.approx(math.sqrt(0.0002))


def test_sortino_by_hand_and_infinite_without_shortfall() -> None:
    # mean 0.01, downside sqrt(0.0004 / 2)
    assert one(sortino_ratio(periods_per_year=1), [0.04, -0.02]) == pytest.approx(
        0.01 / math.sqrt(0.0002)
    )
    assert one(sortino_ratio(), [0.01, 0.02]) == math.inf
    # a required return lifts the bar: both returns fall short of 0.05
    assert one(sortino_ratio(required_return=0.05), [0.01, 0.02]) < 0


def test_omega_converts_an_annual_required_return() -> None:
    returns = [0.03, -0.01, 0.01, -0.02]
    assert one(omega_ratio(), returns) == pytest.approx(0.04 / 0.03)
    # an annual 21% over two periods is a 10% per-period bar
    gains, losses = 0.0, 0.07 + 0.11 + 0.09 + 0.12
    value = one(omega_ratio(periods_per_year=2, required_return=0.21), returns)
    assert value == pytest.approx(gains / losses)
    assert one(omega_ratio(), [0.01, 0.02]) == math.inf
    with pytest.raises(ValueError, match="required_return"):
        omega_ratio(required_return=-1.0)


def test_value_at_risk_interpolates_linearly() -> None:
    assert one(value_at_risk(cutoff=0.1), [1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(1.4)


def test_conditional_value_at_risk_means_the_worst_k_plus_one() -> None:
    returns = [0.05, -0.04, None, 0.01, -0.02, 0.0]
    # five observed: k = floor(4 * 0.5) = 2, the three worst are -0.04, -0.02, 0.0
    assert one(conditional_value_at_risk(cutoff=0.5), returns) == pytest.approx(-0.02)
    assert one(conditional_value_at_risk(cutoff=0.05), returns) == pytest.approx(-0.04)


def test_tail_ratio_by_hand() -> None:
    # 95th percentile 0.018, 5th percentile -0.009
    assert one(tail_ratio(), [-0.01, 0.0, 0.02]) == pytest.approx(2.0)


def test_stability_is_one_for_steady_growth_and_lower_otherwise() -> None:
    assert one(stability_of_timeseries(), [0.01, None, 0.01, 0.01]) == pytest.approx(1.0)
    assert one(stability_of_timeseries(), [0.1, -0.1, 0.1, -0.1]) < 0.5


def test_rolling_sharpe_by_hand() -> None:
    frame = pl.DataFrame({"returns": [0.01, 0.03, 0.01, None, 0.02]})
    out = frame.select(rolling_sharpe(window=2, periods_per_year=1, ddof=0)).to_series()
    assert out.to_list()[:3] == [None, pytest.approx(2.0), pytest.approx(2.0)]
    # a window holding a missing return is null
    assert out.to_list()[3:] == [None, None]


# --- benchmark ---------------------------------------------------------------------------------


def test_beta_and_alpha_use_rows_where_both_are_observed() -> None:
    frame = pl.DataFrame(
        {
            "returns": [0.03, -0.01, 0.05, 9.0, None],
            "benchmark": [0.01, -0.01, 0.02, None, 0.5],
        }
    )
    # returns = 2 * benchmark + 0.01 on the three paired rows
    assert frame.select(beta()).item() == pytest.approx(2.0)
    assert frame.select(alpha(periods_per_year=1)).item() == pytest.approx(0.01)
    assert frame.select(alpha(periods_per_year=2)).item() == pytest.approx(1.01**2 - 1)
    pair = frame.select(alpha_beta(periods_per_year=1)).item()
    assert pair == {"alpha": pytest.approx(0.01), "beta": pytest.approx(2.0)}


def test_capture_ratios_split_on_the_benchmark_sign() -> None:
    frame = pl.DataFrame({"returns": [0.02, -0.03, 0.5], "benchmark": [0.01, -0.01, None]})
    assert frame.select(up_capture(periods_per_year=1)).item() == pytest.approx(2.0)
    assert frame.select(down_capture(periods_per_year=1)).item() == pytest.approx(3.0)
    rising = pl.DataFrame({"returns": [0.02], "benchmark": [0.01]})
    assert rising.select(down_capture()).item() is None


# --- missing, empty, grouped, lazy -------------------------------------------------------------


@pytest.mark.parametrize("returns", [[], [None, None], [float("nan")]])
def test_metrics_without_observations_are_null(returns: list[float | None]) -> None:
    frame = pl.DataFrame({"returns": returns}, schema={"returns": pl.Float64})
    row = frame.select(SCALAR_METRICS).row(0, named=True)
    assert row == dict.fromkeys(row)


def test_metrics_run_per_group_and_lazily() -> None:
    frame = pl.DataFrame(
        {"run": [1, 1, 1, 2, 2, 2], "returns": [0.1, -0.5, 0.2, 0.01, 0.02, -0.01]}
    )
    grouped = (
        frame.lazy().group_by("run", maintain_order=True).agg(SCALAR_METRICS).collect().drop("run")
    )
    for index, run in enumerate([1, 2]):
        alone = frame.filter(pl.col("run") == run).select(SCALAR_METRICS)
        assert grouped.row(index) == pytest.approx(alone.row(0), nan_ok=True)


def test_summary_has_one_row_per_group_and_adds_benchmark_metrics() -> None:
    frame = pl.DataFrame(
        {
            "run": [1, 1, 2, 2],
            "returns": [0.02, -0.02, 0.04, 0.0],
            "benchmark": [0.01, -0.01, 0.02, 0.0],
        }
    )
    out = summary(frame, by="run", benchmark="benchmark", periods_per_year=1)
    assert out["run"].to_list() == [1, 2]
    assert out["beta"].to_list() == pytest.approx([2.0, 2.0])
    assert out["max_drawdown"].to_list() == pytest.approx([-0.02, 0.0])
    assert "alpha" not in summary(frame).columns
    assert summary(frame.lazy()).height == 1


# --- drawdown table ----------------------------------------------------------------------------


def test_drawdown_table_ranks_periods_and_leaves_unrecovered_open() -> None:
    returns = pl.Series([0.1, -0.5, 0.2, 1.0, -0.1, -0.1, 0.5, -0.6])
    table = drawdown_table(returns, top=5)
    # worst first: -0.6 at the end (never recovered), then -0.5, then -0.19
    assert table["peak"].to_list() == [6, 0, 3]
    assert table["valley"].to_list() == [7, 1, 5]
    assert table["recovery"].to_list() == [None, 3, 6]
    assert table["net_drawdown_pct"].to_list() == pytest.approx([60.0, 50.0, 19.0])
    assert table["duration"].to_list() == [None, 4, 4]
    assert drawdown_table(returns, top=1).height == 1


def test_drawdown_table_counts_business_days_on_dates() -> None:
    days = pl.date_range(dt.date(2024, 1, 5), dt.date(2024, 1, 10), eager=True)  # Fri .. Wed
    frame = pl.DataFrame({"ts": days, "returns": [0.0, -0.1, 0.0, 0.0, 0.2, 0.0]})
    table = drawdown_table(frame)
    assert table.row(0, named=True)["peak"] == dt.date(2024, 1, 5)
    assert table.row(0, named=True)["recovery"] == dt.date(2024, 1, 9)
    assert table["duration"].to_list() == [3]  # Fri, Mon, Tue


def test_drawdown_table_is_empty_without_a_drawdown() -> None:
    assert drawdown_table(pl.Series([0.1, 0.2])).is_empty()
    assert drawdown_table(pl.Series([], dtype=pl.Float64)).is_empty()


def test_drawdown_table_names_a_missing_column() -> None:
    with pytest.raises(SchemaMismatch, match="ts"):
        drawdown_table(pl.DataFrame({"returns": [0.1]}))


# --- aggregation -------------------------------------------------------------------------------


def test_aggregate_returns_compounds_calendar_periods() -> None:
    # 2024-01-07 is a Sunday, 2024-01-08 a Monday
    frame = pl.DataFrame(
        {
            "ts": [
                dt.date(2024, 1, 7),
                dt.date(2024, 1, 8),
                dt.date(2024, 1, 9),
                dt.date(2025, 3, 1),
            ],
            "returns": [0.1, 0.1, 0.1, -0.5],
        }
    )
    weekly = aggregate_returns(frame, "weekly")
    assert weekly["ts"].to_list() == [
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 8),
        dt.date(2025, 2, 24),
    ]
    assert weekly["returns"].to_list() == pytest.approx([0.1, 0.21, -0.5])
    yearly = aggregate_returns(frame.lazy(), "yearly").collect()
    assert yearly["returns"].to_list() == pytest.approx([0.331, -0.5])
    with pytest.raises(ValueError, match="convert_to"):
        aggregate_returns(frame, "hourly")  # type: ignore[arg-type]


def test_aggregate_returns_per_group() -> None:
    frame = pl.DataFrame(
        {"run": ["b", "a", "b"], "ts": [dt.date(2024, 1, 2)] * 3, "returns": [0.1, 0.2, 0.1]}
    )
    out = aggregate_returns(frame, "monthly", by="run")
    assert out["run"].to_list() == ["a", "b"]
    assert out["returns"].to_list() == pytest.approx([0.2, 0.21])


# --- trades ------------------------------------------------------------------------------------

TRADES = pl.DataFrame(
    {
        "pnl": [10.0, -5.0, 0.0, 25.0, None],
        "return_pct": [0.02, -0.01, 0.0, 0.05, None],
        "r_multiple": [2.0, -1.0, None, 5.0, None],
        "bars_held": [3, 1, 2, 10, 4],
    }
)


def test_trade_metrics_by_hand() -> None:
    out = TRADES.select(win_rate(), profit_factor(), expectancy(), average_r()).row(0)
    assert out == pytest.approx((0.5, 7.0, 7.5, 2.0))


def test_trade_metrics_edge_cases() -> None:
    winners = pl.DataFrame({"pnl": [1.0, 2.0]})
    assert winners.select(profit_factor()).item() == math.inf
    empty = pl.DataFrame(
        {"pnl": [], "r_multiple": []}, schema={"pnl": pl.Float64, "r_multiple": pl.Float64}
    )
    assert empty.select(win_rate(), profit_factor(), expectancy(), average_r()).row(0) == (
        None,
        None,
        None,
        None,
    )


def test_exposure_is_the_fraction_of_bars_in_the_market() -> None:
    bars = pl.DataFrame(
        {"position": [0.0, 1.5, -1.0, 0.0, None], "exposure": [0.0, 0.5, 0.5, 0.5, 0.0]}
    )
    assert bars.select(exposure()).item() == pytest.approx(0.5)
    assert bars.select(exposure("exposure")).item() == pytest.approx(0.6)


def test_r_distribution_keeps_empty_bins() -> None:
    hist = r_distribution(TRADES, bin_width=2.0)
    assert hist["lower"].to_list() == [-2.0, 0.0, 2.0, 4.0]
    assert hist["count"].to_list() == [1, 0, 1, 1]
    assert hist["fraction"].sum() == pytest.approx(1.0)
    assert r_distribution(TRADES.filter(pl.lit(value=False))).is_empty()
    with pytest.raises(ValueError, match="bin_width"):
        r_distribution(TRADES, bin_width=0.0)


def test_trade_summary_per_group_and_missing_columns() -> None:
    trades = TRADES.with_columns(run=pl.Series([1, 1, 2, 2, 2]))
    out = trade_summary(trades.lazy(), by="run")
    assert out["trades"].to_list() == [2, 3]
    assert out["win_rate"].to_list() == pytest.approx([0.5, 0.5])
    assert out["average_bars_held"].to_list() == pytest.approx([2.0, 16 / 3])
    with pytest.raises(SchemaMismatch, match="bars_held"):
        trade_summary(TRADES.drop("bars_held"))
