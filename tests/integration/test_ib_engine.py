"""The live engine trading through the IB adapter (real ib-async) against the fake TWS.

The feed moves the fake's price to each bar's close before the engine sees the bar, so the
venue fills the engine's market orders on the same price path the policy decides on.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from houseedge.adapters.ib import IbBroker
from houseedge.core.broker import MarketEvent
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.core.types import Bar
from houseedge.live.engine._engine import Engine, PolicySpec
from tests.fakes.ib import FakeTws
from tests.fakes.ib.harness import fast_config, until

pytestmark = pytest.mark.timeout(120)

DAY = 86_400 * 10**9


class MirrorFeed:
    """Bars whose close becomes the fake TWS's price just before the engine gets each bar."""

    def __init__(self, bars: list[Bar], tws: FakeTws, on_bar: object = None) -> None:
        self.bars, self.tws, self.on_bar = bars, tws, on_bar

    async def events(self) -> AsyncIterator[MarketEvent]:
        for i, bar in enumerate(self.bars):
            self.tws.set_price(bar.symbol, bar.close)
            if callable(self.on_bar):
                self.on_bar(i)
            yield bar
            await asyncio.sleep(0.01)  # a live feed: fills arrive between bars

    async def close(self) -> None:
        return None


def _bars(symbol: str, n: int, seed: int) -> list[Bar]:
    rng = random.Random(seed)
    price, bars = 100.0, []
    for i in range(n):
        price = round(max(50.0, price + rng.choice((-2.0, -1.0, 1.0, 2.0))), 2)
        bars.append(Bar(symbol=symbol, timeframe="1d", ts=i * DAY, open=price, high=price,
                        low=price, close=price, volume=1e6))  # fmt: skip
    return bars


async def _run(tmp_path: Path, bars: list[Bar], disconnect_every: int = 0) -> None:
    tws = FakeTws()
    await tws.listen()

    def maybe_drop(i: int) -> None:
        if disconnect_every and i % disconnect_every == disconnect_every - 1:
            tws.drop_connections()

    broker = IbBroker(fast_config(tws))
    engine = Engine(broker=broker, feed=MirrorFeed(bars, tws, maybe_drop),
                    policies=[PolicySpec("sma", SmaCross(2, 5), ["AAPL"], sizer=FixedUnits(10))],
                    journal=tmp_path / "live.db", cash=1_000_000.0)  # fmt: skip
    try:
        await engine.start()
        await engine.run_until_idle(timeout=60)
        venue = tws.venue
        await until(lambda: len(engine.fills()) == len(venue.executions), timeout=30)
        journal = [f["fill_id"] for f in engine.fills()]
        assert len(journal) == len(set(journal))
        assert set(journal) == {e.exec_id for e in venue.executions}
        assert len(journal) >= 4
        ours = {p["symbol"]: float(p["qty"]) for p in engine.positions() if float(p["qty"])}
        assert ours == {s: p.qty for s, p in (await broker.positions()).items()}
        assert ours == ({"AAPL": venue.position_of("AAPL")} if venue.position_of("AAPL") else {})
        fees = math.fsum(float(f["fee"]) for f in engine.fills())
        assert fees == venue.commissions()
    finally:
        await engine.stop()
        await tws.close()


async def test_engine_trades_through_ib_and_the_journal_matches_the_venue(tmp_path: Path) -> None:
    await _run(tmp_path, _bars("AAPL", 60, seed=3))


async def test_engine_survives_disconnects_with_fills_journaled_once(tmp_path: Path) -> None:
    await _run(tmp_path, _bars("AAPL", 80, seed=5), disconnect_every=7)
