"""Policies: the protocols a strategy satisfies and the built-in strategies."""

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

__all__ = [
    "BollingerReversion",
    "BuyAndHold",
    "DonchianBreakout",
    "EmaCross",
    "FixedWeights",
    "RsiReversion",
    "SmaCross",
    "VolTargetTrend",
]
