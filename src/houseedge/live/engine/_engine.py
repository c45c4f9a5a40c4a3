"""The async live engine: market data to orders through policies, sizers and the risk gate.

Pipeline (one asyncio task each for the feed, the broker's report stream, the report journal
and the staleness timer)::

    feed ─▶ staleness.touch ─▶ broker.on_market (paper) ─▶ BarAggregator ─▶ closed bar
       ─▶ ledger mark + RiskGate.on_mark ─▶ per policy: target/decide ─▶ sizer ─▶ RiskGate.check
       ─▶ journal orders (+ their events) ─▶ broker.submit
    broker.reports() ─▶ journal reports + events (one transaction, fills unique by fill_id)
       ─▶ order state machine + exact ledger ─▶ RiskGate.on_fill ─▶ publish events

The engine's lifecycle and report loop are here; the market path is
:mod:`~houseedge.live.engine._market`, the decision path :mod:`~houseedge.live.engine._decisions`,
the service's views and commands :mod:`~houseedge.live.engine._handle`, and every state change
goes through the book (:mod:`~houseedge.live.engine._book`).

The engine's semantics (bars and decisions, paper parity, journal first, start, staleness,
observability, drain) are documented on :mod:`houseedge.live.engine`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from houseedge import logs
from houseedge.core.broker import Broker, MarketFeed
from houseedge.core.costs import NO_COSTS, CostModel
from houseedge.core.execution import OrderStatus
from houseedge.core.risk.gate import RiskGate, RiskLimits
from houseedge.core.types import OrderReport
from houseedge.errors import PolicyError
from houseedge.live.aggregate import BarAggregator
from houseedge.live.engine._book import Book
from houseedge.live.engine._controls import fold
from houseedge.live.engine._controls import restore as restore_controls
from houseedge.live.engine._decisions import DecisionMixin
from houseedge.live.engine._figures import FigureFeed
from houseedge.live.engine._handle import HandleMixin
from houseedge.live.engine._hooks import HooksMixin
from houseedge.live.engine._manager import ManagerMixin
from houseedge.live.engine._market import MarketMixin
from houseedge.live.engine._strategies import (
    DEFAULT_DECISION_BUDGET,
    Strategy,
    journaled,
    restore,
)
from houseedge.live.engine.pipeline import PolicySpec, make_runner
from houseedge.live.engine.reconcile import reconcile
from houseedge.live.feeds import FeedStaleness
from houseedge.live.instruments import Instruments
from houseedge.live.journal.ledger import Ledger
from houseedge.live.telemetry import Telemetry

if TYPE_CHECKING:
    from houseedge.core.types import Fill
    from houseedge.live.observability import Observability

__all__ = ["Engine", "PolicySpec"]

_IN_FLIGHT = frozenset({OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.CANCEL_REQUESTED})


class Engine(MarketMixin, DecisionMixin, HandleMixin, HooksMixin, ManagerMixin):
    """The live engine; implements :class:`~houseedge.live.control.EngineHandle`.

    Parameters
    ----------
    broker, feed
        The venue and the market data.
    policies
        The policies to run, each with its symbols, sizer and risk limits.
    journal
        The journal file (created when absent; an existing one is rebuilt and reconciled).
    risk
        The account's (default) risk limits.
    timeframe
        Aggregate the feed into bars of this timeframe; None: use the feed's bars as they are.
    cash, instruments
        The ledger's starting cash (the broker account's) and instrument increments.
    costs
        The cost model sizing estimates fill prices with (the broker's own model prices fills).
    staleness_seconds
        Pause decisions when the feed is silent this long.
    drain_timeout
        How long :meth:`stop` waits for orders in flight by default (seconds).
    observability
        Where to record latencies, operator figures and the bar → decision → risk → order →
        fill traces (the service's :class:`~houseedge.live.observability.Observability`);
        nothing is recorded when None.
    decision_budget
        Seconds a decision may take before its strategy fails (a spec's ``budget`` overrides it).

    Examples
    --------
    >>> import asyncio, tempfile, pathlib
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> from houseedge.core.sizing.sizers import FixedUnits
    >>> from houseedge.core.types import Bar
    >>> from houseedge.live.feeds import IterableFeed
    >>> from houseedge.live.paper import PaperBroker
    >>> closes = [10.0, 11.0, 12.0, 11.0, 10.0, 9.0, 10.0, 11.0]
    >>> bars = [Bar(symbol="X", timeframe="1d", ts=i * 86_400 * 10**9, open=c, high=c, low=c,
    ...             close=c, volume=1e3) for i, c in enumerate(closes)]
    >>> async def session():
    ...     engine = Engine(broker=PaperBroker(), feed=IterableFeed(bars),
    ...         policies=[PolicySpec("sma", SmaCross(1, 2), ["X"], sizer=FixedUnits(5))],
    ...         journal=pathlib.Path(tempfile.mkdtemp()) / "live.db")
    ...     await engine.start()
    ...     await engine.run_until_idle()
    ...     fills = [(f["side"], f["qty"], f["price"]) for f in engine.fills()]
    ...     await engine.stop()
    ...     return engine.ready, fills
    >>> asyncio.run(session())
    (False, [('buy', 5.0, 12.0), ('sell', 5.0, 10.0), ('buy', 5.0, 11.0)])
    """

    def __init__(
        self,
        *,
        broker: Broker,
        feed: MarketFeed,
        policies: Sequence[PolicySpec],
        journal: str | Path,
        risk: RiskLimits | None = None,
        timeframe: str | None = None,
        cash: float = 100_000.0,
        instruments: Instruments | None = None,
        costs: CostModel | None = None,
        staleness_seconds: float = 30.0,
        drain_timeout: float = 10.0,
        observability: Observability | None = None,
        decision_budget: float = DEFAULT_DECISION_BUDGET,
    ) -> None:
        names = [p.name for p in policies]
        if len(set(names)) != len(names) or "" in names:
            msg = f"policy names must be unique and non-empty, got {names}"
            raise PolicyError(msg)
        self.broker, self.feed, self.journal_path = broker, feed, Path(journal)
        self.specs = {p.name: p for p in policies}
        self.costs = costs = NO_COSTS if costs is None else costs
        self.runners = {p.name: make_runner(p, costs) for p in policies}
        self.strategies = {
            p.name: Strategy(p.name, decision_budget if p.budget is None else p.budget)
            for p in policies
        }
        self.by_symbol: dict[str, list[str]] = {}
        for p in policies:
            for symbol in p.symbols:
                self.by_symbol.setdefault(symbol, []).append(p.name)
        limits = {p.name: p.limits for p in policies if p.limits is not None}
        self.gate = RiskGate(risk or RiskLimits(), policies=limits)
        self.aggregator = BarAggregator(timeframe) if timeframe else None
        self.cash, self.instruments = cash, instruments
        self.staleness_seconds, self.drain_timeout = staleness_seconds, drain_timeout
        self.marks: dict[str, float] = {}
        self.latencies: list[float] | None = None
        """Seconds from a market event's arrival to each ``broker.submit`` it caused (when a
        list is set here: the benchmark's figure)."""
        self.log = logs.get_logger("houseedge.live.engine", broker=broker.name)
        self._book: Book | None = None
        self._staleness = FeedStaleness(staleness_seconds)  # restarted by start()
        self._phase = "created"
        self._ready = self._paused = self._stale = self._stopping = self._feed_done = False
        self._seq = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._inbox: asyncio.Queue[OrderReport | None] = asyncio.Queue()
        self._received = self._processed = 0
        self._progress = asyncio.Event()
        self._cancels: list[str] = []
        self._hook_errors: list[tuple[str, Exception]] = []
        self._market_now = 0
        self._forward = getattr(broker, "on_market", None)  # an in-process venue (paper)
        self._error: BaseException | None = None
        self.observability = observability
        self._telemetry = None if observability is None else Telemetry(observability)
        self._figures = None if observability is None else FigureFeed(observability.figures)
        if observability is not None:
            observability.on_render(self._refresh_figures)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def book(self) -> Book:
        """Return the book (order states, ledger, journal); only after :meth:`start`."""
        if self._book is None:
            msg = "the engine is not started"
            raise RuntimeError(msg)
        return self._book

    async def start(self) -> None:
        """Rebuild from the journal, connect, reconcile, then start trading."""
        self._phase = "starting"
        make = lambda: Ledger(cash=self.cash, instruments=self.instruments)  # noqa: E731
        self._book, facts = await Book.open(str(self.journal_path), make)
        self._book.on_fill = self._on_fill
        self._seq = int(facts["max_seq"])
        # Kill, breakers and pause stay as the operator (or a monitor) left them until reset.
        controls = fold(facts["controls"])
        restore_controls(self.gate, controls)
        self._paused = controls.paused
        self._restore_added()  # strategies an operator added (the manager's)
        restore(self.strategies, journaled(self._book.reader))
        bind = getattr(self.broker, "bind_events", None)
        if bind is not None:  # an adapter's own anomalies (stream gaps, malformed events)
            bind(self._book.events)
        await self.broker.connect()
        self._phase = "reconciling"
        summary, resubmit = await reconcile(self._book, self.broker, facts, log=self.log)
        for order in resubmit:
            await self._submit(order, None)
        self._staleness = FeedStaleness(self.staleness_seconds)
        spawn = asyncio.get_running_loop().create_task
        self._tasks = [spawn(self._pump()), spawn(self._process()), spawn(self._watch())]
        self._ready, self._phase = True, "running"
        await self._engine_event("started", reconciliation=summary)
        if controls.active:
            await self._engine_event("controls_restored", **msgspec.to_builtins(controls))
        self._tasks.append(spawn(self._market()))
        self.log.info("engine.started", policies=list(self.specs), **summary)

    async def run_until_idle(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until the feed is exhausted and no report or order is in flight (tests)."""
        async with asyncio.timeout(timeout):
            # Polled: idleness is the absence of work in three places, not one event.
            while not (self._feed_done and self._idle()):
                self._raise_error()
                await asyncio.sleep(0.005)
            await self._settle()
        self._raise_error()

    async def stop(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 (a drain bound, not a cancellation scope)
        *,
        cancel_open: bool = False,
    ) -> dict[str, int]:
        """Drain: no new decisions, wait ``timeout`` s for in-flight orders, journal and close."""
        if self._phase in ("stopped", "created"):
            return {}
        self._stopping, self._ready, self._phase = True, False, "stopping"
        await self.feed.close()
        market = self._tasks[-1] if self._tasks else None
        if market is not None and not market.done():
            market.cancel()
        deadline = time.monotonic() + (self.drain_timeout if timeout is None else timeout)
        await self._drain(deadline)
        cancelled = 0
        if cancel_open:
            cancelled = await self._cancel_all("drain")
            await self._drain(deadline)
        counts = {
            "in_flight": len(self._in_flight()),
            "cancelled": cancelled,
            "open": len(self.book.open_ids),
            "orders": self.book.orders_sent,
            "fills": len(self.book.fills),
        }
        await self._engine_event("stopped", **counts)
        await self.broker.close()
        await self._finish_tasks()
        await self.book.close()
        self._phase = "stopped"
        self.log.info("engine.stopped", **counts)
        return counts

    async def _drain(self, deadline: float) -> None:
        """Wait (until ``deadline``, monotonic) for the orders in flight to be acknowledged."""
        while self._in_flight() and (left := deadline - time.monotonic()) > 0:
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), left)

    async def _finish_tasks(self) -> None:
        pump, process, *others = self._tasks
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pump), 1.0)
        for task in (pump, *others):
            task.cancel()
        self._inbox.put_nowait(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process, 10.0)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- strategies -------------------------------------------------------------------------

    def health(self) -> Mapping[str, Any]:
        """Return the engine's health (:meth:`HandleMixin.health`) with each strategy's state."""
        states = {name: str(s.state) for name, s in self.strategies.items()}
        return {**super().health(), "strategies": states}

    def list_strategies(self) -> list[dict[str, Any]]:
        """Return each strategy's state, positions, net PnL and last decision."""
        pnl = self._mark_figures[1]
        return [
            strategy.view()
            | {
                "positions": {s: self.position(s, name) for s in self.specs[name].symbols},
                "pnl": pnl.get(name, 0.0),
            }
            for name, strategy in self.strategies.items()
        ]

    def _refresh_figures(self) -> None:
        """Bring the operator figures up to date before a scrape (states; fills since a mark)."""
        if self._figures is not None and self._book is not None:
            ledger = self._book.state.ledger
            snap = self._ledger_snapshot()
            self._figures.refresh(self.gate, self.strategies, snap, self.marks, ledger.currency)

    # -- the report path --------------------------------------------------------------------

    async def _pump(self) -> None:
        telemetry = self._telemetry
        async for report in self.broker.reports():
            self._received += 1
            if telemetry is not None:
                telemetry.report(report.order_id)
            self._inbox.put_nowait(report)

    def _on_fill(self, fill: Fill, policy: str) -> None:
        """Book a fill's effect on the risk gate (and trace it); runs once it is journaled."""
        self.gate.on_fill(fill, policy=policy or None)
        self._fill_hook(fill, policy)
        if self._telemetry is not None:
            self._telemetry.fill(fill, final=fill.order_id not in self.book.open_ids)

    async def _process(self) -> None:
        while True:
            batch = [await self._inbox.get()]
            while not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            reports = [r for r in batch if r is not None]
            try:
                if reports:
                    await self.book.record(reports)
            except Exception as exc:  # a journal failure: trading must stop, loudly
                self._fail(exc)
            self._processed += len(reports)
            self._progress.set()
            if None in batch:
                return

    async def _settle(self) -> None:
        """Wait until every report the broker has emitted so far is journaled and booked."""
        await asyncio.sleep(0)  # let the pump take what the broker just queued
        while self._processed < self._received:
            self._progress.clear()
            await self._progress.wait()

    def _idle(self) -> bool:
        return self._processed >= self._received and not self._in_flight()

    def _in_flight(self) -> list[str]:
        states = self.book.state.orders
        return [oid for oid in self.book.open_ids if states[oid].status in _IN_FLIGHT]

    # -- helpers ----------------------------------------------------------------------------

    def _now(self) -> int:
        """Return the engine's clock: market time once the feed has spoken, else wall time."""
        return self._market_now or time.time_ns()

    async def _engine_event(self, name: str, **payload: Any) -> None:
        await self.book.events([("engine", {"event": name, **payload}, time.time_ns())])

    def _fail(self, exc: BaseException) -> None:
        self.log.error("engine.failed", error=repr(exc))
        self._error, self._ready = exc, False
        self._stopping = True

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
