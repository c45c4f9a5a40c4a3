"""From a closed bar to orders at the broker: the engine's decision path.

:class:`DecisionMixin` is the part of :class:`~houseedge.live.engine.Engine` that runs on each
closed bar (see the pipeline in :mod:`houseedge.live.engine`): the ledger's mark and the risk
gate's monitors, each policy's decision (:mod:`houseedge.live.engine.pipeline`), the pre-trade risk
check, the orders' journal commit and ``broker.submit``; and the cancels the gate or a policy
asks for. It is kept apart from the engine's lifecycle, feed and report loops so each module
reads on its own.

Isolation
    Each policy is a strategy (:mod:`houseedge.live.engine._strategies`) and only a running
    one decides. A decision that raises, a target that is not a finite number in [-1, 1], or a
    decision over the strategy's budget (two ``perf_counter`` reads around it) fails that
    strategy alone: its failure is journaled, its working orders are cancelled, and the loop
    goes on to the next strategy.
Latency
    ``Engine.latencies`` (when a list) receives, for every order, the seconds from the arrival
    of the market event that closed its bar to its ``broker.submit``; ``Engine.journal_latencies``
    the part of it spent committing the order to the journal (the order must be journaled
    before it is sent). The commit runs on the loop's own thread
    (:meth:`~houseedge.live.journal.writer.JournalWriter.write_now`): handing it to the journal
    thread and waiting for the answer cost two thread wake-ups and turns for the GIL, several
    times the commit itself. The loop is blocked while the order commits (microseconds on
    tmpfs, an fsync on disk), and the decision waits for it either way.
Garbage collection
    The cyclic collector is held off while a bar is decided (mark, decisions, journal commit,
    submit: a millisecond or so) and runs when it is over: a full collection over a long-lived
    process's objects takes milliseconds, and landing inside a decision it would be the
    decision's latency. Reference counting still frees everything else at once.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from houseedge.core.execution import OrderState, OrderStatus
from houseedge.core.risk.gate import BreakerState, RiskEvent
from houseedge.core.types import Bar, CancelRequested, Order
from houseedge.errors import BrokerError
from houseedge.live.aggregate import Timeframe
from houseedge.live.engine._book import Book
from houseedge.live.engine._events import EventSpec
from houseedge.live.engine._strategies import STRATEGY_EVENT, Strategy, StrategyState, failure
from houseedge.live.engine.pipeline import OrderRunner, PolicySpec, VectorRunner

if TYPE_CHECKING:
    from houseedge.core.broker import Broker
    from houseedge.core.risk.gate import RiskGate
    from houseedge.live.engine._figures import FigureFeed
    from houseedge.live.journal.ledger import LedgerSnapshot
    from houseedge.live.observability import Observability
    from houseedge.live.telemetry import Telemetry

__all__ = ["DecisionMixin"]


@contextlib.contextmanager
def _collections_deferred() -> Generator[None]:
    """Hold the cyclic garbage collector off inside the block (if it is on at all)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class DecisionMixin:
    """The bar → decision → risk → journal → broker path (see the module doc)."""

    if TYPE_CHECKING:

        @property
        def book(self) -> Book: ...

        broker: Broker
        gate: RiskGate
        log: Any
        specs: dict[str, PolicySpec]
        runners: dict[str, VectorRunner | OrderRunner]
        strategies: dict[str, Strategy]
        by_symbol: dict[str, list[str]]
        marks: dict[str, float]
        latencies: list[float] | None
        observability: Observability | None
        _telemetry: Telemetry | None
        _figures: FigureFeed | None
        _market_now: int
        _cancels: list[str]
        _ready: bool
        _paused: bool
        _stale: bool
        _stopping: bool
        _hook_errors: list[tuple[str, Exception]]

        def _now(self) -> int: ...
        async def _fail_hooked(self, now: int) -> None: ...
        async def _breach_hooks(self, events: Sequence[RiskEvent], now: int) -> None: ...
        async def _engine_event(self, name: str, **payload: Any) -> None: ...
        async def _blackouts(self, names: Sequence[str], now: int) -> None: ...
        def _screen(self, name: str, orders: list[Order], now: int) -> list[Order]: ...

        # The Desk the runners read (HandleMixin).
        def position(self, symbol: str, policy: str | None = None) -> float: ...
        def open_orders(
            self, policy: str | None = None, symbol: str | None = None
        ) -> list[OrderState]: ...
        def new_id(self, policy: str) -> str: ...
        def account(self) -> tuple[float, float]: ...
        def request_cancel(self, order_id: str) -> None: ...

    journal_latencies: list[float] | None = None
    """Seconds each order's journal commit took on the decision path (when a list is set)."""
    _mark_key: Any = None
    _mark_snapshot: LedgerSnapshot | None = None
    _mark_figures: tuple[float, dict[str, float]] = (0.0, {})

    def _ledger_snapshot(self) -> LedgerSnapshot:
        """Return the ledger's snapshot, the last mark's while no fill has been booked since.

        Only :meth:`_mark` moves the ledger's marks, and it refreshes the cached snapshot when
        they matter; a fill changes ``book.fills``.
        """
        cached = self._mark_snapshot
        if cached is not None and self._mark_key[0] == len(self.book.fills):
            return cached
        return self.book.state.ledger.snapshot()

    async def _on_bar(self, bar: Bar, arrived: float) -> None:
        end = Timeframe.parse(bar.timeframe).end(bar.ts) if bar.timeframe else bar.ts
        self._market_now = max(self._market_now, end)
        self.marks[bar.symbol] = bar.close
        names = self.by_symbol.get(bar.symbol, ())
        for name in names:
            self.runners[name].append(bar)
        with _collections_deferred():
            await self._mark(end)
            if self._hook_errors:
                await self._fail_hooked(end)
            obs = self.observability
            if obs is None or not any(self._trading(name) for name in names):
                await self._decide_bar(bar, names, end, arrived)
            else:
                with obs.bar_span(bar.symbol, bar.ts):
                    await self._decide_bar(bar, names, end, arrived)
        feed, snap = self._figures, self._mark_snapshot
        if feed is not None and snap is not None and feed.fresh(snap):  # after the orders
            feed.take(snap, self.marks, self.specs, self.book.state.ledger.currency)
        if self._cancels:
            ids, self._cancels = self._cancels, []
            await self._cancel(ids, end)

    async def _decide_bar(self, bar: Bar, names: Sequence[str], end: int, arrived: float) -> None:
        strategies, obs = self.strategies, self.observability
        await self._blackouts(names, end)
        for name in names:
            strategy = strategies[name]
            blackout = strategy.state is StrategyState.BLACKOUT
            if not ((strategy.running or blackout) and self._trading(name)):
                continue
            wall = 0 if obs is None else time.time_ns()  # a decision's span starts here
            began = time.perf_counter()
            try:
                orders = self._decide(self.runners[name], bar, end)
            except Exception as exc:  # this strategy's fault: it alone stops
                await self._strategy_failed(strategy, end, exc)
                continue
            done = time.perf_counter()
            took = done - began
            strategy.decided(end, took, len(orders))
            if obs is not None:
                obs.figures.decided(name, done - arrived)
            if took > strategy.budget:
                reason = f"decision took {took * 1e3:.1f} ms, over its {strategy.budget * 1e3:g} ms"
                await self._strategy_failed(strategy, end, None, reason + " budget")
                continue
            if blackout:
                orders = self._screen(name, orders, end)
            if obs is None or not orders:
                await self._send(orders, name, end, arrived)
            else:
                await self._traced_send(obs, orders, name, end, arrived, wall)

    async def _traced_send(
        self,
        obs: Observability,
        orders: Sequence[Order],
        name: str,
        end: int,
        arrived: float,
        wall: int,
    ) -> None:
        """Send a decision's orders, then trace it: decision -> risk -> its orders (sent)."""
        telemetry = self._telemetry
        if telemetry is None:  # an Observability always comes with its Telemetry
            await self._send(orders, name, end, arrived)
            return
        checked, outcomes = time.time_ns(), list[dict[str, Any]]()
        telemetry.hold()  # no span between the bar and its orders: they are made after
        try:
            outcomes = await self._send(orders, name, end, arrived)
        finally:
            with (
                obs.span("decision", start_ns=wall, policy=name, orders=len(orders)),
                obs.span("risk", start_ns=checked, policy=name) as risk,
            ):
                risk.set_attribute("rejected", sum(not o["accepted"] for o in outcomes))
                telemetry.release()

    async def _strategy_failed(
        self, strategy: Strategy, now: int, exc: Exception | None, reason: str | None = None
    ) -> None:
        """Fail one strategy: journal why, cancel its working orders; the others trade on."""
        payload = failure(strategy, exc, now, reason)
        self.log.error(
            "strategy.failed", strategy=strategy.name, reason=payload["reason"], at=payload["frame"]
        )
        await self.book.events([(STRATEGY_EVENT, payload, time.time_ns())])
        working = self.book.open_orders(strategy.name)
        await self._cancel([s.order.client_order_id for s in working], now)

    def _decide(self, runner: VectorRunner | OrderRunner, bar: Bar, end: int) -> list[Order]:
        return runner.decide(bar, end, self, self.marks)

    def _trading(self, policy: str) -> bool:
        # A halted breaker does not stop decisions: the gate refuses them, and says which check.
        return self._ready and not (self._paused or self._stale or self._stopping)

    async def _mark(self, now: int) -> None:
        ledger = self.book.state.ledger
        ledger.mark(self.marks)
        # The exact snapshot moves only with a fill or the mark of a symbol with a book: reuse
        # it across bars that change neither (every bar while flat).
        book, marks = self.book, self.marks
        key = (
            len(book.fills),
            [(s, marks.get(s)) for s in sorted(set[str]().union(*book.traded.values()))],
        )
        if key != self._mark_key:
            snap = ledger.snapshot()
            pnl = dict.fromkeys(self.specs, 0.0) | {
                p: float(t.net) for p, t in snap.policies.items() if p in self.specs
            }
            self._mark_key, self._mark_snapshot = key, snap
            self._mark_figures = (float(snap.equity), pnl)
        equity, pnl = self._mark_figures
        events = self.gate.on_mark(equity, now, policy_pnl=dict(pnl))
        if events:
            await self._risk_events(events, now)

    async def _risk_events(self, events: Sequence[RiskEvent], now: int) -> None:
        await self.book.events([("risk", msgspec.to_builtins(e), e.ts or now) for e in events])
        await self._breach_hooks(events, now)
        for event in events:
            self.log.warning(
                "risk.breaker",
                kind=event.kind,
                state=str(event.state),
                policy=event.policy,
                detail=event.detail,
            )
            if event.state is BreakerState.HALTED:
                scope = self.book.open_orders(event.policy or None)
                await self._cancel([s.order.client_order_id for s in scope], now)

    async def _send(
        self, orders: Sequence[Order], policy: str, now: int, arrived: float | None = None
    ) -> list[dict[str, Any]]:
        """Risk-check, journal and submit orders of one decision; return each outcome."""
        accepted: list[Order] = []
        extra: list[EventSpec] = []
        outcomes: list[dict[str, Any]] = []
        scope = policy or None
        for order in orders:
            figures = self.book.figures(order, scope, self.marks, accepted)
            decision = self.gate.check(order, now_ns=now, **figures)
            outcome = {
                "order_id": order.client_order_id,
                "accepted": decision.accepted,
                "check": decision.check,
                "detail": decision.detail,
            }
            outcomes.append(outcome)
            if decision.accepted:
                accepted.append(order)
                continue
            self.log.debug(
                "risk.rejected",
                policy=policy,
                symbol=order.symbol,
                order_id=order.client_order_id,
                check=decision.check,
            )
            extra.append(
                (
                    "risk",
                    {
                        "type": "rejected",
                        "policy": policy,
                        **outcome,
                        "symbol": order.symbol,
                        "side": str(order.side),
                        "qty": float(order.qty),
                    },
                    now,
                )
            )
        if not accepted and not extra:  # nothing to journal: no round trip to the journal thread
            return outcomes
        began = time.perf_counter()
        fresh = await self.book.record_orders([(o, policy) for o in accepted], extra)
        if self.journal_latencies is not None and arrived is not None and fresh:
            self.journal_latencies.append(time.perf_counter() - began)
        for order in fresh:
            await self._submit(order, arrived)
        return outcomes

    async def _submit(self, order: Order, arrived: float | None) -> None:
        if self.latencies is not None and arrived is not None:
            self.latencies.append(time.perf_counter() - arrived)
        telemetry = self._telemetry
        if telemetry is None:
            await self._submit_to_broker(order)
            return
        oid = order.client_order_id
        policy = self.book.state.policies.get(oid, "")
        telemetry.submitting_order(oid, policy, order.symbol)
        began, ok = time.time_ns(), False
        try:
            ok = await self._submit_to_broker(order)
        finally:  # traced now, or with its decision's spans (Telemetry.hold)
            telemetry.order_sent(oid, policy, order.symbol, began, ok)

    async def _submit_to_broker(self, order: Order) -> bool:
        try:
            await self.broker.submit(order)
        except BrokerError as exc:  # left open: the next reconciliation resolves it
            self.log.error(
                "order.submit_failed",
                order_id=order.client_order_id,
                symbol=order.symbol,
                error=str(exc),
            )
            await self._engine_event("submit_failed", order_id=order.client_order_id)
            return False
        return True

    async def _cancel(self, order_ids: Sequence[str], now: int) -> int:
        states = self.book.state.orders
        ids = [
            oid
            for oid in order_ids
            if oid in self.book.open_ids and states[oid].status is not OrderStatus.CANCEL_REQUESTED
        ]
        if not ids:
            return 0
        await self.book.record([CancelRequested(order_id=oid, ts=now) for oid in ids])
        for oid in ids:
            await self.broker.cancel(oid)
        return len(ids)

    async def _cancel_all(self, reason: str) -> int:
        ids = [s.order.client_order_id for s in self.book.open_orders()]
        self.log.info("orders.cancel_all", reason=reason, count=len(ids))
        return await self._cancel(ids, self._now())
