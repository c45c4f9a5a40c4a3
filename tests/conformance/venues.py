"""One driver per venue: how the conformance suite works each loopback fake.

A driver opens its fake and a connected broker (the real client library talking to 127.0.0.1,
through the venue's existing harness in ``tests/fakes``), and knows the few venue facts the
suite needs: a symbol and a quantity that trade, a price that rests and one that crosses, how
to make fills partial, how to cut the broker off while the venue keeps trading, and how the
fake counts orders and executions. A fourth venue joins the suite by adding a driver here and
its name to :data:`DRIVERS`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from houseedge.core.broker import Broker
from houseedge.data.store import Store, WriteReport
from tests.fakes.streams import Collector, until


class Driver(Protocol):
    """What the suite needs of a venue and its fake."""

    name: str
    symbol: str
    qty: float
    resting_buy: float  # a limit price below the market: the order rests

    def session(self) -> contextlib.AbstractAsyncContextManager[tuple[Any, Broker, Collector]]:
        """Open the fake and a connected broker with a report collector; close both after."""
        ...

    async def cross(self, fake: Any) -> None:
        """Move the market through ``resting_buy`` (a resting buy fills)."""
        ...

    def partial(self, fake: Any, pieces: int) -> None:
        """Make the fake fill every order in ``pieces`` executions."""
        ...

    async def cut_off(self, fake: Any, broker: Broker) -> None:
        """Cut the broker's stream off (the venue keeps trading)."""
        ...

    async def restore(self, fake: Any, broker: Broker) -> None:
        """Let the broker reconnect; return once it has."""
        ...

    def orders_with(self, fake: Any, client_order_id: str) -> int:
        """Return how many orders the venue holds with this client order id."""
        ...

    def fill_ids(self, fake: Any) -> set[str]:
        """Return the venue's executions as the adapter's fill ids."""
        ...

    async def ingest(self, fake: Any, store: Store) -> list[WriteReport]:
        """Seed the fake's bars and run the venue's ``history.ingest_bars`` into ``store``."""
        ...


class AlpacaDriver:
    """alpaca-py against ``FakeAlpaca`` (REST, trade_updates WebSocket, market data)."""

    name, symbol, qty, resting_buy = "alpaca", "AAPL", 10.0, 90.0

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[tuple[Any, Broker, Collector]]:
        from tests.fakes.alpaca.harness import connected

        async with connected(100.0) as (fake, broker, collector):
            yield fake, broker, collector

    async def cross(self, fake: Any) -> None:
        fake.venue.set_price(self.symbol, 89.0)

    def partial(self, fake: Any, pieces: int) -> None:
        fake.venue.fill_chunks = pieces

    async def cut_off(self, fake: Any, broker: Broker) -> None:
        await fake.set_outage(True)  # the stream is dropped and refused; REST answers

    async def restore(self, fake: Any, broker: Broker) -> None:
        await fake.set_outage(False)

    def orders_with(self, fake: Any, client_order_id: str) -> int:
        return sum(o["client_order_id"] == client_order_id for o in fake.venue.orders.values())

    def fill_ids(self, fake: Any) -> set[str]:
        from tests.fakes.alpaca.harness import venue_fill_ids

        return set(venue_fill_ids(fake))

    async def ingest(self, fake: Any, store: Store) -> list[WriteReport]:
        from houseedge.adapters.alpaca import ingest_bars
        from tests.fakes.alpaca.harness import config_for

        start = datetime(2024, 1, 1, tzinfo=UTC)
        end = start + timedelta(days=4)
        return await ingest_bars(store, [self.symbol], "1d", start, end, config=config_for(fake))


class BinanceDriver:
    """python-binance against ``FakeBinance`` (signed REST, WebSocket API, klines)."""

    name, symbol, qty, resting_buy = "binance", "BTCUSDT", 0.2, 90.0
    path = [100.0, 100.0] + [89.0] * 12 + [100.0] * 40

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[tuple[Any, Broker, Collector]]:
        from tests.fakes.binance.harness import connected

        async with connected({self.symbol: self.path}) as (fake, broker, collector):
            yield fake, broker, collector

    async def cross(self, fake: Any) -> None:
        while fake.exchange.price(self.symbol) > Decimal("89"):
            await fake.step()
        for _ in range(6):  # a partial fill takes a step per piece
            await fake.step()
        await fake.flush()

    def partial(self, fake: Any, pieces: int) -> None:
        chunk = Decimal(str(self.qty)) / pieces
        fake.exchange.fill_chunk = fake.exchange.market_chunk = chunk

    async def cut_off(self, fake: Any, broker: Broker) -> None:
        fake.faults.drop_events = 1_000  # the user stream goes silent; REST answers

    async def restore(self, fake: Any, broker: Broker) -> None:
        fake.faults.drop_events = 0
        await fake.drop_ws_api()  # the socket drops: resubscribe and sweep

    def orders_with(self, fake: Any, client_order_id: str) -> int:
        return [o.client_id for o in fake.exchange.orders.values()].count(client_order_id)

    def fill_ids(self, fake: Any) -> set[str]:
        from tests.fakes.binance.harness import fake_fill_ids

        return set(fake_fill_ids(fake))

    async def ingest(self, fake: Any, store: Store) -> list[WriteReport]:
        from houseedge.adapters.binance import ingest_bars
        from tests.fakes.binance.harness import config_for

        start = datetime.fromtimestamp(fake.exchange.start_ms / 1000, UTC)
        end = start + timedelta(minutes=4)
        return await ingest_bars(store, [self.symbol], "1m", start, end, config=config_for(fake))


class IbDriver:
    """ib-async against ``FakeTws`` (the TWS socket protocol)."""

    name, symbol, qty, resting_buy = "ib", "AAPL", 10.0, 90.0

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[tuple[Any, Broker, Collector]]:
        from tests.fakes.ib.harness import tws_and_broker

        async with tws_and_broker() as (tws, broker, collector):
            tws.set_price(self.symbol, 100.0)
            yield tws, broker, collector

    async def cross(self, fake: Any) -> None:
        fake.set_price(self.symbol, 89.0)

    def partial(self, fake: Any, pieces: int) -> None:
        fake.venue.fill_slices = pieces

    async def cut_off(self, fake: Any, broker: Broker) -> None:
        await fake.stop_listening()
        fake.drop_connections()
        await until(lambda: not getattr(broker, "connected", False))

    async def restore(self, fake: Any, broker: Broker) -> None:
        reconnects = getattr(broker, "reconnects", 0)
        await fake.listen()
        await until(lambda: getattr(broker, "reconnects", 0) > reconnects)

    def orders_with(self, fake: Any, client_order_id: str) -> int:
        ref = "he:" + client_order_id
        return sum(o.order_ref == ref for o in fake.venue.orders.values())

    def fill_ids(self, fake: Any) -> set[str]:
        return {e.exec_id for e in fake.venue.executions}

    async def ingest(self, fake: Any, store: Store) -> list[WriteReport]:
        from houseedge.adapters.ib import ingest_bars
        from tests.fakes.ib.harness import fast_config

        day = 86_400 * 10**9
        t0 = 1_767_312_000 * 10**9  # 2026-01-02 UTC
        fake.bars[self.symbol] = [
            (t0 + i * day, 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 100.0) for i in range(6)
        ]
        start = datetime.fromtimestamp(t0 / 1e9, UTC)
        end = start + timedelta(days=4)
        config = fast_config(fake, client_id=9)  # a second client beside the session's
        return await ingest_bars(store, [self.symbol], "1d", start, end, config=config)


DRIVERS: dict[str, Driver] = {
    "alpaca": AlpacaDriver(),
    "binance": BinanceDriver(),
    "ib": IbDriver(),
}
"""Every venue the suite runs against, by its registry name."""


async def settle() -> None:
    """Give late reports a moment to arrive (anything late would be a duplicate)."""
    await asyncio.sleep(0.2)
