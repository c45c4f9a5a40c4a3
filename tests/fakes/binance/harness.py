"""Test helpers: a fake Binance with a connected ``BinanceBroker``, and report collection."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from houseedge.adapters.binance import BinanceBroker, BinanceConfig
from houseedge.core.types import Fill
from houseedge.live.broker import BrokerEvent
from tests.fakes.binance.server import FakeBinance

KEY, SECRET = "test-key-0123456789", "test-secret-abcdefghijklmnop"


def config_for(fake: FakeBinance, **overrides: Any) -> BinanceConfig:
    """Return a config pointing every URL at the fake."""
    fields: dict[str, Any] = {
        "api_key": SecretStr(KEY), "api_secret": SecretStr(SECRET),
        "symbols": list(fake.exchange.paths), "api_url": fake.api_url,
        "ws_api_url": fake.ws_api_url, "stream_url": fake.stream_url,
        "user_staleness_seconds": 2.0, "resubscribe_timeout": 5.0,
    }  # fmt: skip
    return BinanceConfig(**{**fields, **overrides})


class Collector:
    """Drain a broker's reports into lists."""

    def __init__(self, broker: BinanceBroker) -> None:
        self.events: list[BrokerEvent] = []
        self._task = asyncio.get_running_loop().create_task(self._run(broker))

    async def _run(self, broker: BinanceBroker) -> None:
        async for event in broker.reports():
            self.events.append(event)

    @property
    def fills(self) -> list[Fill]:
        return [e for e in self.events if isinstance(e, Fill)]

    def position(self, symbol: str) -> Decimal:
        return sum((Decimal(repr(f.qty)) * (1 if f.side == "buy" else -1)
                    for f in self.fills if f.symbol == symbol), Decimal(0))  # fmt: skip

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def until(check: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """Poll ``check`` on the loop until truthy (raise AssertionError after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            msg = f"condition not met within {timeout}s"
            raise AssertionError(msg)
        await asyncio.sleep(0.01)
    return value


@contextlib.asynccontextmanager
async def connected(
    paths: dict[str, list[float]], **fake_options: Any
) -> AsyncIterator[tuple[FakeBinance, BinanceBroker, Collector]]:
    """Start a fake, connect a broker to it, collect its reports; tear all down after."""
    config_overrides = fake_options.pop("config", {})
    fake = await FakeBinance(KEY, SECRET, paths, **fake_options).start()
    broker = BinanceBroker(config_for(fake, **config_overrides))
    try:
        await broker.connect()
        collector = Collector(broker)
        try:
            yield fake, broker, collector
        finally:
            await broker.close()
            await collector.stop()
    finally:
        await fake.stop()


def fake_fill_ids(fake: FakeBinance) -> list[str]:
    """Return the fake's trade ids as the adapter's fill ids."""
    return sorted(f"{s}:{t.id}" for s, trades in fake.exchange.trades.items() for t in trades)
