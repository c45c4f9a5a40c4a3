"""The live engine: pipeline, decisions, fast-path steppers and reconciliation."""

from houseedge.live.engine._engine import Engine
from houseedge.live.engine._strategies import DEFAULT_DECISION_BUDGET, Strategy, StrategyState
from houseedge.live.engine.pipeline import (
    History,
    LiveContext,
    OrderRunner,
    PolicySpec,
    VectorRunner,
    make_runner,
)
from houseedge.live.engine.reconcile import reconcile
from houseedge.live.engine.steppers import Stepper, Unsupported, exact_sum, stepper_factory

__all__ = [
    "DEFAULT_DECISION_BUDGET",
    "Engine",
    "History",
    "LiveContext",
    "OrderRunner",
    "PolicySpec",
    "Stepper",
    "Strategy",
    "StrategyState",
    "Unsupported",
    "VectorRunner",
    "exact_sum",
    "make_runner",
    "reconcile",
    "stepper_factory",
]
