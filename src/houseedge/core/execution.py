"""The order state machine: what a stream of reports does to one order.

States (:class:`OrderStatus`)::

    new ──submitted──▶ submitted ──accepted──▶ accepted ──fill──▶ partially_filled ──fill──▶ filled
     │                    │  │                    │                      │
     │                    │  └──fill (no ack)─────┼──────────────────────┘
     └──cancelled──┐      └──rejected──▶ rejected │
                   ▼                              ▼
              cancelled ◀──cancelled── cancel_requested ──cancel_rejected──▶ accepted / partially
              expired   ◀──expired──── (any working state)

The non-fill transitions are data (:data:`TRANSITIONS`: report type → {from: to}); a fill moves a
working order to ``partially_filled`` or ``filled`` by the quantity left. :func:`apply` never
raises on a report it cannot apply: it returns the state unchanged (or the fill capped) and an
:class:`~houseedge.core.types.OrderAnomaly`, so a bad report is recorded, never booked twice.

Late and out-of-order reports (venues are asynchronous):

* a fill before the ack implies the ack: ``submitted --fill--> partially_filled/filled``, and the
  late ack is then ignored (stale, not an anomaly);
* a fill after a cancel request is booked: the order moves to ``partially_filled``/``filled``,
  and the cancel's outcome (``cancelled`` or ``cancel_rejected``) arrives later;
* a ``cancel_rejected`` after the order filled is stale and ignored;
* a fill after ``cancelled``/``expired``/``rejected`` did happen at the venue: it is booked (up to
  the quantity left) with a ``fill_after_<status>`` anomaly, and the status stays terminal.

Quantities are exact: ``filled_qty`` is the correctly rounded sum (``math.fsum``) of the booked
fills, and a fill beyond the quantity left is capped (``overfill`` anomaly with the ``excess``).
Callers book ``new.filled_qty - old.filled_qty``, never the raw report.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Final

import msgspec

from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderAccepted,
    OrderAnomaly,
    OrderRejected,
    OrderReport,
)

__all__ = [
    "ALLOWED",
    "TERMINAL",
    "TRANSITIONS",
    "OrderState",
    "OrderStatus",
    "apply",
    "report_type",
]


class OrderStatus(enum.StrEnum):
    """Where an order is in its life."""

    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


_S = OrderStatus
TERMINAL: Final = frozenset({_S.FILLED, _S.CANCELLED, _S.REJECTED, _S.EXPIRED})
"""States no report moves an order out of."""

WORKING: Final = frozenset({_S.SUBMITTED, _S.ACCEPTED, _S.PARTIALLY_FILLED, _S.CANCEL_REQUESTED})
"""States in which the venue may still fill the order."""

_ACKED = (
    _S.ACCEPTED,
    _S.PARTIALLY_FILLED,
    _S.FILLED,
    _S.CANCEL_REQUESTED,
    _S.CANCELLED,
    _S.EXPIRED,
)

TRANSITIONS: Final[Mapping[str, Mapping[OrderStatus, OrderStatus]]] = {
    "submitted": {_S.NEW: _S.SUBMITTED},
    # An ack after anything that implies one is stale: ignored (to == from), not an anomaly.
    "accepted": {_S.NEW: _S.ACCEPTED, _S.SUBMITTED: _S.ACCEPTED} | {s: s for s in _ACKED},
    "rejected": {_S.NEW: _S.REJECTED, _S.SUBMITTED: _S.REJECTED, _S.CANCEL_REQUESTED: _S.REJECTED},
    "cancel_requested": {
        _S.NEW: _S.CANCELLED,  # never sent: nothing to ask the venue
        _S.SUBMITTED: _S.CANCEL_REQUESTED,
        _S.ACCEPTED: _S.CANCEL_REQUESTED,
        _S.PARTIALLY_FILLED: _S.CANCEL_REQUESTED,
        _S.CANCEL_REQUESTED: _S.CANCEL_REQUESTED,
    },
    # "accepted" here means "working again": it becomes partially_filled when fills exist.
    "cancel_rejected": {
        _S.CANCEL_REQUESTED: _S.ACCEPTED,
        _S.ACCEPTED: _S.ACCEPTED,
        _S.PARTIALLY_FILLED: _S.PARTIALLY_FILLED,
        _S.FILLED: _S.FILLED,
        _S.CANCELLED: _S.CANCELLED,
        _S.EXPIRED: _S.EXPIRED,
        _S.REJECTED: _S.REJECTED,
    },
    "cancelled": dict.fromkeys((_S.NEW, *WORKING, _S.CANCELLED), _S.CANCELLED),
    "expired": dict.fromkeys((*WORKING, _S.EXPIRED), _S.EXPIRED),
}
"""Non-fill transitions: report type → {status before: status after}. Absent: an anomaly."""

ALLOWED: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = {
    status: frozenset(
        {to for moves in TRANSITIONS.values() for frm, to in moves.items() if frm == status}
        | ({_S.PARTIALLY_FILLED, _S.FILLED} if status in WORKING or status is _S.NEW else set())
    )
    for status in OrderStatus
}
"""Every status an order may move to from each status (fills included)."""

_EPSILON: Final = 1e-9  # relative: fills within this of the order's qty complete it


class OrderState(msgspec.Struct, frozen=True, kw_only=True):
    """An order, its status and the fills booked against it.

    Examples
    --------
    >>> from houseedge.core.types import Side
    >>> state = OrderState(order=Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=10))
    >>> state.status, state.remaining
    (<OrderStatus.NEW: 'new'>, 10.0)
    """

    order: Order
    status: OrderStatus = OrderStatus.NEW
    filled_qty: float = 0.0
    fills: tuple[Fill, ...] = ()
    venue_order_id: str = ""
    reason: str = ""

    @property
    def remaining(self) -> float:
        """Return the quantity still to fill (0 once filled, even if the order ended early)."""
        return float(self.order.qty) - self.filled_qty

    @property
    def is_open(self) -> bool:
        """Return whether the order may still fill (not in a terminal state)."""
        return self.status not in TERMINAL

    @property
    def avg_price(self) -> float | None:
        """Return the quantity-weighted average fill price (None before any fill)."""
        if not self.fills:
            return None
        return math.fsum(f.qty * f.price for f in self.fills) / self.filled_qty


def report_type(report: OrderReport) -> str:
    """Return a report's type tag (``"fill"``, ``"accepted"``, ...).

    Examples
    --------
    >>> report_type(OrderAccepted(order_id="o1"))
    'accepted'
    """
    return str(type(report).__struct_config__.tag)


def apply(state: OrderState, report: OrderReport) -> tuple[OrderState, OrderAnomaly | None]:
    """Return the order's state after ``report`` and the anomaly it raised, if any.

    Never raises for a report that does not fit: the state is returned unchanged (a fill is
    booked only up to the quantity left) together with an anomaly.

    Examples
    --------
    >>> from houseedge.core.types import OrderSubmitted, Side
    >>> order = Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=10)
    >>> state, _ = apply(OrderState(order=order), OrderSubmitted(order_id="o1"))
    >>> fill = Fill(fill_id="f1", order_id="o1", symbol="X", side=Side.BUY, qty=4, price=9.0)
    >>> state, anomaly = apply(state, fill)  # a fill before the ack implies it
    >>> state.status, state.filled_qty, anomaly
    (<OrderStatus.PARTIALLY_FILLED: 'partially_filled'>, 4.0, None)
    >>> big = Fill(fill_id="f2", order_id="o1", symbol="X", side=Side.BUY, qty=8, price=9.0)
    >>> state, anomaly = apply(state, big)
    >>> state.status, state.filled_qty, anomaly.reason, anomaly.excess
    (<OrderStatus.FILLED: 'filled'>, 10.0, 'overfill', 2.0)
    """
    kind = report_type(report)
    if report.order_id != state.order.client_order_id:
        return state, _anomaly(state, report, "wrong_order", detail=report.order_id)
    if isinstance(report, Fill):
        return _fill(state, report)
    after = TRANSITIONS[kind].get(state.status)
    if after is None:
        return state, _anomaly(state, report, "invalid_transition")
    if after is _S.REJECTED and state.filled_qty > 0:
        return state, _anomaly(state, report, "reject_after_fill")
    if after is _S.ACCEPTED and state.filled_qty > 0:
        after = _S.PARTIALLY_FILLED
    if after is state.status:
        return state, None
    return msgspec.structs.replace(state, status=after, **_extra(report)), None


def _extra(report: OrderReport) -> dict[str, str]:
    if isinstance(report, OrderAccepted) and report.venue_order_id:
        return {"venue_order_id": report.venue_order_id}
    if isinstance(report, OrderRejected | CancelRejected) and report.reason:
        return {"reason": report.reason}
    return {}


def _fill(state: OrderState, fill: Fill) -> tuple[OrderState, OrderAnomaly | None]:
    order = state.order
    if any(f.fill_id == fill.fill_id for f in state.fills):
        return state, _anomaly(state, fill, "duplicate_fill", excess=float(fill.qty))
    if fill.symbol != order.symbol or fill.side is not order.side:
        return state, _anomaly(state, fill, "fill_mismatch", detail=f"{fill.side} {fill.symbol}")
    remaining = state.remaining
    booked = min(float(fill.qty), remaining)
    anomaly = None
    if state.status in TERMINAL and state.status is not _S.FILLED:
        anomaly = _anomaly(state, fill, f"fill_after_{state.status}", excess=fill.qty - booked)
    elif booked < fill.qty and not _same(booked, float(fill.qty)):
        anomaly = _anomaly(state, fill, "overfill", excess=fill.qty - booked)
    if booked <= 0 or _same(booked + state.filled_qty, state.filled_qty):
        return state, anomaly
    fills = (
        *state.fills,
        fill if booked == fill.qty else msgspec.structs.replace(fill, qty=booked),
    )
    filled = math.fsum(f.qty for f in fills)
    done = _same(filled, float(order.qty))
    status = state.status
    if status not in TERMINAL:
        status = _S.FILLED if done else _S.PARTIALLY_FILLED
    filled = float(order.qty) if done else filled
    return msgspec.structs.replace(state, status=status, filled_qty=filled, fills=fills), anomaly


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _EPSILON * max(abs(a), abs(b))


def _anomaly(
    state: OrderState, report: OrderReport, reason: str, *, excess: float = 0.0, detail: str = ""
) -> OrderAnomaly:
    return OrderAnomaly(
        order_id=state.order.client_order_id,
        ts=report.ts,
        status=str(state.status),
        report=report_type(report),
        reason=reason,
        excess=float(excess),
        detail=detail,
    )
