"""Test helpers: a fake Binance with a connected ``BinanceBroker``, and report collection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pydantic import SecretStr

from houseedge.adapters.binance import BinanceBroker, BinanceConfig
from tests.fakes.binance.server import FakeBinance
from tests.fakes.streams import (  # noqa: F401 - re-exported for the tests
    Collector,
    collecting,
    eventually,
    until,
)

KEY, SECRET = "test-key-0123456789", "test-secret-abcdefghijklmnop"


def config_for(fake: FakeBinance, **overrides: Any) -> BinanceConfig:
    """Return a config pointing every URL at the fake."""
    fields: dict[str, Any] = {
        "api_key": SecretStr(KEY), "api_secret": SecretStr(SECRET),
        "symbols": list(fake.exchange.paths), "api_url": fake.api_url,
        "ws_api_url": fake.ws_api_url, "stream_url": fake.stream_url,
        "staleness_seconds": 2.0, "resubscribe_timeout_seconds": 5.0,
    }  # fmt: skip
    return BinanceConfig(**{**fields, **overrides})


@contextlib.asynccontextmanager
async def connected(
    paths: dict[str, list[float]], **fake_options: Any
) -> AsyncIterator[tuple[FakeBinance, BinanceBroker, Collector]]:
    """Start a fake, connect a broker to it, collect its reports; tear all down after."""
    config_overrides = fake_options.pop("config", {})
    fake = await FakeBinance(KEY, SECRET, paths, **fake_options).start()
    broker = BinanceBroker(config_for(fake, **config_overrides))
    try:
        async with collecting(broker, drain=False) as collector:
            yield fake, broker, collector
    finally:
        await fake.stop()


def fake_fill_ids(fake: FakeBinance) -> list[str]:
    """Return the fake's trade ids as the adapter's fill ids."""
    return sorted(f"{s}:{t.id}" for s, trades in fake.exchange.trades.items() for t in trades)
