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

**Commit order.** A write may carry ``then``, a function of its result run on the event loop
once the write is durable (the book applies and publishes there). ``then`` callbacks run in
the order their writes committed, whatever task awaits them and even if that task was
cancelled, so events leave in the order of their journal ids (what SSE resumption by
``Last-Event-ID`` relies on) and nothing committed goes unapplied.

**Writes on the loop.** :meth:`JournalWriter.write_now` commits on the calling (event-loop)
thread and returns the result: no hop to the journal thread and back, which is most of a lone
write's latency (each hop is a thread wake-up plus a turn for the GIL). The decision path uses
it for orders, which must be durable before they are sent. The one connection is shared under
a lock, so a write on the loop waits for a batch being committed, and the loop is blocked while
its own COMMIT syncs (microseconds on tmpfs, an fsync on disk).

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
import collections
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import msgspec

from houseedge.core.types import Fill, Order, OrderReport
from houseedge.live.journal._journal import Journal

__all__ = ["JournalWriter"]

T = TypeVar("T")
U = TypeVar("U")
Work = Callable[[Journal], Any]
Then = Callable[[Any], Any] | None
_Item = tuple[Work, asyncio.Future[Any], Then]
_Outcome = tuple[asyncio.Future[Any] | None, Then, Any, BaseException | None]
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
        self._journal: Journal | None = None
        # Held while the connection is used; outcomes join _done under it, so _done is in
        # commit order and _drain settles (and runs ``then``) in that order.
        self._lock = threading.Lock()
        self._done: collections.deque[_Outcome] = collections.deque()
        self._loop_thread: int | None = None

    async def start(self) -> None:
        """Open the journal in the writer thread; return once it is ready."""
        if self._thread is not None:
            msg = "the journal writer is already started"
            raise RuntimeError(msg)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
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

    @overload
    async def call(self, work: Callable[[Journal], T]) -> T: ...
    @overload
    async def call(self, work: Callable[[Journal], T], then: Callable[[T], U]) -> U: ...
    async def call(
        self, work: Callable[[Journal], T], then: Callable[[T], U] | None = None
    ) -> T | U:
        """Run ``work(journal)`` in the next batch; return its result once committed.

        ``work`` runs in the writer thread inside the batch's transaction, so several records
        (a fill, its event, a position update) commit together. It may run twice (after a
        rollback), so it must only write to the journal. With ``then``, ``then(result)`` runs
        on the loop in commit order (see the module docs) and its value is returned.
        """
        self._check_running()
        future: asyncio.Future[Any] = self._loop.create_future()  # type: ignore[union-attr]
        self._queue.put((work, future, then))
        return await future

    @overload
    def write_now(self, work: Callable[[Journal], T]) -> T: ...
    @overload
    def write_now(self, work: Callable[[Journal], T], then: Callable[[T], U]) -> U: ...
    def write_now(
        self, work: Callable[[Journal], T], then: Callable[[T], U] | None = None
    ) -> T | U:
        """Run ``work(journal)`` in a transaction of its own on this thread; return once durable.

        Call it from the event loop's thread. Writes committed before it are settled first
        (their ``then`` run), so ``then(result)`` runs in commit order too. An error rolls the
        transaction back and is raised here.
        """
        self._check_running()
        if threading.get_ident() != self._loop_thread:
            msg = "write_now must be called from the event loop's thread"
            raise RuntimeError(msg)
        with self._lock:
            outcome = self._write_here(work, then)
        settled = self._drain()
        if isinstance(outcome, Exception):  # nothing committed; earlier writes are settled
            raise outcome
        value, error = settled[id(outcome)]
        if error is not None:
            raise error
        return value

    def _write_here(self, work: Work, then: Then) -> _Outcome | Exception:
        """Commit ``work`` on this thread (the lock held); return its outcome or its error."""
        journal = self._journal
        if journal is None:  # the writer thread has closed it
            return RuntimeError("the journal writer is not running")
        try:
            with journal.batch():
                result = work(journal)
        except Exception as exc:  # the caller's error, raised to it
            return exc
        self.batches += 1
        self.writes += 1
        outcome: _Outcome = (None, then, result, None)
        self._done.append(outcome)
        return outcome

    def _check_running(self) -> None:
        if self._loop is None or self._thread is None or self._closing:
            msg = "the journal writer is not running"
            raise RuntimeError(msg)

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
            journal = Journal(self.path, shared=True)
        except BaseException as exc:  # handed to the awaiting start()
            self._hand_over([(ready, None, None, exc)])
            return
        self._journal = journal
        self._hand_over([(ready, None, None, None)])
        try:
            stop = False
            while not stop:
                items, stop = self._take()
                if items:
                    with self._lock:
                        self._done.extend(self._commit(journal, items))
                    self._hand_over([])
        finally:
            with self._lock:
                self._journal = None
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

    def _commit(self, journal: Journal, items: list[_Item]) -> list[_Outcome]:
        try:
            with journal.batch():
                results = [work(journal) for work, _, _ in items]
        except Exception:  # retried alone below: each error to its caller
            return [self._alone(journal, item) for item in items]
        self.batches += 1
        self.writes += len(items)
        return [
            (future, then, result, None)
            for (_, future, then), result in zip(items, results, strict=True)
        ]

    def _alone(self, journal: Journal, item: _Item) -> _Outcome:
        work, future, then = item
        try:
            with journal.batch():
                result = work(journal)
        except Exception as exc:  # the caller's error, delivered to it
            return future, None, None, exc
        self.batches += 1
        self.writes += 1
        return future, then, result, None

    def _hand_over(self, outcomes: list[_Outcome]) -> None:
        """Have the loop settle ``outcomes`` (start-up's) and what :attr:`_done` holds."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._settle_all, outcomes)

    def _settle_all(self, outcomes: list[_Outcome]) -> None:
        for outcome in outcomes:
            _settle(outcome)
        self._drain()

    def _drain(self) -> dict[int, tuple[Any, BaseException | None]]:
        """Settle committed writes in commit order; return each outcome's value and error.

        Outcomes join :attr:`_done` under the lock in commit order and leave it from the
        front, so even a ``then`` that itself calls :meth:`write_now` keeps the order.
        """
        settled: dict[int, tuple[Any, BaseException | None]] = {}
        done = self._done
        while done:
            try:
                outcome = done.popleft()
            except IndexError:  # a nested drain took the last one
                break
            settled[id(outcome)] = _settle(outcome)
        return settled


def _settle(outcome: _Outcome) -> tuple[Any, BaseException | None]:
    """Run a committed write's ``then``, resolve its future; return the value and error."""
    future, then, result, error = outcome
    if error is None and then is not None:
        try:
            result = then(result)
        except Exception as exc:  # the committed write's follow-up failed: its caller's error
            error = exc
    if future is not None and not future.cancelled():
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    return result, error
