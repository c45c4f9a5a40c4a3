"""Post-trade monitors and the circuit breaker behind :class:`houseedge.core.risk.gate.RiskGate`.

The breaker has three states, ordered ``normal < reduce_only < halted``. Every equity mark feeds
five monitors; each compares its figure with a soft threshold (→ ``reduce_only``) and a hard one
(→ ``halted``):

``drawdown``
    ``(peak - equity) / peak``, the peak being the highest equity marked since start or reset.
``daily_loss``
    ``(day_open - equity) / day_open``; ``day_open`` is the last equity marked before the session
    day began (``session_start``, UTC), or the first mark of the day when there was none.
``rapid_loss``
    ``(high - equity) / high``, ``high`` the highest equity marked in the last
    ``rapid_loss_window_s`` seconds.
``var``
    the value at risk of the account's returns between the last ``var_window`` marks
    (:mod:`houseedge.core.risk.var`: historical or parametric, at ``var_confidence``).
``policy_loss``
    ``day_open_pnl - pnl`` in account currency, per policy, from the PnL the engine reports for
    it; it moves only that policy's own breaker.

The breaker latches: monitors only ever escalate it. Only an operator's
:meth:`Monitors.reset` brings it back to ``normal``, and it re-bases every monitor at the last
mark (the operator accepts the losses so far). A new session day re-bases ``daily_loss`` and
``policy_loss`` but does not reset the breaker.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final

import msgspec

from houseedge.core.risk.limits import RiskLimits, session_offset_ns
from houseedge.core.risk.var import ReturnsVaR

__all__ = ["RANK", "BreakerState", "Monitors", "RiskEvent"]

DAY_NS: Final = 86_400_000_000_000
_NO_EVENTS: Final[tuple[()]] = ()


class BreakerState(enum.StrEnum):
    """The circuit breaker's state: what kind of order may still pass."""

    NORMAL = "normal"
    REDUCE_ONLY = "reduce_only"
    HALTED = "halted"


RANK: Final = {BreakerState.NORMAL: 0, BreakerState.REDUCE_ONLY: 1, BreakerState.HALTED: 2}
"""Severity of each state; the breaker only moves up by itself."""
_BY_RANK: Final = tuple(RANK)


class RiskEvent(msgspec.Struct, frozen=True, kw_only=True, tag="risk"):
    """A breaker transition, a kill or a reset.

    ``kind`` is the monitor that tripped (``"drawdown"``, ``"daily_loss"``, ``"rapid_loss"``,
    ``"policy_loss"``) or ``"kill"``/``"reset"``; ``state`` the breaker state after it (the
    policy's own state when ``policy`` is set); ``value`` the measured figure and ``threshold``
    the one it crossed.

    Examples
    --------
    >>> RiskEvent(kind="drawdown", state=BreakerState.HALTED, detail="...").state
    <BreakerState.HALTED: 'halted'>
    """

    kind: str
    state: BreakerState
    detail: str
    ts: int = 0
    policy: str | None = None
    value: float = 0.0
    threshold: float = 0.0


class Monitors:
    """Equity and per-policy loss monitors driving the breaker (mutable, owned by the gate).

    Examples
    --------
    >>> monitors = Monitors(RiskLimits(drawdown_soft=0.05, drawdown_hard=0.1))
    >>> monitors.mark(100.0, 0)
    ()
    >>> [(e.kind, e.state) for e in monitors.mark(94.0, 1)]
    [('drawdown', <BreakerState.REDUCE_ONLY: 'reduce_only'>)]
    >>> monitors.mark(99.0, 2), monitors.state  # latched until an operator resets
    ((), <BreakerState.REDUCE_ONLY: 'reduce_only'>)
    """

    def __init__(
        self, limits: RiskLimits, policy_limits: Callable[[str], RiskLimits] | None = None
    ) -> None:
        self.limits = limits
        self._policy_limits = policy_limits or self._same_limits
        self._offset = session_offset_ns(limits.session_start)
        self._window_ns = round(limits.rapid_loss_window_s * 1e9)
        self.rank = 0
        self.policy_rank: dict[str, int] = {}
        self.equity = math.nan
        self.peak = math.nan
        self.day: int | None = None
        self.day_open = math.nan
        self._highs: deque[tuple[int, float]] = deque()
        self.policy_pnl: dict[str, float] = {}
        self.policy_open: dict[str, float] = {}
        self.tripped: dict[str, str] = {}
        self._var = ReturnsVaR(limits.var_window, limits.var_confidence, limits.var_method)

    def _same_limits(self, _policy: str) -> RiskLimits:
        return self.limits

    @property
    def state(self) -> BreakerState:
        """Return the account-wide breaker state."""
        return _BY_RANK[self.rank]

    def policy_state(self, policy: str) -> BreakerState:
        """Return the state for ``policy``'s orders: the worse of its own and the account's."""
        return _BY_RANK[max(self.rank, self.policy_rank.get(policy, 0))]

    def figures(self) -> dict[str, float]:
        """Return each monitor's current figure (NaN before the first mark)."""
        return {
            "drawdown": _fraction(self.peak, self.equity),
            "daily_loss": _fraction(self.day_open, self.equity),
            "rapid_loss": _fraction(self._highs[0][1], self.equity) if self._highs else math.nan,
            "var": self._var.value(),
        }

    def policy_losses(self) -> dict[str, float]:
        """Return each policy's loss since its session-day open (currency; negative = gain)."""
        return {p: self.policy_open[p] - pnl for p, pnl in self.policy_pnl.items()}

    def mark(
        self, equity: float, now_ns: int, policy_pnl: Mapping[str, float] | None = None
    ) -> tuple[RiskEvent, ...]:
        """Feed an equity mark (and each policy's PnL); return the transitions it caused."""
        if not math.isfinite(equity):
            msg = f"equity must be finite, got {equity}"
            raise ValueError(msg)
        self._roll_day(equity, now_ns, policy_pnl or {})
        self.equity = equity
        self._var.add(equity)
        if math.isnan(self.peak) or equity > self.peak:
            self.peak = equity
        highs, cutoff = self._highs, now_ns - self._window_ns
        while highs and highs[-1][1] <= equity:
            highs.pop()
        highs.append((now_ns, equity))
        while highs[0][0] <= cutoff:
            highs.popleft()
        events: list[RiskEvent] = []
        lim = self.limits
        for kind, value in self.figures().items():
            soft, hard = getattr(lim, f"{kind}_soft"), getattr(lim, f"{kind}_hard")
            self._escalate(events, kind, value, soft, hard, now_ns, None)
        if policy_pnl:
            self._policies(events, policy_pnl, now_ns)
        return tuple(events) if events else _NO_EVENTS

    def _roll_day(self, equity: float, now_ns: int, policy_pnl: Mapping[str, float]) -> None:
        day = (now_ns - self._offset) // DAY_NS
        if day != self.day:
            self.day = day
            self.day_open = equity if math.isnan(self.equity) else self.equity
            self.policy_open = {p: self.policy_pnl.get(p, v) for p, v in policy_pnl.items()}
        for p, v in policy_pnl.items():
            self.policy_open.setdefault(p, self.policy_pnl.get(p, v))

    def _policies(self, events: list[RiskEvent], pnl: Mapping[str, float], now_ns: int) -> None:
        self.policy_pnl.update(pnl)
        for policy, value in pnl.items():
            lim = self._policy_limits(policy)
            loss = self.policy_open[policy] - value
            soft, hard = lim.policy_loss_soft, lim.policy_loss_hard
            self._escalate(events, "policy_loss", loss, soft, hard, now_ns, policy)

    def _escalate(
        self,
        events: list[RiskEvent],
        kind: str,
        value: float,
        soft: float | None,
        hard: float | None,
        now_ns: int,
        policy: str | None,
    ) -> None:
        # NaN figures (no peak yet, zero equity) compare False and trip nothing.
        level, threshold = 0, 0.0
        if hard is not None and value >= hard:
            level, threshold = 2, hard
        elif soft is not None and value >= soft:
            level, threshold = 1, soft
        current = self.rank if policy is None else self.policy_rank.get(policy, 0)
        if level <= current:
            return
        if policy is None:
            self.rank = level
        else:
            self.policy_rank[policy] = level
        state = _BY_RANK[level]
        self.tripped[kind if policy is None else f"{kind}:{policy}"] = state.value
        who = "" if policy is None else f" of policy {policy}"
        detail = f"{kind}{who} {value:.6g} >= {threshold:.6g}: breaker {state}"
        event = RiskEvent(
            kind=kind,
            state=state,
            detail=detail,
            ts=now_ns,
            policy=policy,
            value=value,
            threshold=threshold,
        )
        events.append(event)

    def escalate_to(self, rank: int) -> None:
        """Raise the account-wide breaker to at least ``rank`` (a kill)."""
        self.rank = max(self.rank, rank)

    def reset(self) -> None:
        """Return every breaker to normal and re-base the monitors at the last mark."""
        self.rank = 0
        self.policy_rank.clear()
        self.tripped.clear()
        if not math.isnan(self.equity):
            self.peak = self.day_open = self.equity
            self._highs.clear()
        self._var.clear()
        self.policy_open = dict(self.policy_pnl)


def _fraction(base: float, equity: float) -> float:
    return (base - equity) / base if base > 0 else math.nan
