"""Reliability of the live engine with real processes and a stalling feed.

Kill -9: ``tests/fakes/engine_child.py`` runs an engine against a paper venue whose state
outlives the process (as a real broker does). It is killed while fills stream and restarted,
again and again; after a final start that only reconciles, the journal must hold every fill the
venue made exactly once (its fill ids equal to the venue's), every fill the engine had published
before a kill, and positions equal to the venue's.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.core.types import Bar
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker
from tests.conftest import ROOT
from tests.fakes.crash import kill_midway

CHILD = [sys.executable, "-m", "tests.fakes.engine_child"]


def _run_and_kill(folder: Path, rng: random.Random) -> list[str]:
    lines = kill_midway(
        [*CHILD, str(folder)], cwd=ROOT, stderr_path=folder / "child.stderr", rng=rng,
        ready=lambda line: line.startswith("fill"),
    )  # fmt: skip
    return [line.split()[1] for line in lines if line.startswith("fill ")]


def _reconcile_only(folder: Path) -> dict:
    done = subprocess.run(
        [*CHILD, str(folder), "--reconcile-only"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "ready"
    return json.loads(lines[1])


def _kill_loop(tmp_path: Path, rounds: int) -> None:
    rng = random.Random(11)
    published: list[str] = []
    for _ in range(rounds):
        published += _run_and_kill(tmp_path, rng)
    summary = _reconcile_only(tmp_path)
    venue = pickle.loads((tmp_path / "venue.pkl").read_bytes())  # noqa: S301 (the test's own)
    venue_fills = {f.fill_id: f for f in venue["_matcher"].fills}
    with Journal(tmp_path / "live.db", readonly=True) as journal:
        assert journal.integrity_check() == "ok"
        journaled = [f.fill_id for f in journal.fills()]
        state = journal.rebuild()
        summaries = [e.payload for e in _all_events(journal) if e.kind == "reconciliation"
                     and e.payload["kind"] == "summary"]  # fmt: skip
    assert len(journaled) == len(set(journaled))  # none doubled
    assert set(journaled) == set(venue_fills)  # none lost, none invented
    assert set(published) <= set(journaled)  # what was published before a kill stayed
    assert len(venue_fills) > rounds  # fills really streamed
    lot = venue["_book"].lot
    for symbol in ("AAA", "BBB"):
        ours = state.ledger.position(symbol)
        theirs = Decimal(venue["_book"].lots.get(symbol, 0)) * Decimal(repr(lot))
        assert ours == theirs, symbol
    assert summary["reconciliation"]["position_mismatches"] == 0
    assert state.anomalies == []
    assert len(summaries) == rounds + 1  # every start reconciled before trading
    if rounds >= 20:  # kills landed between the venue and the journal: reconciliation repaired
        repaired = sum(s["missing_fills"] + s["status_changes"] + s["resubmitted"]
                       for s in summaries)  # fmt: skip
        assert repaired > 0


def _all_events(journal: Journal) -> list:
    events, after = [], 0
    while page := journal.events_after(after, limit=1000):
        events += page
        after = page[-1].id
    return events


def test_kill_minus_nine_three_times_loses_and_doubles_no_fill(tmp_path: Path) -> None:
    _kill_loop(tmp_path, rounds=3)


@pytest.mark.slow
def test_kill_minus_nine_twenty_times_loses_and_doubles_no_fill(tmp_path: Path) -> None:
    _kill_loop(tmp_path, rounds=20)


# -- a stalled feed ----------------------------------------------------------------------------

SEC = 10**9


class _Stalling(IterableFeed):
    """Bars every 10 ms of wall time, silent for ``stall`` seconds after bar ``at``."""

    def __init__(self, bars: list[Bar], at: int, stall: float) -> None:
        super().__init__(bars)
        self.at, self.stall_for = at, stall

    async def events(self):  # type: ignore[override]
        async for event in super().events():
            yield event
            if self.delivered == self.at:
                self.stall(self.stall_for)
            await asyncio.sleep(0.01)


class _Flip:
    """Buys on even bars and sells on odd ones: an order on every bar."""

    name = "flip"

    def params(self) -> dict:
        return {}

    def decide(self, portfolio, snapshot, context) -> list:
        (bar,) = snapshot.bars.values()
        side = "buy" if (bar.ts // SEC) % 2 == 0 else "sell"
        return [context.order(bar.symbol, side, 1)]


class _Clocked(PaperBroker):
    """Records the wall time of every submit."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[float] = []

    async def submit(self, order) -> None:
        self.submitted.append(time.monotonic())
        await super().submit(order)


def test_a_stalled_feed_pauses_decisions_until_it_recovers(tmp_path: Path) -> None:
    bars = [Bar(symbol="X", timeframe="1s", ts=i * SEC, open=100.0, high=100.0, low=100.0,
                close=100.0, volume=1e6) for i in range(40)]  # fmt: skip
    broker = _Clocked()

    async def session() -> tuple[list[tuple[str, float]], list[dict]]:
        engine = Engine(broker=broker, feed=_Stalling(bars, at=20, stall=2.0),
                        policies=[PolicySpec("flip", _Flip(), ["X"], sizer=FixedUnits(1))],
                        journal=tmp_path / "live.db", staleness_seconds=0.75,
                        risk=RiskLimits(max_orders_per_window=1000))  # fmt: skip
        await engine.start()
        marks: list[tuple[str, float]] = []
        healths: list[dict] = []

        async def watch() -> None:
            async for event in engine.subscribe():
                if event.kind == "engine" and event.payload["event"].startswith("feed_"):
                    marks.append((event.payload["event"], time.monotonic()))
                    healths.append(dict(engine.health()["feed"]))

        watcher = asyncio.create_task(watch())
        await engine.run_until_idle(timeout=30)
        await engine.stop()
        await watcher
        return marks, healths

    marks, healths = asyncio.run(session())
    assert [m for m, _ in marks] == ["feed_stale", "feed_recovered"]
    (_, stale_at), (_, recovered_at) = marks
    assert recovered_at - stale_at > 1.0  # the stall (2 s) less the threshold (0.75 s)
    assert healths[0]["stale"] is True and healths[1]["stale"] is False
    during = [t for t in broker.submitted if stale_at <= t < recovered_at]
    assert during == []  # no order while stale
    assert any(t < stale_at for t in broker.submitted)  # trading before the stall
    assert sum(t >= recovered_at for t in broker.submitted) >= 15  # and after it
