"""Market feeds: replay order and speed, pause/resume, stalls and staleness detection."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import polars as pl
import pytest

from houseedge.core.broker import MarketEvent, MarketFeed, Trade
from houseedge.core.types import Bar
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars
from houseedge.live.feeds import FeedStaleness, IterableFeed, StoreReplayFeed


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "store")
    store.write("bars", synthetic_bars(["MSFT", "AAPL", "BTC"], periods=40, timeframe="1m",
                                       seed=3))  # fmt: skip
    store.write("bars", synthetic_bars(["AAPL"], periods=5, timeframe="1h", seed=4))
    return store


async def collect(feed: StoreReplayFeed | IterableFeed) -> list[MarketEvent]:
    return [event async for event in feed.events()]


def test_feeds_are_market_feeds(store: Store) -> None:
    assert isinstance(StoreReplayFeed(store, symbols=["AAPL"], timeframe="1m"), MarketFeed)
    assert isinstance(IterableFeed([]), MarketFeed)


async def test_replay_yields_the_stored_bars_in_time_then_symbol_order(store: Store) -> None:
    feed = StoreReplayFeed(store, symbols=["MSFT", "AAPL"], timeframe="1m")
    events = await collect(feed)
    assert all(isinstance(e, Bar) for e in events)
    keys = [(e.ts, e.symbol) for e in events]
    assert keys == sorted(keys)
    stored = store.read("bars", symbols=["MSFT", "AAPL"], timeframe="1m")
    assert len(events) == stored.height == 80
    first = stored.filter(pl.col("symbol") == "AAPL").sort("ts").row(0, named=True)
    bar = events[0]
    assert bar.symbol == "AAPL"
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.timeframe) == (
        first["open"], first["high"], first["low"], first["close"], first["volume"], "1m",
    )  # fmt: skip
    assert feed.delivered == 80


async def test_replay_honours_start_and_end(store: Store) -> None:
    everything = await collect(StoreReplayFeed(store, symbols=["BTC"], timeframe="1m"))
    start, end = everything[10].ts, everything[20].ts
    window = StoreReplayFeed(store, symbols=["BTC"], timeframe="1m", start=start, end=end)
    assert [e.ts for e in await collect(window)] == [e.ts for e in everything[10:20]]


async def test_replay_speed_scales_the_time_between_bars(store: Store) -> None:
    # 40 one-minute bars span 39 minutes: at 11,700x that is 0.2 s of wall time.
    feed = StoreReplayFeed(store, symbols=["BTC"], timeframe="1m", speed=39 * 60 / 0.2)
    began = time.monotonic()
    events = await collect(feed)
    elapsed = time.monotonic() - began
    assert len(events) == 40
    assert 0.19 <= elapsed < 2.0


async def test_pause_holds_events_until_resume() -> None:
    feed = IterableFeed([Trade(symbol="X", ts=i, price=10.0, size=1.0) for i in range(5)])
    seen: list[int] = []

    async def consume() -> None:
        async for event in feed.events():
            seen.append(event.ts)
            if event.ts == 1:
                feed.pause()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    assert seen == [0, 1]
    feed.resume()
    await asyncio.wait_for(task, 2)
    assert seen == [0, 1, 2, 3, 4]


async def test_close_ends_a_paused_stream() -> None:
    feed = IterableFeed([Trade(symbol="X", ts=i, price=10.0, size=1.0) for i in range(5)])
    stream = feed.events()
    assert (await anext(stream)).ts == 0
    feed.pause()
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)
    assert not pending.done()
    await feed.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 2)


async def test_a_stalled_feed_goes_stale_and_recovers(store: Store) -> None:
    feed = StoreReplayFeed(store, symbols=["AAPL"], timeframe="1m", speed=1_200.0)  # 0.05 s a bar
    staleness = FeedStaleness(0.4)
    log: list[str] = []

    async def consume() -> None:
        async for _ in feed.events():
            staleness.touch()
            if staleness.events == 2:
                log.append("stalling")
                feed.stall(1.0)

    async def watch() -> None:
        await staleness.wait_stale()
        log.append(f"stale after {staleness.events} events")
        await staleness.wait_fresh()
        log.append(f"fresh at {staleness.events}")

    watcher = asyncio.create_task(watch())
    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(watcher, 5)
    consumer.cancel()
    assert log == ["stalling", "stale after 2 events", "fresh at 3"]


def test_staleness_timer_starts_at_construction() -> None:
    now = [0.0]
    staleness = FeedStaleness(1.0, clock=lambda: now[0])
    now[0] = 1.0
    assert not staleness.stale  # exactly the threshold: not yet
    now[0] = 1.5
    assert staleness.stale
    staleness.touch()
    assert staleness.age() == 0.0
    assert not staleness.stale
    with pytest.raises(ValueError, match="threshold"):
        FeedStaleness(0)


def test_bad_speed_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="speed"):
        StoreReplayFeed(store, symbols=["AAPL"], timeframe="1m", speed=-1)
