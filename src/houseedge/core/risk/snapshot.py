"""What ``GET /risk`` shows of :class:`houseedge.core.risk.gate.RiskGate`."""

from __future__ import annotations

import msgspec

from houseedge.core.risk.limits import RiskLimits
from houseedge.core.risk.monitors import BreakerState, RiskEvent

__all__ = ["RiskSnapshot"]


class RiskSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /risk`` shows: limits, usage, breaker states and counters."""

    state: BreakerState
    policy_states: dict[str, BreakerState]
    kill_requested: bool
    flatten_requested: bool
    equity: float | None
    equity_peak: float | None
    day_open_equity: float | None
    monitors: dict[str, float | None]
    policy_losses: dict[str, float]
    tripped: dict[str, str]
    orders_in_window: int
    accepted: int
    rejected: dict[str, int]
    fills: int
    traded_notional: dict[str, float]
    events: list[RiskEvent]
    limits: RiskLimits
    policy_limits: dict[str, RiskLimits]
