"""The live engine: pipeline, decisions, fast-path steppers and reconciliation."""

from houseedge.live.engine._engine import Engine
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
    "Engine",
    "History",
    "LiveContext",
    "OrderRunner",
    "PolicySpec",
    "Stepper",
    "Unsupported",
    "VectorRunner",
    "exact_sum",
    "make_runner",
    "reconcile",
    "stepper_factory",
]
