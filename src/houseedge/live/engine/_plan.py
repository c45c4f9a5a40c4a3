"""Plan a batch of broker reports before it is journaled: which to keep, which events follow.

The order state machine is pure, so a dry run of it over a copy of the order states says
exactly what applying the batch will do. :func:`plan_reports` drops the fills already known (by
``fill_id``, within the batch too) and returns the events each kept report causes: ``order``
when its status moves, ``fill``, ``position`` (the policy's and the account's quantity after
the fill) and ``anomaly`` for a report the state machine refused or an unknown order's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from houseedge.core.execution import OrderState, apply, report_type
from houseedge.core.types import Fill, OrderAnomaly, OrderReport, Side
from houseedge.live.engine._events import EventSpec, fill_payload, order_payload
from houseedge.live.journal.state import LedgerState

__all__ = ["ReportPlan", "plan_reports"]


@dataclass
class ReportPlan:
    """The reports to journal, the events they cause, and how many fills were duplicates."""

    keep: list[OrderReport] = field(default_factory=list[OrderReport])
    events: list[EventSpec] = field(default_factory=list[EventSpec])
    duplicates: int = 0


def plan_reports(
    reports: Iterable[OrderReport], state: LedgerState, known_fills: set[str]
) -> ReportPlan:
    """Return the plan for ``reports`` against ``state`` (which is left unchanged).

    Examples
    --------
    >>> from houseedge.core.types import Order, OrderAccepted
    >>> state = LedgerState()
    >>> _ = state.add_order(Order(client_order_id="p.1", symbol="X", side="buy", qty=1), policy="p")
    >>> fill = Fill(fill_id="v1", order_id="p.1", symbol="X", side="buy", qty=1, price=2.0)
    >>> plan = plan_reports([OrderAccepted(order_id="p.1"), fill, fill], state, set())
    >>> [kind for kind, _, _ in plan.events], plan.duplicates, state.orders["p.1"].status
    (['order', 'order', 'fill', 'position'], 1, <OrderStatus.NEW: 'new'>)
    """
    run = _DryRun(state)
    plan = ReportPlan()
    fresh: set[str] = set()
    for report in reports:
        if isinstance(report, Fill):
            if report.fill_id in known_fills or report.fill_id in fresh:
                plan.duplicates += 1
                continue
            fresh.add(report.fill_id)
        plan.keep.append(report)
        plan.events += run.events_of(report)
    return plan


@dataclass
class _DryRun:
    state: LedgerState
    scratch: dict[str, OrderState] = field(default_factory=dict[str, OrderState])
    moved: dict[tuple[str, str], Decimal] = field(default_factory=dict[tuple[str, str], Decimal])

    def events_of(self, report: OrderReport) -> list[EventSpec]:
        oid, is_fill = report.order_id, isinstance(report, Fill)
        before = self.scratch.get(oid) or self.state.orders.get(oid)
        policy = self.state.policies.get(oid, "")
        events: list[EventSpec] = []
        booked: Fill | None = None
        if before is None:
            anomaly: OrderAnomaly | None = _unknown(report)
            booked = report if isinstance(report, Fill) else None
        else:
            after, anomaly = apply(before, report)
            self.scratch[oid] = after
            if isinstance(report, Fill) and len(after.fills) > len(before.fills):
                booked = after.fills[-1]
            if after.status is not before.status:
                kind = "fill" if is_fill else report_type(report)
                events.append(("order", order_payload(after, policy, kind), report.ts))
        if isinstance(report, Fill):
            events.append(("fill", fill_payload(report, policy), report.ts))
        if booked is not None:
            events.append(self._position_event(booked, policy))
        if anomaly is not None:
            payload = {**msgspec.to_builtins(anomaly), "policy": policy}
            events.append(("anomaly", payload, report.ts))
        return events

    def _position_event(self, fill: Fill, policy: str) -> EventSpec:
        ledger, moved = self.state.ledger, self.moved
        instrument = ledger.instruments.get(fill.symbol)
        step = instrument.qty_of(instrument.qty_units(fill.qty))
        step = step if fill.side is Side.BUY else -step
        key = (policy, fill.symbol)
        moved[key] = moved.get(key, Decimal(0)) + step
        account = sum((v for (_, s), v in moved.items() if s == fill.symbol), Decimal(0))
        payload = {
            "policy": policy,
            "symbol": fill.symbol,
            "qty": str(ledger.position(fill.symbol, policy=policy) + moved[key]),
            "account_qty": str(ledger.position(fill.symbol) + account),
        }
        return ("position", payload, fill.ts)


def _unknown(report: OrderReport) -> OrderAnomaly:
    return OrderAnomaly(
        order_id=report.order_id,
        ts=report.ts,
        status="unknown",
        report=report_type(report),
        reason="unknown_order",
    )
