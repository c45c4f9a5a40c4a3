"""Policies: the protocols a strategy satisfies, the built-in strategies and their registry."""

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
from houseedge.core.policies.protocol import (
    OrderPolicy,
    VectorPolicy,
    allows_short,
    has_unbounded_state,
)
from houseedge.core.policies.registry import (
    POLICIES,
    policy_class,
    policy_names,
    register_policy,
)

__all__ = [
    "POLICIES",
    "BollingerReversion",
    "BuyAndHold",
    "DonchianBreakout",
    "EmaCross",
    "FixedWeights",
    "OrderPolicy",
    "RsiReversion",
    "SmaCross",
    "VectorPolicy",
    "VolTargetTrend",
    "allows_short",
    "has_unbounded_state",
    "policy_class",
    "policy_names",
    "register_policy",
]
