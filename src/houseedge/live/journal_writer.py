"""Group commit: many asyncio writers, one journal thread, one fsync per batch.

A durable COMMIT costs an fsync (a few milliseconds on most disks), so committing each fill
alone caps the journal at a few hundred fills per second. :class:`JournalWriter` owns a
:class:`~houseedge.live.journal.Journal` in a dedicated thread (``sqlite3`` connections stay in
the thread that opened them, and the event loop never blocks on disk). Callers ``await`` a
write; the thread takes every write queued at that moment (up to ``max_batch``), runs them in
one transaction, commits, and only then resolves their futures. While one batch is being
fsynced the next one queues up, so batches grow with load and a lone write waits for nobody
(``linger`` can trade a little latency for bigger batches).

Durability is unchanged: an awaited write has been committed with ``synchronous=FULL``; a write
whose future has not resolved may be lost in a crash, and its caller has not acted on it. If a
write in a batch raises, the batch is rolled back and its writes are retried one transaction
each, so one bad write fails alone. A failed COMMIT fails every write of its batch.

Examples
--------
>>> import asyncio, tempfile, pathlib
>>> from houseedge.core.types import Fill
>>> path = pathlib.Path(tempfile.mkdtemp()) / "live.db"
>>> async def main():
...     async with JournalWriter(path) as writer:
...         fills = [Fill(fill_id=f"f{i % 3}", order_id="o", symbol="X", side="buy", qty=1,
...             price=1.0) for i in range(5)]
...         fresh = await asyncio.gather(*(writer.record_fill(f) for f in fills))
...         event = await writer.call(lambda j: j.append_event("fills", {"n": 5}, ts=0))
...     return fresh, event
>>> asyncio.run(main())
([True, True, True, False, False], 1)
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from houseedge.core.types import Fill, Order, OrderReport
from houseedge.live.journal import Journal

__all__ = ["JournalWriter"]

T = TypeVar("T")
Work = Callable[[Journal], Any]
_Item = tuple[Work, asyncio.Future[Any]]
_STOP = object()


class JournalWriter:
    """An asyncio front for a journal with group commit (see the module docs).

    Parameters
    ----------
    path
        The journal file.
    max_batch
        The most writes in one transaction.
    linger
        Seconds to wait for more writes after the first of a batch (0: take what is queued).
    """

    def __init__(self, path: str | Path, *, max_batch: int = 2048, linger: float = 0.0) -> None:
        self.path = Path(path)
        self.max_batch = max_batch
        self.linger = linger
        self.batches = 0
        self.writes = 0
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    async def start(self) -> None:
        """Open the journal in the writer thread; return once it is ready."""
        if self._thread is not None:
            msg = "the journal writer is already started"
            raise RuntimeError(msg)
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="journal-writer", daemon=True
        )
        self._thread.start()
        await ready

    async def close(self) -> None:
        """Commit what is queued, stop the thread and close the journal."""
        if self._thread is None:
            return
        self._closing = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None
        self._closing = False

    async def __aenter__(self) -> JournalWriter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, work: Callable[[Journal], T]) -> T:
        """Run ``work(journal)`` in the next batch; return its result once committed.

        ``work`` runs in the writer thread inside the batch's transaction, so several records
        (a fill, its event, a position update) commit together. It may run twice (after a
        rollback), so it must only write to the journal.
        """
        if self._loop is None or self._thread is None or self._closing:
            msg = "the journal writer is not running"
            raise RuntimeError(msg)
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put((work, future))
        return await future

    async def record_fill(self, fill: Fill, *, policy: str | None = None) -> bool:
        """Journal a fill durably; False if its ``fill_id`` was journaled before."""
        return await self.call(lambda journal: journal.record_fill(fill, policy=policy))

    async def record_fills(self, fills: Sequence[Fill], *, policy: str | None = None) -> list[bool]:
        """Journal several fills in one write (what a report stream drained at once gives)."""
        return await self.call(
            lambda journal: [journal.record_fill(fill, policy=policy) for fill in fills]
        )

    async def record_order(self, order: Order, *, policy: str) -> bool:
        """Journal an order durably; False if its id was journaled before."""
        return await self.call(lambda journal: journal.record_order(order, policy=policy))

    async def record_report(self, report: OrderReport) -> int:
        """Journal a report durably; return its journal id (0: a known fill)."""
        return await self.call(lambda journal: journal.record_report(report))

    async def append_event(
        self, kind: str, payload: Mapping[str, Any] | msgspec.Struct, ts: int
    ) -> int:
        """Journal an event durably; return its id."""
        return await self.call(lambda journal: journal.append_event(kind, payload, ts))

    # -- the writer thread ------------------------------------------------------------------

    def _run(self, ready: asyncio.Future[None]) -> None:
        try:
            journal = Journal(self.path)
        except BaseException as exc:  # handed to the awaiting start()
            self._resolve([(ready, None, exc)])
            return
        self._resolve([(ready, None, None)])
        try:
            stop = False
            while not stop:
                items, stop = self._take()
                if items:
                    self._resolve(self._commit(journal, items))
        finally:
            journal.close()

    def _take(self) -> tuple[list[_Item], bool]:
        """Block for one write, then take what else is queued (lingering if asked).

        Return the writes and whether the stop marker was reached.
        """
        first = self._queue.get()
        if first is _STOP:
            return [], True
        items: list[_Item] = [first]  # type: ignore[list-item]
        deadline = time.monotonic() + self.linger
        while len(items) < self.max_batch:
            wait = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return items, True
            items.append(item)  # type: ignore[arg-type]
        return items, False

    def _commit(
        self, journal: Journal, items: list[_Item]
    ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        try:
            with journal.batch():
                results = [work(journal) for work, _ in items]
        except Exception:  # retried alone below: each error to its caller
            return [self._alone(journal, work, future) for work, future in items]
        self.batches += 1
        self.writes += len(items)
        return [(future, result, None) for (_, future), result in zip(items, results, strict=True)]

    def _alone(
        self, journal: Journal, work: Work, future: asyncio.Future[Any]
    ) -> tuple[asyncio.Future[Any], Any, BaseException | None]:
        try:
            with journal.batch():
                result = work(journal)
        except Exception as exc:  # the caller's error, delivered to it
            return future, None, exc
        self.batches += 1
        self.writes += 1
        return future, result, None

    def _resolve(
        self, outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]
    ) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
