"""Soak: thousands of IB fills through the adapter with random disconnects and outages.

Orders go in while the socket is up, down (sent after the reconnect's orderRef lookup) or dying;
the fake keeps filling while nobody listens. At the end the report stream holds every execution
exactly once, and an exact ledger booked from it equals the fake venue's positions and cash.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from houseedge.core.types import Order, Side
from houseedge.live.journal.ledger import Ledger
from tests.fakes.ib.harness import tws_and_broker, until


async def _soak(fills: int, slices: int, seed: int) -> None:
    rng = random.Random(seed)
    async with tws_and_broker() as (tws, broker, collector):
        venue = tws.venue
        venue.fill_slices = slices
        prices = {"AAPL": 100.0, "MSFT": 300.0}
        for symbol, price in prices.items():
            tws.set_price(symbol, price)
        n = 0
        while len(venue.executions) < fills:
            n += 1
            symbol = rng.choice(sorted(prices))
            qty = rng.randint(slices, 2 * slices)
            await broker.submit(Order(client_order_id=f"s{n}", symbol=symbol,
                                      side=rng.choice((Side.BUY, Side.SELL)), qty=qty))  # fmt: skip
            await asyncio.sleep(0)
            roll = rng.random()
            if roll < 0.02:
                tws.drop_connections()
            elif roll < 0.03:  # an outage with fills in it
                await tws.stop_listening()
                tws.drop_connections()
                await asyncio.sleep(0.05)
                prices[symbol] = round(prices[symbol] + rng.choice((-0.5, 0.5)), 2)
                tws.set_price(symbol, prices[symbol])
                await tws.listen()
            if n % 20 == 0:
                await until(lambda: broker.connected, timeout=30)
                await until(lambda: not venue.working(), timeout=30)
        # Every order (incl. those submitted while the socket was down) placed and filled.
        await until(lambda: venue.placed >= n and not venue.working()
                    and len(collector.fills) == len(venue.executions), timeout=120)  # fmt: skip
        await asyncio.sleep(0.2)
        assert venue.placed == n  # no order sent twice: unknown outcomes resolved by orderRef
        ids = [f.fill_id for f in collector.fills]
        assert len(ids) == len(set(ids)) == len(venue.executions) >= fills
        assert set(ids) == {e.exec_id for e in venue.executions}
        ledger = Ledger(cash=1_000_000)
        for fill in collector.fills:
            ledger.apply_fill(fill)
        expected = Decimal(1_000_000)
        for e in venue.executions:
            signed = Decimal(str(e.shares)) * (1 if e.side == "BOT" else -1)
            expected -= signed * Decimal(str(e.price)) + Decimal(str(e.commission))
        snapshot = ledger.snapshot()
        assert snapshot.cash == expected
        fake = {venue.contracts[c].symbol: Decimal(str(q)) for c, q in venue.positions.items() if q}
        assert {s: q for s, q in snapshot.positions.items() if q} == fake
        assert broker.reconnects >= 1


@pytest.mark.timeout(120)
async def test_soak_1000_fills_with_random_disconnects() -> None:
    await _soak(1_000, slices=5, seed=1)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_soak_10000_fills_with_random_disconnects() -> None:
    await _soak(10_000, slices=10, seed=2)
