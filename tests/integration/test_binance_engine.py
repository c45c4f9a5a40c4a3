"""The live engine trading through BinanceBroker and BinanceFeed against the loopback fake.

Happy path: klines from the fake's stream drive a policy, orders go over signed REST, fills come
back on the user stream and reach the journal; the journal's fills equal the fake's trades and
the ledger's position and cash equal the fake's balances. Soak: thousands of fills with the
WebSocket API dropped at random and events dropped, duplicated and mangled; the ledger ends
exact.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from pathlib import Path

from houseedge.adapters.binance import BinanceBroker
from houseedge.adapters.binance.feed import BinanceFeed
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.live.control import ManualOrder
from houseedge.live.engine._engine import Engine, PolicySpec
from tests.fakes.binance.harness import KEY, SECRET, config_for, fake_fill_ids, until
from tests.fakes.binance.server import FakeBinance

CASH = Decimal(1_000_000)


def _ledger_matches(engine: Engine, fake: FakeBinance, symbol: str) -> None:
    journal = sorted(f["fill_id"] for f in engine.fills(limit=10**9))
    assert journal == fake_fill_ids(fake)
    ledger = engine.book.state.ledger
    assert ledger.position(symbol) == fake.exchange.position(symbol)
    assert ledger.snapshot().cash == fake.exchange.balances["USDT"]


async def test_engine_trades_klines_and_books_every_fill(tmp_path: Path) -> None:
    path = [100.0, 101, 102, 103, 102, 100, 98, 97, 98, 100, 103, 105, 104, 101, 99, 98, 100,
            102, 104, 103, 100, 97, 96, 99, 102]  # fmt: skip
    fake = await FakeBinance(KEY, SECRET, {"BTCUSDT": path}).start()
    config = config_for(fake)
    broker = BinanceBroker(config)
    feed = BinanceFeed(config, marks=broker.marks)
    engine = Engine(broker=broker, feed=feed, journal=tmp_path / "live.db",
                    policies=[PolicySpec("sma", SmaCross(2, 4), ["BTCUSDT"],
                                         sizer=FixedUnits(0.5))],
                    cash=float(CASH), staleness_seconds=60)  # fmt: skip
    try:
        await engine.start()
        await until(lambda: fake.market)
        for _ in path[1:]:
            await fake.step()
            await asyncio.sleep(0.03)  # a bar's decision reaches the fake before the next bar
        await fake.flush()
        trades = await until(lambda: fake_fill_ids(fake))
        await until(lambda: len(engine.fills(limit=10**9)) == len(trades))
        assert len(trades) >= 4  # the policy crossed both ways
        assert feed.delivered == len(path) - 1
        _ledger_matches(engine, fake, "BTCUSDT")
        statuses = {o["status"] for o in engine.orders()}
        assert statuses == {"filled"}
    finally:
        await engine.stop()
        await fake.stop()


async def _soak(tmp_path: Path, pairs: int, chunks: int, seed: int) -> None:
    """Rest ``pairs`` buys at 199 and sells at 201; each step to 198 / 202 fills one 0.001 chunk
    of every buy / sell, so fills come only from the user stream or a REST sweep."""
    rng = random.Random(seed)
    path = [200.0] + [198.0, 202.0] * chunks
    fake = await FakeBinance(KEY, SECRET, {"BTCUSDT": path}, fill_chunk="0.001").start()
    config = config_for(fake, staleness_seconds=1.0, feed_trades=True)
    broker = BinanceBroker(config)
    feed = BinanceFeed(config, marks=broker.marks)
    engine = Engine(broker=broker, feed=feed, journal=tmp_path / "live.db", policies=[],
                    cash=float(CASH), staleness_seconds=600)  # fmt: skip
    qty = chunks / 1000
    try:
        await engine.start()
        await until(lambda: fake.market)
        fake.exchange.cursor["BTCUSDT"] = 0
        await fake._push_market("BTCUSDT")  # a first print: the risk gate prices orders with it
        await until(lambda: "BTCUSDT" in engine.marks)
        for n in range(pairs):
            for side, price in (("buy", 199.0), ("sell", 201.0)):
                manual = ManualOrder(symbol="BTCUSDT", side=side, qty=qty, type="limit",
                                     limit_price=price, tif="gtc")  # fmt: skip
                outcome = await engine.submit_manual(manual, operator="soak")
                assert outcome["accepted"], (n, outcome)
        step = 0
        while await fake.step():
            step += 1
            fault = rng.random()
            if fault < 0.03 or step % max(len(path) // 5, 1) == 0:  # five planned disconnects
                await fake.flush()
                await fake.drop_ws_api()
            elif fault < 0.06:
                fake.faults.drop_events = rng.randint(1, 2 * pairs)
            elif fault < 0.08:
                fake.faults.malformed_events = rng.randint(1, 3)
            elif fault < 0.10:
                fake.faults.duplicate_events = not fake.faults.duplicate_events
            await asyncio.sleep(0.005)
        fake.faults.duplicate_events = False
        await fake.flush()
        want = 2 * pairs * chunks
        assert len(fake_fill_ids(fake)) == want
        await until(lambda: len(engine.fills(limit=10**9)) >= want, timeout=120)
        await asyncio.sleep(0.2)
        _ledger_matches(engine, fake, "BTCUSDT")
        assert broker.stream is not None
        assert broker.stream.resubscribes >= 1  # drops during a recovery merge into it
        assert fake.lost_events > 0  # the gaps were real: events the stream never carried
        assert all(o["status"] == "filled" for o in engine.orders())
    finally:
        await engine.stop()
        await fake.stop()


async def test_soak_1000_fills_with_random_faults(tmp_path: Path) -> None:
    await _soak(tmp_path, pairs=10, chunks=50, seed=7)


async def test_soak_10000_fills_with_random_faults(tmp_path: Path) -> None:
    await _soak(tmp_path, pairs=10, chunks=500, seed=11)
