"""Each core subpackage's public surface is pinned: a change is a deliberate edit here.

The order of each ``__all__`` is ruff's (RUF022), checked by ``ruff check``.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC: dict[str, list[str]] = {
    "features": [
        "Feature",
        "FeatureSet",
        "IntoExpr",
        "atr",
        "bar_close_time",
        "bollinger",
        "day_of_week",
        "ema",
        "join_higher_timeframe",
        "log_returns",
        "minute_of_day",
        "pipeline",
        "returns",
        "rolling_high",
        "rolling_low",
        "rolling_volatility",
        "rsi",
        "session_open",
        "sma",
        "swing_high",
        "swing_low",
        "true_range",
        "wma",
        "zscore",
    ],
    "policies": [
        "FAST_PATH_KINDS",
        "POLICIES",
        "REFERENCE_ATTRIBUTE",
        "SOURCE_ATTRIBUTE",
        "BollingerReversion",
        "BuyAndHold",
        "Decomposition",
        "DonchianBreakout",
        "EmaCross",
        "FastPathKind",
        "FixedWeights",
        "Mode",
        "OrderPolicy",
        "PolicyContext",
        "PolicyHooks",
        "RsiReversion",
        "Signal",
        "SmaCross",
        "Stepper",
        "StepperFactory",
        "VectorPolicy",
        "VolTargetTrend",
        "allows_short",
        "crossing",
        "fast_path",
        "fast_paths",
        "has_unbounded_state",
        "legs",
        "policy_class",
        "policy_hooks",
        "policy_names",
        "reference_of",
        "register_fast_path",
        "register_policy",
    ],
    "risk": [
        "ACCEPTED",
        "RANK",
        "BreakerState",
        "Monitors",
        "RiskDecision",
        "RiskEvent",
        "RiskGate",
        "RiskLimits",
        "RiskSnapshot",
        "SymbolLimits",
        "breaker_rejection",
        "check_exposure",
        "check_price",
        "check_rate",
        "check_size",
        "diagnose",
        "tolerance",
    ],
    "sizing": [
        "Condition",
        "FixedFraction",
        "FixedUnits",
        "Hybrid",
        "InputAbove",
        "KellyBinary",
        "KellyContinuous",
        "NearTarget",
        "Sizer",
        "SizingRequest",
        "TargetHitting",
        "TargetWeights",
        "VolatilityTarget",
        "binary_log_growth",
        "deadline_hit_probability",
        "hit_probability",
        "kelly_binary",
        "kelly_continuous",
        "log_growth",
        "simulated_hit_probability",
    ],
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_pinned_and_resolves(name: str) -> None:
    module = importlib.import_module(f"houseedge.core.{name}")
    assert module.__all__ == PUBLIC[name]
    assert [export for export in PUBLIC[name] if not hasattr(module, export)] == []
