"""Helpers for tests that run the IB adapter against the fake TWS."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from houseedge.adapters.ib import IbBroker, IbConfig
from houseedge.core.types import Fill
from tests.fakes.ib.server import FakeTws


def fast_config(tws: FakeTws, **overrides: Any) -> IbConfig:
    """Return a config for the fake: quick backoff and timeouts, no periodic reconciliation."""
    base: dict[str, Any] = {
        "port": tws.port,
        "client_id": 1,
        "connect_timeout": 2.0,
        "backoff_initial": 0.02,
        "backoff_max": 0.2,
        "reconcile_interval": 0,
    }
    return IbConfig(**{**base, **overrides})


class Collector:
    """Reads a broker's report stream into a list in the background."""

    def __init__(self, broker: IbBroker) -> None:
        self.events: list[Any] = []
        self._task = asyncio.get_running_loop().create_task(self._run(broker))

    async def _run(self, broker: IbBroker) -> None:
        async for event in broker.reports():
            self.events.append(event)

    @property
    def fills(self) -> list[Fill]:
        """Return the fills reported so far."""
        return [e for e in self.events if isinstance(e, Fill)]

    async def stop(self) -> None:
        """Wait for the stream to end (after ``broker.close()``)."""
        await asyncio.wait_for(self._task, 5)


async def until(check: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """Poll ``check`` on the event loop until it is truthy (fails after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def tws_and_broker(**overrides: Any) -> AsyncIterator[tuple[FakeTws, IbBroker, Collector]]:
    """Run a fake TWS and a connected adapter with a report collector; close both after."""
    tws = FakeTws()
    await tws.listen()
    broker = IbBroker(fast_config(tws, **overrides))
    try:
        await broker.connect()
        collector = Collector(broker)
        yield tws, broker, collector
    finally:
        await broker.close()
        await tws.close()
