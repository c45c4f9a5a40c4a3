"""Start-up reconciliation: make the rebuilt book agree with the broker before trading.

After :meth:`~houseedge.live.journal.Journal.rebuild`, the engine asks the broker what happened
while it was not listening and :func:`reconcile` brings the book up to date:

1. **From when.** ``since`` is the earliest of the last journaled fill, the last reconciliation
   and the decision time of every order still open in the book (all in the broker's clock), or
   0 for a fresh journal. Asking from earlier than needed only costs a longer answer: fills are
   de-duplicated by ``fill_id``.
2. **Missing fills** (``fills_since`` ids the journal lacks) are journaled once and booked, each
   with a ``reconciliation`` event (``kind="missing_fill"``).
3. **Order statuses.** For every order open in the book: the venue's status, when it differs,
   is journaled as the report that moves it there (cancelled, expired, rejected, accepted),
   after the fills, with a ``reconciliation`` event (``kind="order_status"``). An order the
   venue does not know is resubmitted when the book never saw it sent (``new``: the engine died
   between journaling and sending; submit is idempotent on the client id), else reported as an
   ``anomaly`` (``order_unknown_at_venue``). Venue orders the journal never saw are reported
   (``kind="unknown_order"``).
4. **Positions.** The ledger's net position per symbol is compared with ``broker.positions()``;
   each difference is an ``anomaly`` event (``position_mismatch``) and a warning log.
5. The reconciliation time is journaled and a ``reconciliation`` summary event closes it.

Every difference is logged with structlog (bound ``order_id``, ``policy``, ``symbol``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from houseedge import logs
from houseedge.core.broker import Broker, OrderSnapshot
from houseedge.core.execution import OrderStatus
from houseedge.core.types import (
    Fill,
    Order,
    OrderReport,
)
from houseedge.live.engine._book import Book
from houseedge.live.engine._events import EventSpec, fill_payload

__all__ = ["reconcile"]

_CLOSED_BY_VENUE = frozenset(
    {OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.ACCEPTED}
)


def since_ts(book: Book, facts: Mapping[str, Any]) -> int:
    """Return the broker time reconciliation asks from (see the module doc)."""
    points = [facts.get("last_fill_ts"), facts.get("last_reconciliation_ts")]
    points += [s.order.ts for s in book.open_orders()]
    known = [p for p in points if p is not None]
    return min(known) if known else 0


async def reconcile(
    book: Book, broker: Broker, facts: Mapping[str, Any], *, log: Any = None
) -> tuple[dict[str, Any], list[Order]]:
    """Bring ``book`` up to date with ``broker``; return a summary and the orders to resubmit.

    Examples
    --------
    >>> import asyncio, tempfile, pathlib
    >>> from houseedge.live.journal.ledger import Ledger
    >>> from houseedge.live.paper import PaperBroker
    >>> async def fresh():
    ...     path = str(pathlib.Path(tempfile.mkdtemp()) / "live.db")
    ...     book, facts = await Book.open(path, Ledger)
    ...     summary, resubmit = await reconcile(book, PaperBroker(), facts)
    ...     await book.close()
    ...     return summary["missing_fills"], summary["position_mismatches"], resubmit
    >>> asyncio.run(fresh())
    (0, 0, [])
    """
    log = log if log is not None else logs.get_logger("houseedge.live.engine.reconcile")
    since = since_ts(book, facts)
    venue_fills = list(await broker.fills_since(since))
    venue_orders = {s.client_order_id: s for s in await broker.orders_since(since)}
    venue_orders |= {s.client_order_id: s for s in await broker.open_orders()}
    policies = book.state.policies

    missing = [f for f in venue_fills if f.fill_id not in book.known_fills]
    events: list[EventSpec] = []
    for fill in missing:
        policy = policies.get(fill.order_id, "")
        log.warning(
            "reconciliation.missing_fill",
            fill_id=fill.fill_id,
            order_id=fill.order_id,
            policy=policy,
            symbol=fill.symbol,
        )
        events.append(
            ("reconciliation", {"kind": "missing_fill", **fill_payload(fill, policy)}, fill.ts)
        )
    reports: list[OrderReport] = list(missing)
    resubmit: list[Order] = []
    for oid in list(book.open_ids):
        state = book.state.orders[oid]
        bound = log.bind(order_id=oid, policy=policies.get(oid, ""), symbol=state.order.symbol)
        snap = venue_orders.get(oid)
        if snap is None:
            if state.status is OrderStatus.NEW:
                bound.warning("reconciliation.resubmit")
                resubmit.append(state.order)
                events.append(_event("resubmitted", oid, state.order.ts, ours=str(state.status)))
            else:
                bound.warning("reconciliation.order_unknown_at_venue", status=str(state.status))
                payload = {
                    "reason": "order_unknown_at_venue",
                    "order_id": oid,
                    "status": str(state.status),
                }
                events.append(("anomaly", payload, state.order.ts))
            continue
        report = _status_report(snap)
        if report is not None and snap.status is not state.status:
            bound.warning(
                "reconciliation.order_status", ours=str(state.status), venue=str(snap.status)
            )
            reports.append(report)
            events.append(
                _event("order_status", oid, snap.ts, ours=str(state.status), venue=str(snap.status))
            )
    for oid, snap in venue_orders.items():
        if oid not in book.state.orders:
            log.warning("reconciliation.unknown_order", order_id=oid, symbol=snap.symbol)
            events.append(_event("unknown_order", oid, snap.ts, venue=str(snap.status)))
    await book.record(_fills_first(reports), extra=events)
    mismatches = await _positions(book, broker, log)
    horizon = max([since, *(f.ts for f in venue_fills), *(s.ts for s in venue_orders.values())])
    await book.writer.call(lambda j: j.set_last_reconciliation(horizon))
    summary = {
        "kind": "summary",
        "since": since,
        "until": horizon,
        "missing_fills": len(missing),
        "status_changes": sum(1 for r in reports if not isinstance(r, Fill)),
        "resubmitted": len(resubmit),
        "position_mismatches": mismatches,
        "venue_fills": len(venue_fills),
        "venue_orders": len(venue_orders),
    }
    await book.events([("reconciliation", summary, horizon)])
    log.info("reconciliation.done", **summary)
    return summary, resubmit


def _status_report(snap: OrderSnapshot) -> OrderReport | None:
    # Only what the venue decided on its own (a cancel, an expiry, a rejection, an ack): a
    # partial fill's status follows from the missing fills reconciliation books first.
    return snap.report("reconciled") if snap.status in _CLOSED_BY_VENUE else None


def _fills_first(reports: list[OrderReport]) -> list[OrderReport]:
    """Put fills (in time order) before status changes: a part-filled cancel books its fills."""
    fills = sorted((r for r in reports if isinstance(r, Fill)), key=lambda f: f.ts)
    return [*fills, *(r for r in reports if not isinstance(r, Fill))]


def _event(kind: str, order_id: str, ts: int, **fields: str) -> EventSpec:
    return ("reconciliation", {"kind": kind, "order_id": order_id, **fields}, ts)


async def _positions(book: Book, broker: Broker, log: Any) -> int:
    differences = book.state.ledger.equals_broker(await broker.positions())
    events: list[EventSpec] = []
    for d in differences:
        log.warning(
            "reconciliation.position_mismatch",
            symbol=d.symbol,
            ours=str(d.ours),
            broker=str(d.broker),
        )
        events.append(
            (
                "anomaly",
                {
                    "reason": "position_mismatch",
                    "symbol": d.symbol,
                    "ours": str(d.ours),
                    "broker": str(d.broker),
                },
                0,
            )
        )
    await book.events(events)
    return len(differences)
