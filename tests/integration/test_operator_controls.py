"""Durable, exact operator controls: the real engine, journal, paper broker and service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Order
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker
from houseedge.live.service import Service, ServiceSettings
from tests.integration.test_engine import Gated, bars

TOKEN = "tok-operator-controls"  # noqa: S105 (a test token)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Holder:
    """Buys 10, then works a limit sell of 10 far above the market (a close that never fills)."""

    def __init__(self) -> None:
        self.calls = 0

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
        (symbol,) = snapshot.bars
        self.calls += 1
        if self.calls == 1:
            return [context.order(symbol, "buy", 10)]
        if self.calls == 3:
            return [context.order(symbol, "sell", 10, type="limit", limit_price=10.4, tif="gtc")]
        return []


def _engine(broker: PaperBroker, feed: Any, path: Path) -> Engine:
    spec = PolicySpec("holder", Holder(), ["X"])
    limits = RiskLimits(max_orders_per_window=1000)
    return Engine(broker=broker, feed=feed, policies=[spec], journal=path, risk=limits)


async def _call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, path, **kwargs) as response:
        return response.status, await response.json()


async def _served(engine: Engine) -> Service:
    await engine.start()
    service = Service(engine, ServiceSettings(port=0, token=SecretStr(TOKEN), operator="desk"))
    await service.start()
    return service


def test_kill_with_flatten_cancels_the_working_close_and_ends_flat(tmp_path: Path) -> None:
    feed = Gated(bars([10.0] * 12), gates={5})

    async def session() -> tuple[dict[str, Any], list[dict[str, Any]], list[Any], list[Any]]:
        engine = _engine(PaperBroker(), feed, tmp_path / "j.db")
        service = await _served(engine)
        await feed.at(5)
        working = engine.orders(open_only=True)
        async with aiohttp.ClientSession(service.url) as http:
            status, killed = await _call(
                http, "POST", "/kill", json={"flatten": True}, headers=AUTH
            )
        assert status == 200, killed
        feed.resume()
        await engine.run_until_idle(timeout=20)
        positions, still_open = engine.positions(), engine.orders(open_only=True)
        await service.drain()
        await engine.stop()
        return killed, working, positions, still_open

    killed, working, positions, still_open = asyncio.run(session())
    assert [(o["order_id"], o["side"]) for o in working] == [(killed["cancelled_ids"][0], "sell")]
    assert killed["cancelled"] == 1 and killed["pending_cancels"] == []
    assert [o["accepted"] for o in killed["flatten"]] == [True]
    assert killed["sent"] == [killed["flatten"][0]["order_id"]]
    assert killed["state"] == "halted"
    assert [p["qty"] for p in positions if p["symbol"] == "X"] == [0]
    assert still_open == []
    with Journal(tmp_path / "j.db", readonly=True) as journal:
        audit = [e.payload for e in journal.events_after(0, 10_000) if e.kind == "engine"]
    assert {"event": "killed", "operator": "desk", "flatten": True, "cancelled": 1, "sent": 1} in (
        audit
    )
