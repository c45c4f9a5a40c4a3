"""A small engine behind :class:`~houseedge.live.control.EngineHandle` for the service's tests.

Events go through the real :class:`~houseedge.live.journal.Journal` (on a temporary file), so
event ids are the journal's: journaled first, then offered to subscribers, as the real engine
does. Operator commands change a little state and publish an ``engine`` event; ``commands``
records every call so a test can assert that a refused request changed nothing.

Run as a module it is a service process for tests that need a real process (SIGTERM drain,
the SSE benchmark)::

    python -m tests.fakes.fake_engine --journal /tmp/j.db --rate 100 --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from houseedge.live.control import ManualOrder, PublishedEvent
from houseedge.live.journal import Journal

_END = object()


class _Subscription:
    """A live subscription: registered when created, ended by the engine's stop."""

    def __init__(self, engine: FakeEngine) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._engine = engine
        engine._subscribers.append(self._queue)

    def __aiter__(self) -> AsyncIterator[PublishedEvent]:
        return self

    async def __anext__(self) -> PublishedEvent:
        item = await self._queue.get()
        if item is _END:
            raise StopAsyncIteration
        assert isinstance(item, PublishedEvent)
        return item


class FakeEngine:
    """A journal-backed fake of the live engine."""

    def __init__(self, journal_path: str | Path, *, ready: bool = True) -> None:
        self.journal = Journal(journal_path)
        self.is_ready = ready
        self.state = "running"
        self.commands: list[tuple[str, str, dict[str, Any]]] = []
        self.reject_with: str | None = None  # a risk check name: manual orders fail it
        self.stopped = False
        self._subscribers: list[asyncio.Queue[object]] = []
        self._orders: dict[str, dict[str, Any]] = {}
        self._positions: dict[str, dict[str, Any]] = {}
        self._fills: list[dict[str, Any]] = []
        self._publisher: asyncio.Task[None] | None = None
        self.ticks = 0
        self.publishing_since: float | None = None

    @classmethod
    def in_temp_dir(cls, **kwargs: Any) -> FakeEngine:
        """Return a fake engine journaling to a fresh temporary folder."""
        return cls(Path(tempfile.mkdtemp()) / "live.db", **kwargs)

    # -- EngineHandle: reads ------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.is_ready and not self.stopped

    def health(self) -> Mapping[str, Any]:
        return {
            "state": self.state,
            "broker": "fake",
            "feed": {"age_s": 0.25, "stale": False},
            "journal": {"lag": 0},
            "last_event_id": self.last_event_id,
        }

    def positions(self) -> Sequence[Mapping[str, Any]]:
        return list(self._positions.values())

    def orders(self, *, open_only: bool = False) -> Sequence[Mapping[str, Any]]:
        orders = list(self._orders.values())
        return [o for o in orders if o["status"] == "accepted"] if open_only else orders

    def fills(
        self, *, since_ts: int | None = None, limit: int = 1000
    ) -> Sequence[Mapping[str, Any]]:
        return [f for f in self._fills if since_ts is None or f["ts"] >= since_ts][:limit]

    def risk(self) -> Mapping[str, Any]:
        return {"breaker": "halted" if self.state == "halted" else "normal", "rejects": {}}

    @property
    def last_event_id(self) -> int:
        return self.journal.last_event_id()

    def events_after(self, event_id: int, limit: int = 1000) -> Sequence[PublishedEvent]:
        return [
            PublishedEvent(id=e.id, kind=e.kind, ts=e.ts, payload=e.payload)
            for e in self.journal.events_after(event_id, limit)
        ]

    def subscribe(self) -> AsyncIterator[PublishedEvent]:
        return _Subscription(self)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, kind: str, payload: Mapping[str, Any]) -> PublishedEvent:
        """Journal one event, then offer it to every subscriber."""
        return self.publish_many([(kind, payload)])[-1]

    def publish_many(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[PublishedEvent]:
        """Journal events in one transaction, then offer them in id order."""
        ts = time.time_ns()
        with self.journal.batch():
            ids = [self.journal.append_event(kind, payload, ts) for kind, payload in items]
        events = [
            PublishedEvent(id=i, kind=kind, ts=ts, payload=dict(payload))
            for i, (kind, payload) in zip(ids, items, strict=True)
        ]
        for queue in self._subscribers:
            for event in events:
                queue.put_nowait(event)
        return events

    def fill(self, symbol: str, qty: float, price: float, *, policy: str = "p") -> PublishedEvent:
        """Book a fill and publish its ``fill`` and ``position`` events."""
        fill = {"fill_id": f"f{len(self._fills) + 1}", "symbol": symbol, "policy": policy,
                "qty": qty, "price": price, "ts": time.time_ns()}  # fmt: skip
        self._fills.append(fill)
        book = self._positions.setdefault(symbol, {"policy": policy, "symbol": symbol, "qty": 0.0})
        book["qty"] += qty
        return self.publish_many([("fill", fill), ("position", dict(book))])[0]

    def start_publishing(self, rate: float, *, batch: int = 1, delay: float = 0.0) -> None:
        """Publish ``rate`` events per second (in groups of ``batch``) until stopped."""

        async def run() -> None:
            await asyncio.sleep(delay)
            self.publishing_since = start = time.monotonic()
            while True:
                n = self.ticks
                items = [("tick", {"n": n + i, "sent_ns": time.time_ns()}) for i in range(batch)]
                self.publish_many(items)
                self.ticks += batch
                await asyncio.sleep(max(0.0, start + self.ticks / rate - time.monotonic()))

        self._publisher = asyncio.get_running_loop().create_task(run())

    # -- EngineHandle: operator commands -----------------------------------------------------------

    async def _command(self, name: str, operator: str, **details: Any) -> Mapping[str, Any]:
        self.commands.append((name, operator, details))
        self.publish("engine", {"command": name, "operator": operator, "state": self.state})
        return {"command": name, "state": self.state, **details}

    async def kill(self, *, operator: str, flatten: bool = False) -> Mapping[str, Any]:
        self.state = "halted"
        return await self._command("kill", operator, flatten=flatten)

    async def reset(self, *, operator: str) -> Mapping[str, Any]:
        self.state = "running"
        return await self._command("reset", operator)

    async def pause(self, *, operator: str) -> Mapping[str, Any]:
        self.state = "paused"
        return await self._command("pause", operator)

    async def resume(self, *, operator: str) -> Mapping[str, Any]:
        self.state = "running"
        return await self._command("resume", operator)

    async def flatten(self, *, operator: str) -> Mapping[str, Any]:
        for book in self._positions.values():
            book["qty"] = 0.0
        return await self._command("flatten", operator)

    async def submit_manual(self, order: ManualOrder, *, operator: str) -> Mapping[str, Any]:
        if self.reject_with is not None:
            # As the engine does: a refused order is an outcome, not an exception.
            check, detail = self.reject_with, f"{order.symbol}: over the limit"
            self.publish("risk", {"type": "rejected", "check": check, "symbol": order.symbol})
            return {"order_id": None, "accepted": False, "check": check, "detail": detail}
        order_id = f"manual-{len(self._orders) + 1}"
        self._orders[order_id] = {
            "client_order_id": order_id,
            "symbol": order.symbol,
            "side": str(order.side),
            "qty": order.qty,
            "status": "accepted",
        }
        self.publish("order", {**self._orders[order_id], "status": "new", "policy": "manual"})
        return await self._command("manual_order", operator, order_id=order_id)

    async def stop(self) -> None:
        """Stop publishing, announce it, and end every subscription."""
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            seconds = time.monotonic() - (self.publishing_since or time.monotonic())
            structlog.get_logger().info("publisher_stopped", ticks=self.ticks, seconds=seconds)
        self.state = "stopped"
        self.publish("engine", {"state": "stopped"})
        self.stopped = True
        for queue in self._subscribers:
            queue.put_nowait(_END)


async def _serve(args: argparse.Namespace) -> None:
    from houseedge.live.service import ServiceSettings, run_service

    engine = FakeEngine(args.journal)
    if args.no_fsync:
        # The SSE benchmark measures fan-out, not the disk: an fsync per commit on the event
        # loop's thread (the real engine commits on its writer thread) would stall the loop.
        engine.journal._db.execute("PRAGMA synchronous = OFF")
    if args.rate > 0:
        engine.start_publishing(args.rate, batch=args.batch, delay=args.delay)
    settings = ServiceSettings(
        port=args.port, heartbeat=args.heartbeat, max_lag=args.max_lag, drain_timeout=5.0
    )
    await run_service(engine, settings, stop_engine=engine.stop)
    engine.journal.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a fake engine until SIGTERM (logs JSON lines to standard error)."""
    from houseedge import logs

    parser = argparse.ArgumentParser()
    parser.add_argument("--journal", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heartbeat", type=float, default=15.0)
    parser.add_argument("--max-lag", type=int, default=10_000)
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before publishing")
    args = parser.parse_args(argv)
    logs.configure(level="INFO", json=True)
    asyncio.run(_serve(args))
    sys.exit(0)


if __name__ == "__main__":
    main()
