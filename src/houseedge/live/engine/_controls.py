"""The operator controls a restart puts back: kill switch, breakers and pause, from the journal.

Every change of them is a journaled event: a breaker transition (a ``risk`` event with a
``state``: a monitor's trip, the kill switch, an operator's reset) or an engine event
(``paused``, ``resumed``, ``killed`` with its ``flatten`` flag). :func:`fold` replays them in
journal order, so a halted account is halted again after a restart until ``POST /reset``, and a
paused engine stays paused until ``POST /resume``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from houseedge.core.risk.gate import RiskGate
from houseedge.core.risk.monitors import RANK, BreakerState
from houseedge.live.journal import JournalEvent

__all__ = ["Controls", "fold", "restore"]

_STATES = {rank: state for state, rank in RANK.items()}


class Controls(msgspec.Struct, kw_only=True):
    """The controls the journal leaves in force."""

    state: BreakerState = BreakerState.NORMAL
    policy_states: dict[str, BreakerState] = msgspec.field(default_factory=dict[str, BreakerState])
    killed: bool = False
    flatten: bool = False
    paused: bool = False

    @property
    def active(self) -> bool:
        """Return True when anything is other than a fresh engine's."""
        return self != Controls()


def _breaker(controls: Controls, payload: dict[str, Any]) -> None:
    if payload.get("kind") == "reset":
        controls.state, controls.killed, controls.flatten = BreakerState.NORMAL, False, False
        controls.policy_states.clear()
        return
    controls.killed = controls.killed or payload.get("kind") == "kill"
    rank = RANK[BreakerState(payload["state"])]
    policy = payload.get("policy")
    if policy:
        held = RANK[controls.policy_states.get(policy, BreakerState.NORMAL)]
        controls.policy_states[policy] = _STATES[max(held, rank)]
    else:
        controls.state = _STATES[max(RANK[controls.state], rank)]


def fold(events: Iterable[JournalEvent]) -> Controls:
    """Return the controls the journal's control events leave in force.

    Examples
    --------
    >>> def event(table, **payload):
    ...     return JournalEvent(id=0, kind=table, ts=0, payload=payload)
    >>> kill = event("risk", kind="kill", state="halted")
    >>> halted = fold([kill, event("engine", event="killed", flatten=True)])
    >>> halted.state, halted.killed, halted.flatten, halted.paused
    (<BreakerState.HALTED: 'halted'>, True, True, False)
    >>> reset = event("risk", kind="reset", state="normal")
    >>> after = fold([kill, event("engine", event="paused"), reset])
    >>> after.state, after.killed, after.paused
    (<BreakerState.NORMAL: 'normal'>, False, True)
    """
    controls = Controls()
    for event in events:
        payload = event.payload
        if event.kind == "risk":
            _breaker(controls, payload)
        elif payload.get("event") in ("paused", "resumed"):
            controls.paused = payload["event"] == "paused"
        elif payload.get("event") == "killed":
            controls.flatten = controls.killed and (controls.flatten or bool(payload["flatten"]))
    return controls


def restore(gate: RiskGate, controls: Controls) -> None:
    """Put ``controls``' breakers and kill switch back on ``gate``."""
    gate.restore(
        controls.state, controls.policy_states, killed=controls.killed, flatten=controls.flatten
    )
