"""The order state machine: transitions, late and out-of-order reports, exact quantities."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from houseedge.core.execution import (
    ALLOWED,
    TERMINAL,
    TRANSITIONS,
    OrderState,
    OrderStatus,
    apply,
    report_type,
)
from houseedge.core.types import (
    CancelRejected,
    CancelRequested,
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderSubmitted,
    Side,
)

S = OrderStatus
ORDER = Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=10)
_fill_ids = itertools.count(1)


def fill(qty: float, price: float = 10.0, **changes: Any) -> Fill:
    fields: dict[str, Any] = {
        "fill_id": f"f{next(_fill_ids)}",
        "order_id": "o1",
        "symbol": "X",
        "side": Side.BUY,
        "qty": qty,
        "price": price,
    }
    return Fill(**(fields | changes))


def run(*reports: Any, order: Order = ORDER) -> tuple[OrderState, list[Any]]:
    state, anomalies = OrderState(order=order), []
    for report in reports:
        state, anomaly = apply(state, report)
        if anomaly is not None:
            anomalies.append(anomaly)
    return state, anomalies


SUBMIT, ACK = OrderSubmitted(order_id="o1"), OrderAccepted(order_id="o1", venue_order_id="v1")
CANCEL, CANCELLED = CancelRequested(order_id="o1"), OrderCancelled(order_id="o1")


def test_the_happy_path() -> None:
    state, anomalies = run(SUBMIT, ACK, fill(4, 10.0), fill(6, 11.0))
    assert state.status is S.FILLED
    assert (state.filled_qty, state.remaining) == (10.0, 0.0)
    assert state.avg_price == pytest.approx(10.6)
    assert state.venue_order_id == "v1"
    assert anomalies == []
    assert not state.is_open


def test_a_fill_before_the_ack_implies_it_and_the_late_ack_is_ignored() -> None:
    state, anomalies = run(SUBMIT, fill(4))
    assert state.status is S.PARTIALLY_FILLED
    state, anomaly = apply(state, ACK)
    assert (state.status, anomaly, anomalies) == (S.PARTIALLY_FILLED, None, [])


def test_a_fill_after_a_cancel_request_is_booked() -> None:
    state, anomalies = run(SUBMIT, ACK, CANCEL, fill(3))
    assert (state.status, state.filled_qty) == (S.PARTIALLY_FILLED, 3.0)
    state, anomaly = apply(state, CANCELLED)
    assert (state.status, state.filled_qty, anomaly, anomalies) == (S.CANCELLED, 3.0, None, [])


def test_a_cancel_request_raced_by_the_last_fill() -> None:
    state, anomalies = run(SUBMIT, ACK, CANCEL, fill(10), CancelRejected(order_id="o1"))
    assert (state.status, state.filled_qty, anomalies) == (S.FILLED, 10.0, [])


@pytest.mark.parametrize(("fills", "after"), [((), S.ACCEPTED), ((4,), S.PARTIALLY_FILLED)])
def test_a_rejected_cancel_resumes_working(fills: tuple[float, ...], after: S) -> None:
    state, _ = run(SUBMIT, ACK, *(fill(q) for q in fills), CANCEL)
    assert state.status is S.CANCEL_REQUESTED
    state, anomaly = apply(state, CancelRejected(order_id="o1", reason="busy"))
    assert (state.status, state.reason, anomaly) == (after, "busy", None)


def test_an_overfill_is_capped_and_flagged() -> None:
    state, anomalies = run(SUBMIT, ACK, fill(7), fill(5))
    assert (state.status, state.filled_qty) == (S.FILLED, 10.0)
    assert sum(f.qty for f in state.fills) == 10.0
    ((anomaly,),) = (anomalies,)
    assert (anomaly.reason, anomaly.excess, anomaly.status) == ("overfill", 2.0, "partially_filled")
    state, anomaly = apply(state, fill(1))
    assert anomaly is not None
    assert (anomaly.reason, anomaly.excess, state.filled_qty) == ("overfill", 1.0, 10.0)


def test_a_duplicated_fill_is_booked_once() -> None:
    once = fill(4)
    state, anomalies = run(SUBMIT, ACK, once, once)
    assert state.filled_qty == 4.0
    assert [a.reason for a in anomalies] == ["duplicate_fill"]


@pytest.mark.parametrize(
    ("end", "status"),
    [
        (CANCELLED, S.CANCELLED),
        (OrderExpired(order_id="o1"), S.EXPIRED),
        (OrderRejected(order_id="o1"), S.REJECTED),
    ],
)
def test_a_fill_after_the_end_is_booked_and_flagged(end: Any, status: S) -> None:
    before = (SUBMIT,) if status is S.REJECTED else (SUBMIT, ACK)
    state, anomalies = run(*before, end, fill(12))
    assert (state.status, state.filled_qty) == (status, 10.0)
    assert [(a.reason, a.excess) for a in anomalies] == [(f"fill_after_{status}", 2.0)]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"side": Side.SELL}, "fill_mismatch"),
        ({"symbol": "Y"}, "fill_mismatch"),
        ({"order_id": "o2"}, "wrong_order"),
    ],
)
def test_a_fill_for_something_else_is_not_booked(changes: dict[str, Any], reason: str) -> None:
    state, anomalies = run(SUBMIT, ACK, fill(4, **changes))
    assert (state.status, state.filled_qty) == (S.ACCEPTED, 0.0)
    assert [a.reason for a in anomalies] == [reason]


@pytest.mark.parametrize(
    "reports",
    [
        (SUBMIT, ACK, fill(10), CANCELLED),  # a filled order cannot be cancelled
        (SUBMIT, ACK, fill(10), OrderExpired(order_id="o1")),
        (SUBMIT, SUBMIT),
        (SUBMIT, ACK, OrderRejected(order_id="o1")),
        (SUBMIT, OrderRejected(order_id="o1"), ACK),
        (SUBMIT, OrderExpired(order_id="o1"), CANCEL),
    ],
)
def test_impossible_transitions_change_nothing(reports: tuple[Any, ...]) -> None:
    before, _ = run(*reports[:-1])
    after, anomaly = apply(before, reports[-1])
    assert after == before
    assert anomaly is not None
    assert anomaly.reason == "invalid_transition"
    assert anomaly.report == report_type(reports[-1])


def test_a_reject_after_fills_is_an_anomaly() -> None:
    state, anomalies = run(SUBMIT, fill(3), CANCEL, OrderRejected(order_id="o1"))
    assert state.status is S.CANCEL_REQUESTED
    assert [a.reason for a in anomalies] == ["reject_after_fill"]


def test_cancelling_an_order_never_sent_cancels_it_at_once() -> None:
    state, anomalies = run(CANCEL)
    assert (state.status, anomalies) == (S.CANCELLED, [])


def test_fractional_fills_complete_the_order_exactly() -> None:
    order = Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=0.3)
    state, anomalies = run(SUBMIT, fill(0.1), fill(0.1), fill(0.1), order=order)
    assert (state.status, state.filled_qty, state.remaining, anomalies) == (S.FILLED, 0.3, 0.0, [])


def test_the_transition_table_agrees_with_the_allowed_graph() -> None:
    for moves in TRANSITIONS.values():
        for before, after in moves.items():
            assert after in ALLOWED[before] or after is before
    for status in TERMINAL:
        assert ALLOWED[status] <= {status}
    reachable = {S.NEW} | {s for targets in ALLOWED.values() for s in targets}
    assert reachable == set(OrderStatus)
