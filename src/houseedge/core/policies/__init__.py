"""Policies: the protocols a strategy satisfies, the built-in strategies and their registries.

One registry maps names to policy classes (:mod:`~houseedge.core.policies.registry`); one maps
policy classes to the fast paths engines use instead of their Polars target
(:mod:`~houseedge.core.policies.fastpaths`).
"""

from houseedge.core.policies.builtin import (
    BollingerReversion,
    BuyAndHold,
    DonchianBreakout,
    EmaCross,
    FixedWeights,
    RsiReversion,
    SmaCross,
    VolTargetTrend,
)
from houseedge.core.policies.fastpaths import (
    FAST_PATH_KINDS,
    Decomposition,
    FastPathKind,
    Stepper,
    StepperFactory,
    fast_path,
    fast_paths,
    register_fast_path,
)
from houseedge.core.policies.positions import Mode, Signal, crossing, legs
from houseedge.core.policies.protocol import (
    OrderPolicy,
    PolicyContext,
    PolicyHooks,
    VectorPolicy,
    allows_short,
    has_unbounded_state,
    policy_hooks,
)
from houseedge.core.policies.registry import (
    POLICIES,
    REFERENCE_ATTRIBUTE,
    SOURCE_ATTRIBUTE,
    policy_class,
    policy_names,
    reference_of,
    register_policy,
)

__all__ = [
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
]
