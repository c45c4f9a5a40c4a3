"""Helpers every broker fake's tests share: a report collector and an async poll."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import TypeVar

from houseedge.core.broker import Broker, BrokerEvent
from houseedge.core.types import Fill

T = TypeVar("T")


class Collector:
    """Read a broker's report stream into a list, in a task."""

    def __init__(self, broker: Broker) -> None:
        self.events: list[BrokerEvent] = []
        self._task = asyncio.get_running_loop().create_task(self._run(broker))

    async def _run(self, broker: Broker) -> None:
        async for event in broker.reports():
            self.events.append(event)

    @property
    def reports(self) -> list[BrokerEvent]:
        """Return every report so far (the same list as ``events``)."""
        return self.events

    @property
    def fills(self) -> list[Fill]:
        """Return the fills reported so far."""
        return [e for e in self.events if isinstance(e, Fill)]

    def position(self, symbol: str) -> Decimal:
        """Return the net quantity of ``symbol`` over the fills, exactly."""
        return sum((Decimal(repr(f.qty)) * (1 if f.side == "buy" else -1)
                    for f in self.fills if f.symbol == symbol), Decimal(0))  # fmt: skip

    async def stop(self, *, drain: bool = True) -> None:
        """Wait for the stream to end (after ``broker.close()``), or cancel it at once."""
        if drain:
            await asyncio.wait_for(self._task, 5)
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def collecting(broker: Broker, *, drain: bool = True) -> AsyncIterator[Collector]:
    """Connect ``broker`` and collect its reports; close it (and stop collecting) after."""
    await broker.connect()
    collector = Collector(broker)
    try:
        yield collector
    finally:
        await broker.close()
        await collector.stop(drain=drain)


async def until(check: Callable[[], T], timeout: float = 10.0) -> T:  # noqa: ASYNC109
    """Poll ``check`` (letting the loop run) until it is truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            msg = f"condition not met within {timeout}s"
            raise AssertionError(msg)
        await asyncio.sleep(0.01)
    return value


async def eventually(check: Callable[[], T], *, timeout: float = 10.0) -> T:  # noqa: ASYNC109
    """Keyword form of :func:`until`."""
    return await until(check, timeout)


__all__ = ["Collector", "collecting", "eventually", "until"]
