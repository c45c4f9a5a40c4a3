"""Helpers for tests that drive the real alpaca-py through the adapter against the fake."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from houseedge.adapters.alpaca import AlpacaBroker, AlpacaConfig
from houseedge.core.types import Fill
from tests.fakes.alpaca.server import FakeAlpaca
from tests.fakes.streams import (  # noqa: F401 - re-exported for the tests
    Collector,
    collecting,
    eventually,
    until,
)

T = TypeVar("T")


def config_for(fake: FakeAlpaca, **overrides: Any) -> AlpacaConfig:
    """Return a config pointing every client at the fake, with test-sized timings."""
    values: dict[str, Any] = {
        "api_key": fake.key,
        "api_secret": fake.secret,
        "base_url": fake.base_url,
        "stream_url": fake.stream_url,
        "data_url": fake.base_url,
        "staleness_seconds": 1.5,
        "reconcile_margin_seconds": 1.0,
        "rest_retry_wait_seconds": 0,
        "connect_timeout_seconds": 5.0,
        "sse_reconnect_seconds": 0.05,
    }
    return AlpacaConfig(**(values | overrides))


def venue_fill_ids(fake: FakeAlpaca) -> list[str]:
    """Return the execution ids of every fill the fake made, oldest first."""
    return [a["id"].rpartition("::")[2] for a in fake.venue.executions]


def assert_exact(fake: FakeAlpaca, fills: list[Fill]) -> None:
    """Check ``fills`` hold every venue execution exactly once and net to the venue's positions."""
    ids = [f.fill_id for f in fills]
    assert len(ids) == len(set(ids)), "a fill was reported twice"
    assert sorted(ids) == sorted(venue_fill_ids(fake)), "fills lost or invented"
    net: dict[str, float] = {}
    for fill in fills:
        net[fill.symbol] = net.get(fill.symbol, 0.0) + fill.side.sign * fill.qty
    venue = {s: q for s, q in fake.venue.positions.items() if q}
    assert {s: q for s, q in net.items() if q} == venue


@contextlib.asynccontextmanager
async def connected(
    price: float = 100.0, **overrides: Any
) -> AsyncIterator[tuple[FakeAlpaca, AlpacaBroker, Collector]]:
    """Start a fake (AAPL at ``price``), connect a broker to it, collect its reports."""
    async with FakeAlpaca() as fake:
        fake.venue.set_price("AAPL", price)
        broker = AlpacaBroker(config_for(fake, **overrides))
        async with collecting(broker) as collector:
            yield fake, broker, collector
