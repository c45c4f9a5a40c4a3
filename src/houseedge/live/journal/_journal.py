"""The live journal: every order, report, fill and event, durably, before it is acted on.

Storage: SQLite (stdlib :mod:`sqlite3`) in WAL mode with ``synchronous=FULL``
    WAL lets the SSE endpoint, ``houseedge live export`` and a second process read while the
    engine writes, and a commit appends to one file instead of rewriting pages. ``FULL`` makes
    COMMIT fsync the WAL before it returns, so a committed record survives a kill -9 *and* a
    power cut (``NORMAL`` in WAL mode survives only the former). The fsync is what limits
    commits per second, so callers that need throughput batch: :meth:`Journal.batch` here, or
    the group commit of :class:`houseedge.live.journal.writer.JournalWriter`.

Tables
    ``orders``, ``reports`` (fills included, unique by ``fill_id``), ``events`` (ids are SSE
    ids) and ``meta``; reports and events are append-only. See :mod:`houseedge.live.journal._sql`.

The API at a glance is on :mod:`houseedge.live.journal`.

Outside :meth:`Journal.batch` every call is its own transaction and is durable when it returns.
The connection belongs to the thread that opened the journal (``sqlite3`` enforces it); the
async engine writes through a :class:`~houseedge.live.journal.writer.JournalWriter`, whose
thread owns its journal.

Examples
--------
>>> import tempfile, pathlib
>>> from houseedge.core.types import Fill, Order
>>> journal = Journal(pathlib.Path(tempfile.mkdtemp()) / "live.db")
>>> journal.record_order(Order(client_order_id="o1", symbol="X", side="buy", qty=2), policy="p")
True
>>> fill = Fill(fill_id="v-1", order_id="o1", symbol="X", side="buy", qty=2, price=10.0, ts=5)
>>> with journal.batch():
...     fresh = journal.record_fill(fill)
...     event = journal.append_event("fill", {"fill_id": fill.fill_id}, ts=5)
>>> fresh, journal.record_fill(fill), event
(True, False, 1)
>>> state = journal.rebuild()
>>> state.ledger.position("X"), state.orders["o1"].status
(Decimal('2.00000000'), <OrderStatus.FILLED: 'filled'>)
>>> [e.payload for e in journal.events_after(0)]
[{'fill_id': 'v-1'}]
>>> journal.close()
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

import msgspec

from houseedge.core.execution import OrderState, report_type
from houseedge.core.types import Fill, Order, OrderReport
from houseedge.errors import FormatError
from houseedge.live.journal._sql import (
    CONTROL_EVENTS,
    DDL,
    FILLS,
    INSERT_FILL,
    INSERT_ORDER,
    INSERT_REPORT,
    ORDERS,
    PAYLOADS,
    REPORTS,
    to_json,
)
from houseedge.live.journal.ledger import Ledger
from houseedge.live.journal.state import LedgerState, OnReport, replay

__all__ = ["SCHEMA_VERSION", "Journal", "JournalEvent", "JournaledOrder"]

SCHEMA_VERSION: Final = 1


class JournalEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One journaled event: ``id`` is its SSE id, increasing and never reused."""

    id: int
    kind: str
    ts: int
    payload: dict[str, Any]


class JournaledOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as journaled, with the policy that placed it."""

    order: Order
    policy: str


P = ParamSpec("P")
R = TypeVar("R")


def _transactional(
    method: Callable[Concatenate[Journal, P], R],
) -> Callable[Concatenate[Journal, P], R]:
    """Run a write in the caller's batch, or in a transaction of its own outside one."""

    @functools.wraps(method)
    def write(self: Journal, *args: P.args, **kwargs: P.kwargs) -> R:
        # Inside a batch a record is part of the caller's transaction: no savepoint per record.
        if self.in_batch:
            return method(self, *args, **kwargs)
        with self.batch():
            return method(self, *args, **kwargs)

    return write


class Journal:
    """A durable, append-only journal of one live account in one SQLite file.

    Parameters
    ----------
    path
        The database file; created (with its folder) when absent.
    readonly
        Open for reading only (another process may be writing).
    shared
        Let threads other than the opening one use the connection (the caller serialises
        them, as :class:`~houseedge.live.journal.writer.JournalWriter` does with a lock).

    Raises
    ------
    FormatError
        The file is not a journal, or one written by a newer houseedge.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False, shared: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._depth = 0
        self._savepoints = 0
        if readonly:
            uri = f"{self.path.absolute().as_uri()}?mode=ro"
            self._db = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=not shared
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=not shared
            )
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            msg = f"not a houseedge journal: {exc}"
            raise FormatError(msg, source=str(self.path)) from exc

    def _setup(self) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 10000")
        if not self.readonly:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            with self.batch():
                for statement in DDL:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                    (str(SCHEMA_VERSION),),
                )
        version = int(self.meta("schema_version") or 0)
        if version > SCHEMA_VERSION:
            msg = f"journal schema version {version} is newer than this houseedge's"
            raise FormatError(msg, source=str(self.path), expected=f"<= {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the connection (uncommitted batches are rolled back by SQLite)."""
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- transactions -----------------------------------------------------------------------

    @property
    def in_batch(self) -> bool:
        """Return whether a batch (transaction) is open."""
        return self._depth > 0

    @contextlib.contextmanager
    def batch(self) -> Generator[Journal, None, None]:
        """Group the writes inside into one transaction: one commit, all or none.

        Nested batches are savepoints: an exception rolls back only the inner one (and,
        unless caught, the outer one too). The outermost batch is durable when it exits.
        """
        if self._depth:
            with self._savepoint():
                yield self
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
            self._depth = 0
            self._db.execute("COMMIT")
        except BaseException:
            self._depth = 0
            # A failed COMMIT (disk full, I/O error) may or may not have ended the transaction.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _savepoint(self) -> Generator[None, None, None]:
        self._savepoints += 1
        name = f"batch_{self._savepoints}"
        self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")
            raise
        finally:
            self._savepoints -= 1
        self._db.execute(f"RELEASE {name}")

    # -- writes -----------------------------------------------------------------------------

    @_transactional
    def record_order(self, order: Order, *, policy: str) -> bool:
        """Journal an order before it is sent; return False if its id was journaled before."""
        cursor = self._db.execute(
            INSERT_ORDER,
            (order.client_order_id, policy, order.symbol, order.ts, to_json(order)),
        )
        return cursor.rowcount == 1

    def record_fill(self, fill: Fill, *, policy: str | None = None) -> bool:
        """Journal a fill; return False (and change nothing) if its ``fill_id`` is known.

        ``policy`` defaults to the policy of the journaled order (``""`` if there is none).
        """
        return self._insert_fill(fill, policy) > 0

    @_transactional
    def _insert_fill(self, fill: Fill, policy: str | None) -> int:
        cursor = self._db.execute(
            INSERT_FILL,
            (
                *(fill.order_id, fill.ts, fill.fill_id, policy, fill.order_id, fill.symbol),
                *(str(fill.side), fill.qty, fill.price, fill.fee, to_json(fill)),
            ),
        )
        return (cursor.lastrowid or 0) if cursor.rowcount == 1 else 0

    def record_report(self, report: OrderReport, *, policy: str | None = None) -> int:
        """Journal any order report; return its journal id (0 for a fill already journaled).

        Fills go through :meth:`record_fill`'s de-duplication.
        """
        if isinstance(report, Fill):
            return self._insert_fill(report, policy)
        return self._insert_report(report)

    @_transactional
    def _insert_report(self, report: OrderReport) -> int:
        cursor = self._db.execute(
            INSERT_REPORT,
            (report.order_id, report_type(report), report.ts, to_json(report)),
        )
        return cursor.lastrowid or 0

    @_transactional
    def append_event(self, kind: str, payload: Mapping[str, Any] | msgspec.Struct, ts: int) -> int:
        """Journal an event (anything msgspec encodes as a JSON object); return its id."""
        cursor = self._db.execute(
            "INSERT INTO events (kind, ts, payload) VALUES (?, ?, ?)", (kind, ts, to_json(payload))
        )
        return cursor.lastrowid or 0

    @_transactional
    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value (``last_reconciliation_ts``, ...)."""
        self._db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
            (key, value, value),
        )

    def set_last_reconciliation(self, ts: int) -> None:
        """Record when the engine last reconciled with the broker."""
        self.set_meta("last_reconciliation_ts", str(ts))

    # -- reads ------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """Return a meta value, or None."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def last_reconciliation_ts(self) -> int | None:
        """Return when the engine last reconciled with the broker, or None."""
        value = self.meta("last_reconciliation_ts")
        return None if value is None else int(value)

    def events_after(
        self, event_id: int, limit: int = 1000, *, kind: str | None = None
    ) -> list[JournalEvent]:
        """Return up to ``limit`` events with ids above ``event_id`` (of ``kind``), oldest first."""
        rows = self._db.execute(
            "SELECT id, kind, ts, payload FROM events WHERE id > ?1 AND (?2 IS NULL OR kind = ?2)"
            " ORDER BY id LIMIT ?3",
            (event_id, kind, limit),
        )
        return [JournalEvent(id=i, kind=k, ts=t, payload=PAYLOADS.decode(p)) for i, k, t, p in rows]

    def control_events(self) -> list[JournalEvent]:
        """Return the breaker, kill, reset, pause and resume events, oldest first."""
        return [self.events_after(i - 1, 1)[0] for (i,) in self._db.execute(CONTROL_EVENTS)]

    def last_event_id(self) -> int:
        """Return the id of the latest event (0 when there is none)."""
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])

    def fills(self, since_ts: int | None = None) -> list[Fill]:
        """Return the journaled fills (at or after ``since_ts``), in journal order."""
        rows = self._db.execute(
            "SELECT body FROM reports WHERE fill_id IS NOT NULL AND ts >= ? ORDER BY id",
            (-(2**63) if since_ts is None else since_ts,),
        )
        return [FILLS.decode(body) for (body,) in rows]

    def fill_policies(self) -> dict[str, str]:
        """Return the policy each journaled fill was attributed to, by fill id."""
        return dict(self._db.execute("SELECT fill_id, policy FROM fills"))

    def fill_count(self) -> int:
        """Return how many distinct fills are journaled."""
        return int(self._db.execute("SELECT COUNT(*) FROM fills").fetchone()[0])

    def last_fill_ts(self) -> int | None:
        """Return the latest fill time, where reconciliation asks the broker from."""
        query = "SELECT MAX(ts) FROM reports WHERE fill_id IS NOT NULL"
        value = self._db.execute(query).fetchone()[0]
        return None if value is None else int(value)

    def orders(self) -> list[JournaledOrder]:
        """Return every journaled order with its policy, in journal order."""
        rows = self._db.execute("SELECT body, policy FROM orders ORDER BY rowid")
        return [JournaledOrder(order=ORDERS.decode(b), policy=p) for b, p in rows]

    def reports_for(self, order_id: str) -> list[OrderReport]:
        """Return the reports (fills included) journaled for one order, in journal order."""
        rows = self._db.execute(
            "SELECT body FROM reports WHERE order_id = ? ORDER BY id", (order_id,)
        )
        return [REPORTS.decode(body) for (body,) in rows]

    def rebuild(
        self, *, ledger: Ledger | None = None, on_report: OnReport | None = None
    ) -> LedgerState:
        """Replay every order and report in journal order into a fresh state.

        ``ledger`` and ``on_report`` are :func:`~houseedge.live.journal.state.replay`'s.
        """
        orders = [
            (ORDERS.decode(body), policy, after)
            for body, policy, after in self._db.execute(
                "SELECT body, policy, after_report FROM orders ORDER BY after_report, rowid"
            )
        ]
        reports = self._db.execute("SELECT id, body, policy FROM reports ORDER BY id")
        return replay(
            orders,
            ((i, REPORTS.decode(body), policy) for i, body, policy in reports),
            ledger=ledger,
            on_report=on_report,
        )

    def open_orders(self) -> list[OrderState]:
        """Return the orders that may still fill, by replaying the journal."""
        return self.rebuild().open_orders()

    def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict (``"ok"`` for a sound file)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
