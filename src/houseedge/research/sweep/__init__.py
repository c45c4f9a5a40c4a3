"""Parameter sweeps, walk-forward analysis and their executors."""

from houseedge.research.sweep._grid import (
    DEFAULT_METRICS,
    Decomposition,
    StoreBars,
    SweepResult,
    grid_params,
    random_params,
    register_decomposition,
    sweep,
)
from houseedge.research.sweep.executors import (
    Executor,
    InProcessExecutor,
    LocalProcessExecutor,
    RayExecutor,
    executor_named,
)
from houseedge.research.sweep.walkforward import WalkForwardResult, walk_forward, windows

__all__ = [
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
]
