"""The engine's book: order states, the exact ledger and the event bus, moved journal-first.

Every change goes through :class:`Book`, which keeps one rule: **journal, then act**. A batch of
broker reports is planned against the current state (:mod:`houseedge.live.engine._plan`: the
order state machine is pure, so the plan equals what applying will do), journaled with the
events it causes in one transaction, and only once that transaction is durable applied to
:class:`~houseedge.live.journal.state.LedgerState` (order states and ledger), fed to the risk
gate and published to subscribers. Orders are journaled (with their ``order`` events, and the
risk rejections of the same decision) before they are sent. A crash at any point leaves either
nothing or everything of a batch, and a restart rebuilds exactly the state the engine had acted
on.

Fills are de-duplicated by ``fill_id`` before planning (the set of journaled ids is in memory)
and by the journal's unique key as the backstop, so a fill the broker repeats or reconciliation
finds again changes nothing and publishes nothing.

Events (``kind``: payload; built in :mod:`houseedge.live.engine._events`)
    ``order``: an order's status changed (``new`` when journaled); ``fill``: a new fill with its
    policy and the order's status after it; ``position``: the policy's and the account's
    quantity in the symbol after a fill; ``anomaly``: a report the state machine refused;
    ``risk``, ``engine``, ``reconciliation``: written by the engine through :meth:`Book.events`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from houseedge.core.execution import OrderState
from houseedge.core.types import Fill, Order, OrderReport, Side
from houseedge.live.control import PublishedEvent
from houseedge.live.engine._events import (
    EventSpec,
    Subscription,
    duplicate_id_event,
    order_payload,
)
from houseedge.live.engine._plan import plan_reports
from houseedge.live.journal import Journal
from houseedge.live.journal.ledger import Ledger
from houseedge.live.journal.state import LedgerState
from houseedge.live.journal.writer import JournalWriter

__all__ = ["Book"]

_END = None


class Book:
    """Order states, ledger, journal writer and subscribers of one engine (see the module doc).

    Build it with :meth:`open`, which rebuilds the state from the journal.
    """

    def __init__(self, writer: JournalWriter, reader: Journal, state: LedgerState) -> None:
        self.writer, self.reader, self.state = writer, reader, state
        self.known_fills: set[str] = set()
        self.fills: list[tuple[Fill, str]] = []
        self.open_ids: dict[str, None] = {}  # open orders, oldest first
        self.last_event_id = 0
        self.duplicates = 0
        self.orders_sent = 0
        self.on_fill: Callable[[Fill, str], None] = lambda fill, policy: None
        self.traded: dict[str | None, set[str]] = {}  # symbols each policy has booked fills in
        self._subscribers: list[asyncio.Queue[PublishedEvent | None]] = []
        self._closed = False

    @classmethod
    async def open(
        cls, path: str, make_ledger: Callable[[], Ledger]
    ) -> tuple[Book, dict[str, Any]]:
        """Start the journal writer, rebuild the state; return the book and journal facts.

        The facts are ``last_fill_ts``, ``last_reconciliation_ts`` and ``orders`` (how many
        orders the journal holds, where client order numbering continues).
        """
        writer = JournalWriter(path)
        await writer.start()

        def load(journal: Journal) -> tuple[LedgerState, list[Fill], dict[str, str], Any]:
            state = journal.rebuild(ledger=make_ledger())  # a fresh ledger if run twice
            facts = {
                "last_fill_ts": journal.last_fill_ts(),
                "last_reconciliation_ts": journal.last_reconciliation_ts(),
                "orders": len(journal.orders()),
                "last_event_id": journal.last_event_id(),
                "controls": journal.control_events(),
            }
            facts["max_seq"] = max(
                (_seq(j.order.client_order_id) for j in journal.orders()), default=0
            )
            return state, journal.fills(), journal.fill_policies(), facts

        state, fills, policies, facts = await writer.call(load)
        book = cls(writer, Journal(path, readonly=True), state)
        book.known_fills = set(policies)
        book.fills = [(f, policies.get(f.fill_id, "")) for f in fills]
        for fill, policy in book.fills:
            book.traded.setdefault(policy, set()).add(fill.symbol)
        book.open_ids = dict.fromkeys(s.order.client_order_id for s in state.open_orders())
        book.last_event_id = int(facts["last_event_id"])
        return book, facts

    async def close(self) -> None:
        """End every subscription, commit what is queued and close the journal."""
        self._closed = True
        for queue in self._subscribers:
            queue.put_nowait(_END)
        self._subscribers.clear()
        await self.writer.close()
        self.reader.close()

    # -- events -----------------------------------------------------------------------------

    async def events(self, events: Sequence[EventSpec]) -> list[PublishedEvent]:
        """Journal events durably, then publish them; return them with their ids."""
        if not events:
            return []
        return await self.writer.call(
            lambda j: [j.append_event(k, p, t) for k, p, t in events],
            lambda ids: self._publish(ids, events),
        )

    def _publish(self, ids: Sequence[int], events: Sequence[EventSpec]) -> list[PublishedEvent]:
        out = [
            PublishedEvent(id=i, kind=k, ts=t, payload=p)
            for i, (k, p, t) in zip(ids, events, strict=True)
        ]
        if out:
            self.last_event_id = max(self.last_event_id, out[-1].id)
        for queue in self._subscribers:
            for event in out:
                queue.put_nowait(event)
        return out

    def subscribe(self) -> Subscription:
        """Return the events published from now on, until the book closes.

        The subscription is live when this returns (not when first iterated), so a caller
        that reads ``last_event_id`` right after subscribing misses nothing.
        """
        subscription = Subscription(self._subscribers)
        if self._closed:
            subscription.queue.put_nowait(_END)
        return subscription

    # -- orders -----------------------------------------------------------------------------

    async def record_orders(
        self, orders: Sequence[tuple[Order, str]], extra: Sequence[EventSpec] = ()
    ) -> list[Order]:
        """Journal new orders with their ``order`` events (and ``extra``); return the fresh ones.

        An order whose client id the journal already holds is not fresh: it is not tracked
        again and must not be sent again (an ``anomaly`` event says so).
        """
        events = [("order", order_payload(OrderState(order=o), p, "new"), o.ts) for o, p in orders]

        def work(journal: Journal) -> tuple[list[bool], list[EventSpec], list[int]]:
            fresh = [journal.record_order(o, policy=p) for o, p in orders]
            kept = [e for e, ok in zip(events, fresh, strict=True) if ok] + list(extra)
            kept += [
                duplicate_id_event(o) for (o, _), ok in zip(orders, fresh, strict=True) if not ok
            ]
            return fresh, kept, [journal.append_event(k, pl, t) for k, pl, t in kept]

        def then(written: tuple[list[bool], list[EventSpec], list[int]]) -> list[Order]:
            fresh, kept, ids = written
            sent = [(o, p) for (o, p), ok in zip(orders, fresh, strict=True) if ok]
            for order, policy in sent:
                self.state.add_order(order, policy=policy)
                self.open_ids[order.client_order_id] = None
            self._publish(ids, kept)
            self.orders_sent += len(sent)
            return [o for o, _ in sent]

        # On the loop's thread: the decision waits on nothing but its own commit.
        return self.writer.write_now(work, then)

    # -- reports ----------------------------------------------------------------------------

    async def record(
        self, reports: Iterable[OrderReport], extra: Sequence[EventSpec] = ()
    ) -> list[PublishedEvent]:
        """Journal reports (new fills only) with their events, then apply and publish them."""
        plan = plan_reports(reports, self.state, self.known_fills)
        self.duplicates += plan.duplicates
        keep, events = plan.keep, plan.events + list(extra)
        if not keep and not events:
            return []

        def work(journal: Journal) -> list[int]:
            for report in keep:
                journal.record_report(report)
            return [journal.append_event(k, p, t) for k, p, t in events]

        def then(ids: list[int]) -> list[PublishedEvent]:
            for report in keep:
                self._apply(report)
            return self._publish(ids, events)

        return await self.writer.call(work, then)

    def _apply(self, report: OrderReport) -> None:
        oid = report.order_id
        before = self.state.orders.get(oid)
        after, _ = self.state.apply(report)
        if after is not None and not after.is_open:
            self.open_ids.pop(oid, None)
        if not isinstance(report, Fill):
            return
        self.known_fills.add(report.fill_id)
        booked: Fill | None = report if before is None else None
        if before is not None and after is not None and len(after.fills) > len(before.fills):
            booked = after.fills[-1]
        if booked is not None:
            policy = self.state.policies.get(oid, "")
            self.fills.append((booked, policy))
            self.traded.setdefault(policy, set()).add(booked.symbol)
            self.on_fill(booked, policy)

    # -- views ------------------------------------------------------------------------------

    def open_orders(self, policy: str | None = None, symbol: str | None = None) -> list[OrderState]:
        """Return the open orders (of a policy, of a symbol), oldest first."""
        states, policies = self.state.orders, self.state.policies
        return [
            states[oid]
            for oid in self.open_ids
            if (policy is None or policies.get(oid) == policy)
            and (symbol is None or states[oid].order.symbol == symbol)
        ]

    def position(self, symbol: str, policy: str | None = None) -> float:
        """Return the filled position (of one policy's book, or of the account)."""
        return float(self.state.ledger.position(symbol, policy=policy))

    def figures(
        self,
        order: Order,
        policy: str | None,
        marks: Mapping[str, float],
        batch: Sequence[Order] = (),
    ) -> dict[str, Any]:
        """Return the book figures ``RiskGate.check`` takes for ``order`` (see core.risk).

        ``batch`` holds orders accepted earlier in the same decision and not yet journaled.
        """
        rest = [(s.order, s.remaining) for s in self.open_orders(policy)]
        rest += [(o, float(o.qty)) for o in batch]
        same = [(o, q) for o, q in rest if o.symbol == order.symbol]
        held = self._held(policy)
        gross = math.fsum(abs(q) * marks.get(s, 0.0) for s, q in held.items())
        return {
            "position": held.get(order.symbol, 0.0),
            "last_price": marks.get(order.symbol),
            "gross_notional": gross,
            "open_orders": len(rest),
            "symbol_open_orders": len(same),
            "pending_buy": math.fsum(q for o, q in same if o.side is Side.BUY),
            "pending_sell": math.fsum(q for o, q in same if o.side is Side.SELL),
            "policy": policy,
        }

    def _held(self, policy: str | None) -> dict[str, float]:
        if policy is None:
            return {s: p.qty for s, p in self.state.ledger.positions().items()}
        return {s: self.position(s, policy) for s in self.traded.get(policy, ())}


def _seq(order_id: str) -> int:
    """Return the number of an engine-made client order id (``<policy>.<n>``), else 0."""
    _, _, tail = order_id.rpartition(".")
    return int(tail) if tail.isdigit() else 0
