"""The pre-trade risk gate, its limits, checks and post-trade monitors."""

from houseedge.core.risk.checks import (
    ACCEPTED,
    RiskDecision,
    breaker_rejection,
    check_concentration,
    check_exposure,
    check_price,
    check_rate,
    check_size,
    diagnose,
)
from houseedge.core.risk.gate import (
    BreakerState,
    RiskEvent,
    RiskGate,
    RiskLimits,
    RiskSnapshot,
    SymbolLimits,
)
from houseedge.core.risk.limits import tolerance
from houseedge.core.risk.monitors import RANK, Monitors
from houseedge.core.risk.var import ReturnsVaR

__all__ = [
    "ACCEPTED",
    "RANK",
    "BreakerState",
    "Monitors",
    "ReturnsVaR",
    "RiskDecision",
    "RiskEvent",
    "RiskGate",
    "RiskLimits",
    "RiskSnapshot",
    "SymbolLimits",
    "breaker_rejection",
    "check_concentration",
    "check_exposure",
    "check_price",
    "check_rate",
    "check_size",
    "diagnose",
    "tolerance",
]
