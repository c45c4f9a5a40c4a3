"""Each policy as a managed strategy: its state, its decision budget and why it failed.

The engine keeps one :class:`Strategy` per :class:`~houseedge.live.engine.pipeline.PolicySpec`.
Only a ``running`` strategy decides. A decision that raises (the target expression, ``decide``,
or a target that is not a finite number in [-1, 1]) or that takes longer than its budget
(measured with a monotonic clock around the decision; the thread is never interrupted) fails
**that** strategy: it is ``failed``, its working orders are cancelled, a ``strategy`` event is
journaled (:func:`failure`: the reason and the traceback's last frame, never its locals) and
every other strategy keeps trading.

States are journaled as ``strategy`` events (``{"strategy", "state", ...}``), and the last one
of each strategy is its state after a restart (:func:`restore`): a failed strategy stays failed
until an operator acts.

Examples
--------
>>> s = Strategy("sma", budget=0.5)
>>> s.state, s.running
(<StrategyState.RUNNING: 'running'>, True)
>>> try:
...     1 / 0
... except ZeroDivisionError as exc:
...     event = failure(s, exc, now=7)
>>> event["state"], event["reason"], event["frame"]["function"]
('failed', 'ZeroDivisionError: division by zero', '<module>')
>>> s.state, s.running
(<StrategyState.FAILED: 'failed'>, False)
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from houseedge.live.journal import Journal

__all__ = [
    "DEFAULT_DECISION_BUDGET",
    "STRATEGY_EVENT",
    "Strategy",
    "StrategyState",
    "failure",
    "journaled",
    "last_frame",
    "restore",
]

DEFAULT_DECISION_BUDGET = 1.0
"""Seconds a decision may take before its strategy fails (when its spec does not say)."""

STRATEGY_EVENT = "strategy"
"""The journal event kind of a strategy's state change."""


class StrategyState(StrEnum):
    """What a strategy does on its next bar: only ``running`` decides."""

    RUNNING = "running"
    PAUSED = "paused"
    DISABLED = "disabled"
    FAILED = "failed"
    BLACKOUT = "blackout"


@dataclass(slots=True)
class Strategy:
    """One policy's state in the engine and its last decision.

    ``budget`` is in seconds; ``last_ts``, ``last_seconds`` and ``last_orders`` describe the
    last decision (its bar's close, how long it took, how many orders it made).
    """

    name: str
    budget: float = DEFAULT_DECISION_BUDGET
    state: StrategyState = StrategyState.RUNNING
    reason: str | None = None
    since: int | None = None
    decisions: int = 0
    last_ts: int | None = None
    last_seconds: float | None = None
    last_orders: int = 0

    @property
    def running(self) -> bool:
        """Return True when the strategy decides on its next bar."""
        return self.state is StrategyState.RUNNING

    def decided(self, ts: int, seconds: float, orders: int) -> None:
        """Remember a decision (its bar's close, its duration, its order count)."""
        self.decisions += 1
        self.last_ts, self.last_seconds, self.last_orders = ts, seconds, orders

    def view(self) -> dict[str, Any]:
        """Return the state and last decision as the service lists them."""
        last = None
        if self.last_ts is not None:
            last = {"ts": self.last_ts, "seconds": self.last_seconds, "orders": self.last_orders}
        return {
            "name": self.name,
            "state": str(self.state),
            "reason": self.reason,
            "since": self.since,
            "budget_s": self.budget,
            "decisions": self.decisions,
            "last_decision": last,
        }


def last_frame(exc: BaseException) -> dict[str, Any] | None:
    """Return the file, line and function of the innermost frame of ``exc``'s traceback.

    Examples
    --------
    >>> last_frame(ValueError("never raised")) is None
    True
    """
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    frame = frames[-1]
    return {"file": frame.filename, "line": frame.lineno, "function": frame.name}


def failure(
    strategy: Strategy, exc: BaseException | None, now: int, reason: str | None = None
) -> dict[str, Any]:
    """Fail ``strategy`` (from ``exc``, or for ``reason``); return its event's payload.

    ``now`` is the bar's close the failing decision was on.
    """
    previous = strategy.state
    if reason is None:
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "failed"
    strategy.state, strategy.reason, strategy.since = StrategyState.FAILED, reason, now
    return {
        "strategy": strategy.name,
        "state": str(StrategyState.FAILED),
        "previous": str(previous),
        "reason": reason,
        "error": None if exc is None else type(exc).__name__,
        "frame": None if exc is None else last_frame(exc),
        "bar_ts": now,
    }


def restore(strategies: Mapping[str, Strategy], events: Iterable[Mapping[str, Any]]) -> None:
    """Set each strategy to the state of its last journaled ``strategy`` event.

    Events of strategies the engine no longer runs, or with an unknown state, are left out.

    Examples
    --------
    >>> s = {"a": Strategy("a"), "b": Strategy("b")}
    >>> restore(s, [{"strategy": "a", "state": "failed", "reason": "boom", "bar_ts": 3},
    ...             {"strategy": "gone", "state": "failed"}])
    >>> s["a"].state, s["a"].reason, s["b"].state
    (<StrategyState.FAILED: 'failed'>, 'boom', <StrategyState.RUNNING: 'running'>)
    """
    states = {str(s) for s in StrategyState}
    for payload in events:
        strategy = strategies.get(str(payload.get("strategy")))
        state = payload.get("state")
        if strategy is None or state not in states:
            continue
        strategy.state = StrategyState(state)
        strategy.reason = payload.get("reason")
        strategy.since = payload.get("bar_ts")


def journaled(journal: Journal) -> Iterator[Mapping[str, Any]]:
    """Yield the payloads of the journal's ``strategy`` events, oldest first."""
    after = 0
    while page := journal.events_after(after, kind=STRATEGY_EVENT):
        yield from (event.payload for event in page)
        after = page[-1].id
