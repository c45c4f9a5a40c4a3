"""Each research subpackage's public surface is pinned: a change is a deliberate edit here."""

from __future__ import annotations

import importlib

import pytest

PUBLIC: dict[str, list[str]] = {
    "metrics": [
        "aggregate_returns",
        "alpha",
        "alpha_beta",
        "annual_return",
        "annual_volatility",
        "average_r",
        "beta",
        "calmar_ratio",
        "conditional_value_at_risk",
        "cum_returns",
        "down_capture",
        "downside_risk",
        "drawdown",
        "drawdown_table",
        "expectancy",
        "exposure",
        "max_drawdown",
        "omega_ratio",
        "profit_factor",
        "r_distribution",
        "rolling_max_drawdown",
        "rolling_sharpe",
        "sharpe_ratio",
        "simple_returns",
        "sortino_ratio",
        "stability_of_timeseries",
        "summary",
        "tail_ratio",
        "total_return",
        "trade_summary",
        "up_capture",
        "value_at_risk",
        "win_rate",
    ],
    "backtest": [
        "COST_PREFIX",
        "DEFAULT_SYMBOL",
        "EXIT_REASONS",
        "BacktestResult",
        "Deferred",
        "Execution",
        "Exits",
        "FillArrays",
        "Finalize",
        "Rebalance",
        "assemble",
        "backtest",
        "block_starts",
        "compound_growth",
        "equity_curve",
        "holdings_per_bar",
        "ledger_trades",
        "match_fifo",
        "policy_identity",
        "positions",
        "prepare",
        "require_bar_columns",
        "round_trips",
        "simulate",
        "source_digest",
    ],
    "events": [
        "EventBacktestResult",
        "EventContext",
        "VectorAsOrders",
        "run_events",
    ],
    "runs": [
        "RunRecord",
        "bars_fingerprint",
        "code_version",
        "frame_digest",
        "list_runs",
        "load_run",
        "save_run",
        "save_runs",
    ],
    "report": [
        "PNG_SIGNATURE",
        "SECTIONS",
        "TRADE_ROWS",
        "drawdown_chart",
        "equity_chart",
        "exposure_chart",
        "histogram_chart",
        "infer_periods_per_year",
        "monthly_returns_chart",
        "plain_text",
        "rolling_sharpe_chart",
        "rolling_window",
        "write_report",
    ],
    "simulation": [
        "MC_PATHS",
        "MC_RUNS",
        "MC_SUMMARY",
        "PATHS_PER_SEED_BLOCK",
        "QUANTILES",
        "BinaryBet",
        "BlockBootstrap",
        "Gbm",
        "IidBootstrap",
        "JumpDiffusion",
        "MonteCarloResult",
        "PathModel",
        "RegimeSwitching",
        "StationaryBootstrap",
        "UncertainBinaryBet",
        "WealthRules",
        "block_rng",
        "draw_returns",
        "fraction_sweep",
        "generate_paths",
        "growth_chart",
        "growth_curve",
        "kelly_fraction",
        "long_frame",
        "path_statistics",
        "returns_sample",
        "save_result",
        "simulate",
        "summarize",
        "wilson_interval",
    ],
    "sweep": [
        "DEFAULT_METRICS",
        "Decomposition",
        "Executor",
        "InProcessExecutor",
        "LocalProcessExecutor",
        "RayExecutor",
        "StoreBars",
        "SweepResult",
        "WalkForwardResult",
        "executor_named",
        "grid_params",
        "random_params",
        "register_decomposition",
        "sweep",
        "walk_forward",
        "windows",
    ],
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_pinned(name: str) -> None:
    module = importlib.import_module(f"houseedge.research.{name}")
    assert module.__all__ == PUBLIC[name]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_sorted_constants_classes_then_functions(name: str) -> None:
    # ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest, each alphabetical.
    def kind(export: str) -> int:
        if export.isupper():
            return 0
        return 1 if export[0].isupper() else 2

    names = PUBLIC[name]
    assert names == sorted(names, key=lambda export: (kind(export), export))


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_export_resolves(name: str) -> None:
    module = importlib.import_module(f"houseedge.research.{name}")
    missing = [export for export in PUBLIC[name] if not hasattr(module, export)]
    assert missing == []
