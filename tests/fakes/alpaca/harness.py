"""Helpers for tests that drive the real alpaca-py through the adapter against the fake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from houseedge.adapters.alpaca import AlpacaBroker, AlpacaConfig
from houseedge.core.types import Fill
from houseedge.live.broker import BrokerEvent
from tests.fakes.alpaca.server import FakeAlpaca

T = TypeVar("T")


def config_for(fake: FakeAlpaca, **overrides: Any) -> AlpacaConfig:
    """Return a config pointing every client at the fake, with test-sized timings."""
    values: dict[str, Any] = {
        "api_key": fake.key,
        "secret_key": fake.secret,
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


async def eventually(check: Callable[[], T], *, timeout: float = 10.0) -> T:  # noqa: ASYNC109
    """Poll ``check`` (letting the loop run) until it is truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


class Collector:
    """Read a broker's report stream into a list, in a task."""

    def __init__(self, broker: AlpacaBroker) -> None:
        self.reports: list[BrokerEvent] = []
        self._task = asyncio.get_running_loop().create_task(self._run(broker))

    async def _run(self, broker: AlpacaBroker) -> None:
        async for report in broker.reports():
            self.reports.append(report)

    @property
    def fills(self) -> list[Fill]:
        return [r for r in self.reports if isinstance(r, Fill)]

    async def stop(self) -> None:
        await asyncio.wait_for(self._task, 5)


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
