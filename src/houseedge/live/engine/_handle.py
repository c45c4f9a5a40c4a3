"""The engine as the service and the policies see it: EngineHandle views, operator commands, desk.

:class:`HandleMixin` is the part of :class:`~houseedge.live.engine.Engine` that only reads the
book or routes an operator's command through the same risk gate, journal and broker path as a
policy's orders (``Engine._send``); it is kept apart so the pipeline module stays readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from houseedge.core.execution import OrderStatus
from houseedge.core.types import Order, OrderType, Side, TimeInForce
from houseedge.live.control import ManualOrder, PublishedEvent
from houseedge.live.engine._book import Book
from houseedge.live.engine._events import fill_payload, order_payload

if TYPE_CHECKING:
    from houseedge.core.broker import Broker
    from houseedge.core.risk.gate import RiskEvent, RiskGate
    from houseedge.live.feeds import FeedStaleness
    from houseedge.live.journal.ledger import LedgerSnapshot

__all__ = ["HandleMixin"]


class HandleMixin:
    """EngineHandle's views and commands, and the desk runners read (see the module doc)."""

    if TYPE_CHECKING:
        # Engine.book is a read-only property (the book exists only once started).
        @property
        def book(self) -> Book: ...

        broker: Broker
        specs: dict[str, Any]
        gate: RiskGate
        journal_path: Any
        log: Any
        _ready: bool
        _paused: bool
        _stale: bool
        _feed_done: bool
        _phase: str
        _book: Book | None
        _staleness: FeedStaleness
        _received: int
        _processed: int
        _error: BaseException | None
        _seq: int
        _cancels: list[str]
        _progress: asyncio.Event
        drain_timeout: float

        def _now(self) -> int: ...
        def _ledger_snapshot(self) -> LedgerSnapshot: ...
        def _in_flight(self) -> list[str]: ...
        async def _engine_event(self, name: str, **payload: Any) -> None: ...
        async def _risk_events(self, events: Sequence[RiskEvent], now: int) -> None: ...
        async def _cancel(self, order_ids: Sequence[str], now: int) -> int: ...
        async def _send(
            self, orders: Sequence[Order], policy: str, now: int, arrived: float | None = None
        ) -> list[dict[str, Any]]: ...

    # -- the Desk runners read --------------------------------------------------------------

    def new_id(self, policy: str) -> str:
        """Return a fresh client order id ``<policy>.<n>`` (n continues across restarts)."""
        self._seq += 1
        return f"{policy or 'manual'}.{self._seq}"

    def position(self, symbol: str, policy: str | None = None) -> float:
        """Return the filled position in ``symbol`` (of one policy, or of the account)."""
        return self.book.position(symbol, policy)

    def open_orders(self, policy: str | None = None, symbol: str | None = None) -> list[Any]:
        """Return the working orders' states (of a policy, of a symbol), oldest first."""
        return self.book.open_orders(policy, symbol)

    def account(self) -> tuple[float, float]:
        """Return the ledger's cash and equity at the last marks."""
        snap = self._ledger_snapshot()
        return float(snap.cash), float(snap.equity)

    def request_cancel(self, order_id: str) -> None:
        """Cancel ``order_id`` once the current decision is done."""
        self._cancels.append(order_id)

    # -- EngineHandle: state ----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Return True once rebuilt and reconciled, until stopped or failed."""
        return self._ready

    def health(self) -> Mapping[str, Any]:
        """Return the engine's phase, broker, feed staleness, breaker and journal figures."""
        staleness, book = self._staleness, self._book
        return {
            "state": "paused" if self._paused and self._phase == "running" else self._phase,
            "ready": self._ready,
            "broker": self.broker.name,
            "paused": self._paused,
            "feed": {
                "stale": self._stale,
                "done": self._feed_done,
                "age_s": staleness.age(),
                "events": staleness.events,
            },
            "breaker": str(self.gate.state),
            "journal": {
                "path": str(self.journal_path),
                "writes": 0 if book is None else book.writer.writes,
                "batches": 0 if book is None else book.writer.batches,
                "lag": self._received - self._processed,
            },
            "orders_in_flight": 0 if book is None else len(self._in_flight()),
            "error": None if self._error is None else repr(self._error),
        }

    def positions(self) -> Sequence[Mapping[str, Any]]:
        """Return every (policy, symbol) book with quantity, average price and PnL."""
        snap = self.book.state.ledger.snapshot()
        return [
            {
                "policy": h.policy,
                "symbol": h.symbol,
                "qty": float(h.qty),
                "avg_price": None if h.avg_price is None else float(h.avg_price),
                "realised": float(h.realised),
                "fees": float(h.fees),
                "unrealised": None if h.unrealised is None else float(h.unrealised),
            }
            for h in snap.holdings
        ]

    def orders(self, *, open_only: bool = False) -> Sequence[Mapping[str, Any]]:
        """Return orders with status and filled quantity, oldest first."""
        state = self.book.state
        ids = list(self.book.open_ids) if open_only else list(state.orders)
        return [order_payload(state.orders[i], state.policies.get(i, "")) for i in ids]

    def fills(
        self, *, since_ts: int | None = None, limit: int = 1000
    ) -> Sequence[Mapping[str, Any]]:
        """Return booked fills (at or after ``since_ts``), oldest first, at most ``limit``."""
        out: list[Mapping[str, Any]] = []
        for fill, policy in self.book.fills:
            if since_ts is None or fill.ts >= since_ts:
                out.append(fill_payload(fill, policy))
                if len(out) >= limit:
                    break
        return out

    def risk(self) -> Mapping[str, Any]:
        """Return the risk gate's snapshot as plain data."""
        result: dict[str, Any] = msgspec.to_builtins(self.gate.snapshot())
        return result

    @property
    def last_event_id(self) -> int:
        """Return the id of the newest journaled event."""
        return 0 if self._book is None else self._book.last_event_id

    def events_after(self, event_id: int, limit: int = 1000) -> Sequence[PublishedEvent]:
        """Return journaled events with ids above ``event_id``, oldest first."""
        return [
            PublishedEvent(id=e.id, kind=e.kind, ts=e.ts, payload=e.payload)
            for e in self.book.reader.events_after(event_id, limit)
        ]

    def subscribe(self) -> AsyncIterator[PublishedEvent]:
        """Return the events published from now on (the stream ends when the engine stops).

        The subscription is registered by this call, before the first ``async for`` step.
        """
        return self.book.subscribe()

    # -- EngineHandle: operator commands ----------------------------------------------------

    async def pause(self, *, operator: str) -> Mapping[str, Any]:
        """Stop policy decisions (orders in flight carry on)."""
        self._paused = True
        await self._engine_event("paused", operator=operator)
        self.log.info("engine.paused", operator=operator)
        return {"paused": True}

    async def resume(self, *, operator: str) -> Mapping[str, Any]:
        """Resume policy decisions."""
        self._paused = False
        await self._engine_event("resumed", operator=operator)
        self.log.info("engine.resumed", operator=operator)
        return {"paused": False}

    async def kill(self, *, operator: str, flatten: bool = False) -> Mapping[str, Any]:
        """Halt through the kill switch, cancel every open order, flatten when asked.

        The gate halts at once (no new order passes), the cancels are requested and the kill
        journaled; the flatten then waits (up to ``drain_timeout``) for the cancels to be
        confirmed, so a working close order does not make its replacement look like a new
        position, and sizes its orders net of any cancel still unconfirmed. The answer (and
        the ``killed`` audit event) says exactly what it cancelled and sent.
        """
        now = self._now()
        event = self.gate.kill(flatten, now_ns=now, reason=f"operator {operator}")
        requested = await self._cancel_open(now, "kill")
        await self._risk_events([event], now)  # its own cancel finds nothing left to cancel
        result = await self._close_out(now, requested, flatten=flatten)
        await self._engine_event("killed", operator=operator, flatten=flatten, **_counts(result))
        self.log.warning("engine.killed", operator=operator, flatten=flatten, **_counts(result))
        return {"state": str(self.gate.state), **result}

    async def flatten(self, *, operator: str) -> Mapping[str, Any]:
        """Cancel working orders and close every position with market orders (risk-checked)."""
        now = self._now()
        requested = await self._cancel_open(now, "flatten")
        result = await self._close_out(now, requested, flatten=True)
        await self._engine_event("flatten", operator=operator, **_counts(result))
        return {**result, "orders": result["flatten"]}

    async def reset(self, *, operator: str) -> Mapping[str, Any]:
        """Clear the kill switch and return every breaker to normal (journaled, audited)."""
        now = self._now()
        await self._risk_events([self.gate.reset(operator, now_ns=now)], now)
        await self._engine_event("reset", operator=operator)
        self.log.warning("engine.reset", operator=operator)
        return {"state": str(self.gate.state), "operator": operator}

    async def cancel_order(self, order_id: str, *, operator: str) -> Mapping[str, Any]:
        """Cancel one working order (audited as a ``cancel_order`` event); say what happened.

        ``status`` is the order's status after the request: ``cancel_requested`` when the
        cancel was sent, or the order's final status when it was no longer working.
        """
        state = self.book.state.orders[order_id]  # KeyError: the caller answers 404
        requested = await self._cancel([order_id], self._now()) == 1
        status = str(self.book.state.orders[order_id].status)
        audit = {"operator": operator, "order_id": order_id, "requested": requested}
        await self._engine_event("cancel_order", **audit, status=status)
        self.log.info("order.cancel_requested", **audit)
        policy = self.book.state.policies.get(order_id, "")
        return {**audit, "status": status, "policy": policy, "symbol": state.order.symbol}

    async def _cancel_open(self, now: int, reason: str) -> list[str]:
        """Request the cancel of every open order not already cancelling; return their ids."""
        states = self.book.state.orders
        ids = [
            oid
            for oid in self.book.open_ids
            if states[oid].status is not OrderStatus.CANCEL_REQUESTED
        ]
        await self._cancel(ids, now)  # the same filter, before its first await: exactly these
        self.log.info("orders.cancel_all", reason=reason, count=len(ids))
        return ids

    async def _close_out(
        self, now: int, cancelled: list[str], *, flatten: bool, policy: str | None = None
    ) -> dict[str, Any]:
        """Wait for the cancels, then flatten (every policy's books, or ``policy``'s) if asked."""
        if flatten:
            await self._cancels_confirmed(policy)
        pending = [oid for oid in cancelled if oid in self.book.open_ids]
        outcomes = await self._flatten(now, policy) if flatten else []
        return {
            "cancelled": len(cancelled),
            "cancelled_ids": cancelled,
            "pending_cancels": pending,
            "flatten": outcomes,
            "sent": [o["order_id"] for o in outcomes if o["accepted"]],
        }

    async def _cancels_confirmed(self, policy: str | None = None) -> None:
        """Wait (up to ``drain_timeout``) until no open order is waiting for its cancel."""
        deadline = time.monotonic() + self.drain_timeout
        while self._cancelling(policy) and (left := deadline - time.monotonic()) > 0:
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), left)

    def _cancelling(self, policy: str | None = None) -> bool:
        cancel = OrderStatus.CANCEL_REQUESTED
        return any(s.status is cancel for s in self.book.open_orders(policy))

    async def _flatten(self, now: int, only: str | None = None) -> list[dict[str, Any]]:
        outcomes: list[dict[str, Any]] = []
        for policy, symbols in list(self.book.traded.items()):
            if only is not None and policy != only:
                continue
            for symbol in sorted(symbols):
                held = self.book.position(symbol, policy)
                side = Side.SELL if held > 0 else Side.BUY
                # A close whose cancel is still unconfirmed may yet fill: send only the rest.
                closing = sum(
                    s.remaining
                    for s in self.book.open_orders(policy, symbol)
                    if s.order.side is side
                )
                qty = abs(held) - closing
                if qty <= 1e-9:
                    continue
                order = Order(
                    client_order_id=self.new_id(policy or ""),
                    symbol=symbol,
                    side=side,
                    qty=qty,
                    ts=now,
                    tag="flatten",
                )
                outcomes += await self._send([order], policy or "", now)
        return outcomes

    async def submit_manual(self, order: ManualOrder, *, operator: str) -> Mapping[str, Any]:
        """Risk-check and submit an operator's order; audited as a ``manual_order`` event.

        With ``order.policy`` the order is that strategy's (its position, its risk budget): a
        partial close of a strategy's position leaves the strategy at the remainder. Without
        it the order books in the manual account (policy ``""``).
        """
        now = self._now()
        policy = order.policy or ""
        if policy and policy not in self.specs:
            known = ", ".join(sorted(self.specs))
            detail = f"policy {policy!r} is not a strategy of this engine; known: {known}"
            return {
                "order_id": None,
                "accepted": False,
                "check": "unknown_policy",
                "detail": detail,
            }
        try:
            # A price of 0 means "not given", as for None; an unknown type or tif is a ValueError.
            made = Order(
                client_order_id=self.new_id(policy),
                symbol=order.symbol,
                side=order.side,
                qty=order.qty,
                type=OrderType(order.type),
                tif=TimeInForce(order.tif),
                limit_price=order.limit_price or None,
                stop_price=order.stop_price or None,
                ts=now,
                tag=f"manual:{operator}",
            )
        except ValueError as exc:  # an impossible combination (a limit order without a price)
            return {
                "order_id": None,
                "accepted": False,
                "check": "invalid_order",
                "detail": str(exc),
            }
        (outcome,) = await self._send([made], policy, now)
        audit = {"operator": operator, "policy": policy, "symbol": made.symbol}
        await self._engine_event("manual_order", **audit, **outcome)
        self.log.info(
            "order.manual", **audit, order_id=made.client_order_id, ok=outcome["accepted"]
        )
        return outcome


def _counts(result: Mapping[str, Any]) -> dict[str, int]:
    return {"cancelled": result["cancelled"], "sent": len(result["sent"])}
