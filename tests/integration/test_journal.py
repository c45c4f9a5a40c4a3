"""The live journal on real SQLite files: de-duplication, transactions, replay, readers, crashes."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from houseedge.core.execution import OrderStatus
from houseedge.core.types import (
    CancelRequested,
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderSubmitted,
    Side,
)
from houseedge.errors import FormatError
from houseedge.live.journal import SCHEMA_VERSION, Journal
from houseedge.live.journal.ledger import Ledger
from houseedge.live.journal.writer import JournalWriter
from tests.fakes.crash import kill_midway


def order(oid: str, qty: float = 10, symbol: str = "X", side: Side = Side.BUY) -> Order:
    return Order(client_order_id=oid, symbol=symbol, side=side, qty=qty, ts=1)


def fill(fid: str, oid: str, qty: float, price: float = 10.0, ts: int = 2, **kw: object) -> Fill:
    return Fill(
        fill_id=fid, order_id=oid, symbol=str(kw.get("symbol", "X")), side=kw.get("side", Side.BUY),  # type: ignore[arg-type]
        qty=qty, price=price, fee=0.25, ts=ts,
    )  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path):
    with Journal(tmp_path / "live.db") as opened:
        yield opened


def test_the_file_is_wal_with_full_sync_and_versioned(tmp_path: Path, journal: Journal) -> None:
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert journal.meta("schema_version") == str(SCHEMA_VERSION)


def test_a_fill_is_recorded_once_however_often_it_arrives(journal: Journal) -> None:
    journal.record_order(order("o1"), policy="trend")
    first = fill("v1", "o1", 4)
    assert journal.record_fill(first) is True
    assert journal.record_fill(first) is False
    assert journal.record_report(first) == 0
    with journal.batch():
        assert journal.record_fill(first) is False
    assert journal.fill_count() == 1
    assert journal.fills() == [first]
    assert journal.fill_policies() == {"v1": "trend"}  # taken from the journaled order
    assert journal.record_order(order("o1", qty=99), policy="other") is False
    assert journal.orders()[0].order.qty == 10


def test_rebuild_replays_orders_and_reports_in_journal_order(journal: Journal) -> None:
    journal.record_order(order("o1"), policy="a")
    journal.record_order(order("o2", symbol="Y", side=Side.SELL), policy="b")
    reports = [
        OrderSubmitted(order_id="o1"),
        fill("v1", "o1", 4),  # before the ack
        OrderAccepted(order_id="o1", venue_order_id="V1"),
        OrderSubmitted(order_id="o2"),
        OrderAccepted(order_id="o2"),
        fill("v2", "o2", 3, price=20.0, symbol="Y", side=Side.SELL),
        CancelRequested(order_id="o2"),
        OrderCancelled(order_id="o2"),
        fill("v3", "o1", 8, price=11.0),  # 2 too many: capped
    ]
    ids = [journal.record_report(r) for r in reports]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert journal.reports_for("o2") == reports[3:8]
    state = journal.rebuild(ledger=Ledger(cash=1000))
    assert state.orders["o1"].status is OrderStatus.FILLED
    assert state.orders["o2"].status is OrderStatus.CANCELLED
    assert [a.reason for a in state.anomalies] == ["overfill"]
    snap = state.ledger.snapshot()
    assert snap.positions == {"X": Decimal(10), "Y": Decimal(-3)}
    assert snap.cash == Decimal(1000) - 4 * 10 - 6 * 11 + 3 * 20 - Decimal("0.75")
    assert snap.policies.keys() == {"a", "b"}
    assert journal.open_orders() == []
    assert journal.last_fill_ts() == 2


def test_open_orders_and_fills_since(journal: Journal) -> None:
    journal.record_order(order("o1"), policy="p")
    journal.record_order(order("o2"), policy="p")
    journal.record_report(OrderAccepted(order_id="o1"))
    journal.record_fill(fill("a", "o1", 1, ts=5))
    journal.record_fill(fill("b", "o1", 1, ts=9))
    assert [s.order.client_order_id for s in journal.open_orders()] == ["o1", "o2"]
    assert [f.fill_id for f in journal.fills(since_ts=6)] == ["b"]
    assert journal.last_fill_ts() == 9


def test_a_fill_of_an_order_the_journal_never_saw_is_booked_unattributed(journal: Journal) -> None:
    journal.record_fill(fill("m1", "manual", 2))
    state = journal.rebuild()
    assert state.ledger.position("X", policy="") == 2
    assert [a.reason for a in state.anomalies] == ["unknown_order"]


def _fail_in_batch(journal: Journal, *writes: Fill | tuple[str, dict[str, object]]) -> None:
    with journal.batch():
        for write in writes:
            if isinstance(write, Fill):
                journal.record_fill(write)
            else:
                journal.append_event(write[0], write[1], ts=0)
        raise RuntimeError


def test_a_failed_batch_leaves_nothing_and_nested_batches_are_savepoints(journal: Journal) -> None:
    with pytest.raises(RuntimeError):
        _fail_in_batch(journal, fill("x1", "o", 1), ("fill", {"fill_id": "x1"}))
    assert journal.fill_count() == 0
    assert journal.last_event_id() == 0
    with journal.batch():
        journal.record_fill(fill("x2", "o", 1))
        with pytest.raises(RuntimeError):
            _fail_in_batch(journal, fill("x3", "o", 1))
    assert [f.fill_id for f in journal.fills()] == ["x2"]


def test_event_ids_increase_are_never_reused_and_events_are_immutable(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    with Journal(path) as journal:
        ids = [journal.append_event("tick", {"i": i}, ts=i) for i in range(5)]
        with pytest.raises(RuntimeError):
            _fail_in_batch(journal, ("lost", {}))  # never committed: never seen by a client
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            journal._db.execute("DELETE FROM events")
        journal.record_fill(fill("u1", "o", 1))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            journal._db.execute("UPDATE reports SET qty = 0")
    with Journal(path) as journal:
        later = journal.append_event("tick", {"i": 5}, ts=5)
        assert ids == [1, 2, 3, 4, 5] and later > 5
        page = journal.events_after(2, limit=2)
        assert [(e.id, e.payload) for e in page] == [(3, {"i": 2}), (4, {"i": 3})]
        assert [e.id for e in journal.events_after(later)] == []
        assert journal.last_event_id() == later


def test_a_reader_sees_committed_writes_while_the_writer_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    with Journal(path) as writer, Journal(path, readonly=True) as reader:
        writer.record_fill(fill("r1", "o", 1))
        with writer.batch():
            writer.record_fill(fill("r2", "o", 1))
            assert reader.fill_count() == 1  # not committed yet
        assert reader.fill_count() == 2
        with pytest.raises(sqlite3.OperationalError):
            reader._db.execute("INSERT INTO meta VALUES ('k', 'v')")


def test_reconciliation_time_and_bad_files(tmp_path: Path, journal: Journal) -> None:
    assert journal.last_reconciliation_ts() is None
    journal.set_last_reconciliation(123)
    assert journal.last_reconciliation_ts() == 123
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(FormatError, match="not a houseedge journal"):
        Journal(junk)
    journal.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(FormatError, match="newer"):
        Journal(journal.path)


def test_the_writer_groups_concurrent_writes_and_isolates_failures(tmp_path: Path) -> None:
    path = tmp_path / "live.db"

    async def run() -> tuple[list[bool], BaseException | None, JournalWriter]:
        async with JournalWriter(path) as writer:
            fills = [fill(f"w{i % 150}", "o", 1, ts=i) for i in range(300)]
            results = await asyncio.gather(*(writer.record_fill(f) for f in fills))

            def broken(j: Journal) -> None:
                j.append_event("half", {}, ts=0)
                raise ValueError("boom")

            outcomes = await asyncio.gather(
                writer.call(broken), writer.append_event("ok", {}, ts=0), return_exceptions=True
            )
        error = outcomes[0] if isinstance(outcomes[0], BaseException) else None
        return results, error, writer

    results, error, writer = asyncio.run(run())
    assert results == [True] * 150 + [False] * 150
    assert isinstance(error, ValueError)
    assert writer.batches < writer.writes  # grouped
    with Journal(path) as journal:
        assert journal.fill_count() == 150
        assert [e.kind for e in journal.events_after(0)] == ["ok"]  # the broken write left nothing


def test_then_callbacks_run_in_commit_order_across_the_thread_and_the_loop(
    tmp_path: Path,
) -> None:
    """Writes on the loop (write_now) and on the journal thread (call) interleave; every
    ``then`` sees its event ids in one increasing sequence, as SSE resumption needs."""
    path = tmp_path / "live.db"
    seen: list[int] = []

    def event(name: str) -> Callable[[Journal], int]:
        return lambda j: j.append_event(name, {}, ts=0)

    async def run() -> tuple[list[int], list[int]]:
        async with JournalWriter(path) as writer:

            async def threaded(k: int) -> int:
                return await writer.call(event(f"t{k}"), lambda i: seen.append(i) or i)

            tasks = [asyncio.ensure_future(threaded(k)) for k in range(200)]
            inline: list[int] = []
            for k in range(40):
                await asyncio.sleep(0)  # let batches commit between the loop's own writes
                inline.append(writer.write_now(event(f"n{k}"), lambda i: seen.append(i) or i))
            return await asyncio.gather(*tasks), inline

    threaded_ids, inline_ids = asyncio.run(run())
    assert sorted(seen) == sorted(threaded_ids + inline_ids) == list(range(1, 241))
    assert seen == sorted(seen)  # settled in commit (= id) order
    with Journal(path) as journal:
        assert [e.id for e in journal.events_after(0, limit=1000)] == list(range(1, 241))


def test_a_committed_write_is_followed_up_even_when_its_awaiter_is_cancelled(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.db"
    followed: list[int] = []

    async def run() -> None:
        async with JournalWriter(path) as writer:
            task = asyncio.ensure_future(
                writer.call(lambda j: j.append_event("e", {}, ts=0), followed.append)
            )
            await asyncio.sleep(0)  # queued to the journal thread
            task.cancel()
            # A write on the loop settles every earlier commit first.
            await asyncio.sleep(0.05)
            writer.write_now(lambda j: j.append_event("f", {}, ts=0), followed.append)

    asyncio.run(run())
    assert followed == [1, 2]


def test_write_now_rolls_back_its_error_and_refuses_other_threads(tmp_path: Path) -> None:
    path = tmp_path / "live.db"

    def broken(j: Journal) -> None:
        j.append_event("half", {}, ts=0)
        raise ValueError("boom")

    async def run() -> tuple[int, str]:
        async with JournalWriter(path) as writer:
            with pytest.raises(ValueError, match="boom"):
                writer.write_now(broken)
            ok = writer.write_now(lambda j: j.append_event("ok", {}, ts=0))
            with pytest.raises(RuntimeError, match="event loop's thread") as elsewhere:
                await asyncio.to_thread(writer.write_now, lambda j: j.append_event("x", {}, ts=0))
        with pytest.raises(RuntimeError, match="not running"):
            writer.write_now(lambda j: j.append_event("late", {}, ts=0))
        return ok, str(elsewhere.value)

    ok, _ = asyncio.run(run())
    assert ok == 1  # the broken write left no event and took no id
    with Journal(path) as journal:
        assert [e.kind for e in journal.events_after(0)] == ["ok"]


CHILD = """
import asyncio, sys
from houseedge.core.types import Fill
from houseedge.live.journal import Journal
from houseedge.live.journal.writer import JournalWriter

path = sys.argv[1]

def make(i):
    return Fill(fill_id=f"v-{i}", order_id=f"o{i % 7}", symbol="XY"[i % 2],
                side="buy" if i % 3 else "sell", qty=0.1 * (1 + i % 4), price=100 + i % 13,
                fee=0.01, ts=i)

def book(j, f):
    # a fill and its event commit together, or neither does
    if not j.record_fill(f):
        return False
    j.append_event("fill", {"fill_id": f.fill_id}, f.ts)
    return True

async def main():
    with Journal(path) as journal:
        start = max(0, journal.fill_count() - 60)  # replay recent ids as a venue would
    async with JournalWriter(path) as writer:
        async def worker(k):
            i = start + k
            while True:
                f = make(i)
                fresh = await writer.call(lambda j: book(j, f))
                print(("new" if fresh else "dup"), f.fill_id, flush=True)
                i += 8
        await asyncio.gather(*(worker(k) for k in range(8)))

asyncio.run(main())
"""


def _run_and_kill(path: Path, rng: random.Random) -> list[str]:
    lines = kill_midway(
        [sys.executable, "-c", CHILD, str(path)], stderr_path=path.with_suffix(".stderr"),
        rng=rng, max_delay=0.4,
    )  # fmt: skip
    return [line.split()[1] for line in lines]


def test_kill_minus_nine_twenty_times_loses_and_doubles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    rng = random.Random(7)
    acknowledged: list[str] = []
    for _ in range(20):
        acknowledged += _run_and_kill(path, rng)
    with Journal(path) as journal:
        assert journal.integrity_check() == "ok"
        rows = journal._db.execute(
            "SELECT fill_id, COUNT(*) FROM reports WHERE fill_id IS NOT NULL GROUP BY fill_id"
        ).fetchall()
        counts = dict(rows)
        assert set(acknowledged) <= counts.keys()  # every acknowledged fill is there
        assert set(counts.values()) == {1}  # exactly once
        events = [e.payload["fill_id"] for e in _all_events(journal)]
        assert sorted(events) == sorted(counts)  # fill and event committed atomically
        before = journal.fill_count()
        fills = journal.fills()
        assert not any(journal.record_fill(f) for f in fills)  # replaying adds nothing
        assert journal.fill_count() == before
        state = journal.rebuild()
        for symbol in ("X", "Y"):
            exact = sum(
                (_lots(f.qty) * f.side.sign for f in fills if f.symbol == symbol),
                Decimal(0),
            )
            assert state.ledger.position(symbol, policy="") == exact
    assert len(acknowledged) > 20


def _lots(qty: float) -> Decimal:
    # the child's sizes (0.1 * 3 = 0.30000000000000004) are booked to the 1e-8 lot
    return Decimal(repr(qty)).quantize(Decimal("1e-8"))


def _all_events(journal: Journal) -> list:
    events, after = [], 0
    while page := journal.events_after(after, limit=1000):
        events += page
        after = page[-1].id
    return events
