"""The live engine trading through the Alpaca adapter against the fake (paper broker swapped out).

The feed is a scripted bar path; before each bar reaches the engine the fake's price moves to its
close, so the engine's market orders fill at the fake's matching engine. The journal must hold
every venue execution exactly once and the ledger's positions must equal the fake broker's, with
and without the stream dropping; a soak drives thousands of fills through random disconnects.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from houseedge.adapters.alpaca import AlpacaBroker
from houseedge.core.broker import MarketEvent
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.core.types import Bar, Side
from houseedge.live.control import ManualOrder
from houseedge.live.engine._engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.journal._journal import Journal
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.alpaca.harness import config_for, eventually, venue_fill_ids

DAY = 86_400 * 10**9


class ScriptedFeed(IterableFeed):
    """Bars whose close is set as the fake venue's price just before each is delivered."""

    def __init__(self, events: Iterable[Bar], fake: FakeAlpaca) -> None:
        super().__init__(events)
        self.fake = fake

    async def events(self) -> AsyncIterator[MarketEvent]:
        async for event in super().events():
            assert isinstance(event, Bar)
            self.fake.venue.set_price(event.symbol, event.close)
            yield event


def _bars(closes: list[float]) -> list[Bar]:
    return [
        Bar(symbol="AAPL", timeframe="1d", ts=i * DAY, open=c, high=c, low=c, close=c, volume=1e6)
        for i, c in enumerate(closes)
    ]


def _journal_fill_ids(path: Path) -> list[str]:
    journal = Journal(str(path), readonly=True)
    try:
        return [f.fill_id for f in journal.fills()]
    finally:
        journal.close()


@pytest.mark.parametrize("drop_after", [None, 3])
async def test_engine_trades_through_alpaca(tmp_path: Path, drop_after: int | None) -> None:
    closes = [100, 101, 102, 101, 99, 98, 99, 101, 103, 102, 100, 98, 97, 99, 102, 104]
    async with FakeAlpaca() as fake:
        fake.venue.fill_chunks = 4
        fake.faults.drop_ws_after = drop_after
        broker = AlpacaBroker(config_for(fake))
        engine = Engine(
            broker=broker,
            feed=ScriptedFeed(_bars([float(c) for c in closes]), fake),
            policies=[PolicySpec("sma", SmaCross(2, 4), ["AAPL"], sizer=FixedUnits(8))],
            journal=tmp_path / "live.db",
        )
        await engine.start()
        broker.bind_events(engine.book.events)
        await engine.run_until_idle(timeout=30)
        await eventually(lambda: len(engine.book.fills) >= len(fake.venue.executions) > 4)
        assert engine.position("AAPL") == fake.venue.positions["AAPL"]
        venue_positions = await broker.positions()
        assert engine.position("AAPL") == (venue_positions["AAPL"].qty if venue_positions else 0)
        kinds = [e.kind for e in engine.events_after(0, limit=10_000)]
        assert "broker" in kinds  # the adapter's events reach the engine's journal
        await engine.stop()
    ids = _journal_fill_ids(tmp_path / "live.db")
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(venue_fill_ids(fake))
    if drop_after is not None:
        assert fake.stats.ws_dropped >= 1 and broker.stats.recovered_fills > 0


async def _soak(tmp_path: Path, orders: int, chunks: int, seed: int) -> None:
    rng = random.Random(seed)
    async with FakeAlpaca() as fake:
        fake.venue.set_price("AAPL", 100.0)
        fake.venue.fill_chunks = chunks
        broker = AlpacaBroker(config_for(fake, staleness_seconds=1.0))
        engine = Engine(
            broker=broker,
            feed=IterableFeed([]),
            policies=[],
            journal=tmp_path / "soak.db",
            staleness_seconds=3600,
            risk=RiskLimits(
                max_orders_per_window=10**6, max_open_orders=10**6, max_open_orders_per_symbol=10**6
            ),
        )
        await engine.start()
        broker.bind_events(engine.book.events)
        next_drop = rng.randint(150, 450)
        for _ in range(orders):
            price = round(100 + rng.uniform(-5, 5), 2)
            fake.venue.set_price("AAPL", price)
            engine.marks["AAPL"] = price  # the risk gate prices manual orders at the mark
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            order = ManualOrder(symbol="AAPL", side=side, qty=chunks * rng.randint(1, 3))
            outcome = await engine.submit_manual(order, operator="soak")
            assert outcome["accepted"], outcome
            if fake.stats.pushed >= next_drop and fake.streams:  # every few hundred events
                next_drop = fake.stats.pushed + rng.randint(150, 450)
                await fake.disconnect_streams()
            await asyncio.sleep(0.03)  # trading goes on while the stream reconnects
        expected = len(fake.venue.executions)
        assert expected == orders * chunks
        print(f"soak: {broker.stats}")
        await eventually(lambda: len(engine.book.fills) >= expected, timeout=60)
        assert engine.position("AAPL") == fake.venue.positions["AAPL"]
        cash, _ = engine.account()
        assert cash == pytest.approx(fake.venue.cash, abs=1e-6)
        await engine.stop()
    ids = _journal_fill_ids(tmp_path / "soak.db")
    assert len(ids) == len(set(ids)) == expected
    assert sorted(ids) == sorted(venue_fill_ids(fake))
    assert broker.stats.connections > 2 and broker.stats.recovered_fills > 0


async def test_soak_1000_fills_with_random_disconnects(tmp_path: Path) -> None:
    started = time.monotonic()
    await _soak(tmp_path, orders=100, chunks=10, seed=7)
    assert time.monotonic() - started < 120


@pytest.mark.slow
async def test_soak_10000_fills_with_random_disconnects(tmp_path: Path) -> None:
    await _soak(tmp_path, orders=1000, chunks=10, seed=11)
