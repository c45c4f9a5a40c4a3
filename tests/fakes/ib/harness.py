"""Helpers for tests that run the IB adapter against the fake TWS."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from houseedge.adapters.ib import IbBroker, IbConfig
from tests.fakes.ib.server import FakeTws
from tests.fakes.streams import Collector, eventually, until  # noqa: F401 - re-exported for the tests


def fast_config(tws: FakeTws, **overrides: Any) -> IbConfig:
    """Return a config for the fake: quick backoff and timeouts, no periodic reconciliation."""
    base: dict[str, Any] = {
        "port": tws.port,
        "client_id": 1,
        "connect_timeout_seconds": 2.0,
        "backoff_initial_seconds": 0.02,
        "backoff_max_seconds": 0.2,
        "reconcile_interval_seconds": 0,
    }
    return IbConfig(**{**base, **overrides})


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
