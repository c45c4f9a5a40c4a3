"""Sizers: from a target exposure to a position size (fixed, Kelly, target-hitting, hybrid).

The :class:`Sizer` protocol and :class:`SizingRequest` are in :mod:`.sizers`; utility-aware
sizers (Kelly, volatility target, target hitting) in :mod:`.utility`, regime switching in
:mod:`.hybrid`, and the closed forms behind them in :mod:`.target_hitting`.
"""

from houseedge.core.sizing.hybrid import Condition, Hybrid, InputAbove, NearTarget
from houseedge.core.sizing.sizers import (
    FixedFraction,
    FixedUnits,
    Sizer,
    SizingRequest,
    TargetWeights,
)
from houseedge.core.sizing.target_hitting import (
    binary_log_growth,
    deadline_hit_probability,
    hit_probability,
    kelly_binary,
    kelly_continuous,
    log_growth,
    simulated_hit_probability,
)
from houseedge.core.sizing.utility import (
    KellyBinary,
    KellyContinuous,
    TargetHitting,
    VolatilityTarget,
)

__all__ = [
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
]
