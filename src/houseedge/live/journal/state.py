"""The engine's book: order states and the ledger, moved by the same rules live and on rebuild.

:class:`LedgerState` is what :meth:`houseedge.live.journal.Journal.rebuild` returns and what the
engine keeps updating while it runs: both call :meth:`LedgerState.add_order` and
:meth:`LedgerState.apply`, so a restarted engine holds exactly the state it had before.

Booking rule
    A fill for a known order goes through :func:`houseedge.core.execution.apply` first and the
    ledger books what the state machine booked (a fill beyond the order's quantity is capped and
    its excess recorded as an ``overfill`` anomaly; the capped fill's quantity is rounded to the
    instrument's lot by the ledger). A fill for an order the journal never saw (a manual trade at
    the venue, found at reconciliation) is booked in full to policy ``""`` with an
    ``unknown_order`` anomaly: the venue says it happened, so positions must show it.

Examples
--------
>>> from houseedge.core.types import Fill, Order, OrderAccepted
>>> state = LedgerState()
>>> _ = state.add_order(Order(client_order_id="o1", symbol="X", side="buy", qty=2), policy="p")
>>> _ = state.apply(OrderAccepted(order_id="o1"))
>>> order, anomaly = state.apply(Fill(fill_id="f1", order_id="o1", symbol="X", side="buy",
...     qty=2, price=5.0))
>>> order.status, anomaly, state.ledger.position("X", policy="p")
(<OrderStatus.FILLED: 'filled'>, None, Decimal('2.00000000'))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from houseedge.core.execution import OrderState, apply
from houseedge.core.types import Fill, Order, OrderAnomaly, OrderReport
from houseedge.live.journal.ledger import Ledger

__all__ = ["LedgerState", "OnReport", "replay"]

OnReport = Callable[[int, OrderReport, "LedgerState"], None]
"""Called as ``on_report(report_id, report, state)`` after each report is replayed."""


@dataclass
class LedgerState:
    """Order states by client order id, each order's policy, the ledger and the anomalies seen.

    ``anomalies`` keeps every anomaly since the state was built (the journal has them as
    events too); ``last_fill_ts`` the latest fill time, the point reconciliation asks from.
    """

    ledger: Ledger = field(default_factory=Ledger)
    orders: dict[str, OrderState] = field(default_factory=dict[str, OrderState])
    policies: dict[str, str] = field(default_factory=dict[str, str])
    anomalies: list[OrderAnomaly] = field(default_factory=list[OrderAnomaly])
    last_fill_ts: int | None = None

    def add_order(self, order: Order, *, policy: str) -> OrderState:
        """Track a new order (a repeated client order id keeps the first)."""
        known = self.orders.get(order.client_order_id)
        if known is not None:
            return known
        self.policies[order.client_order_id] = policy
        state = self.orders[order.client_order_id] = OrderState(order=order)
        return state

    def apply(
        self, report: OrderReport, *, policy: str | None = None
    ) -> tuple[OrderState | None, OrderAnomaly | None]:
        """Apply a report (fills book into the ledger); return the order's state and any anomaly.

        ``policy`` attributes a fill of an unknown order (default ``""``); a known order's fills
        always go to the policy that placed it.
        """
        before = self.orders.get(report.order_id)
        if isinstance(report, Fill):
            self._seen_fill(report)
        if before is None:
            return None, self._unknown(report, policy)
        after, anomaly = apply(before, report)
        self.orders[report.order_id] = after
        if isinstance(report, Fill) and len(after.fills) > len(before.fills):
            self.ledger.apply_fill(after.fills[-1], policy=self.policies[report.order_id])
        if anomaly is not None:
            self.anomalies.append(anomaly)
        return after, anomaly

    def open_orders(self) -> list[OrderState]:
        """Return the orders that may still fill, in the order they were added."""
        return [state for state in self.orders.values() if state.is_open]

    def _seen_fill(self, fill: Fill) -> None:
        if self.last_fill_ts is None or fill.ts > self.last_fill_ts:
            self.last_fill_ts = fill.ts

    def _unknown(self, report: OrderReport, policy: str | None) -> OrderAnomaly:
        kind = type(report).__struct_config__.tag
        anomaly = OrderAnomaly(
            order_id=report.order_id,
            ts=report.ts,
            status="unknown",
            report=str(kind),
            reason="unknown_order",
        )
        if isinstance(report, Fill):
            self.ledger.apply_fill(report, policy=policy or "")
        self.anomalies.append(anomaly)
        return anomaly


def replay(
    orders: Sequence[tuple[Order, str, int]],
    reports: Iterable[tuple[int, OrderReport, str | None]],
    *,
    ledger: Ledger | None = None,
    on_report: OnReport | None = None,
) -> LedgerState:
    """Replay a journal's orders and reports, in journal order, into a fresh state.

    Parameters
    ----------
    orders
        ``(order, policy, after_report)``, sorted by ``after_report``: the id of the last report
        journaled before the order, so it joins the replay exactly where it joined the journal.
    reports
        ``(report_id, report, policy)`` in journal order (``policy`` attributes a fill of an
        unknown order).
    ledger
        The (empty) ledger to book into, with the starting cash and instruments; ``Ledger()``
        by default.
    on_report
        Called after each report is applied (the export records positions after each fill).

    Examples
    --------
    >>> from houseedge.core.types import Fill, Order
    >>> order = Order(client_order_id="o1", symbol="X", side="buy", qty=2)
    >>> fill = Fill(fill_id="f1", order_id="o1", symbol="X", side="buy", qty=2, price=5.0)
    >>> state = replay([(order, "p", 0)], [(1, fill, None)])
    >>> state.orders["o1"].status, state.ledger.position("X", policy="p")
    (<OrderStatus.FILLED: 'filled'>, Decimal('2.00000000'))
    """
    state = LedgerState(ledger=ledger if ledger is not None else Ledger())
    at = 0
    for report_id, report, policy in reports:
        while at < len(orders) and orders[at][2] < report_id:
            state.add_order(orders[at][0], policy=orders[at][1])
            at += 1
        state.apply(report, policy=policy)
        if on_report is not None:
            on_report(report_id, report, state)
    for order, policy, _ in orders[at:]:
        state.add_order(order, policy=policy)
    return state
