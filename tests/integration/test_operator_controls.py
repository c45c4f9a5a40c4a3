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

    def __init__(self, close_at: int | None = 3) -> None:
        self.calls, self.close_at = 0, close_at

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
        (symbol,) = snapshot.bars
        self.calls += 1
        if self.calls == 1:
            return [context.order(symbol, "buy", 10)]
        if self.calls == self.close_at:
            return [context.order(symbol, "sell", 10, type="limit", limit_price=10.4, tif="gtc")]
        return []


def _engine(broker: PaperBroker, feed: Any, path: Path, close_at: int | None = 3) -> Engine:
    spec = PolicySpec("holder", Holder(close_at), ["X"])
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


def test_a_restart_keeps_the_kill_and_the_pause_until_the_operator_resets(tmp_path: Path) -> None:
    path, broker = tmp_path / "j.db", PaperBroker()

    async def first() -> None:
        feed = Gated(bars([10.0] * 6), gates={3})
        engine = _engine(broker, feed, path)
        service = await _served(engine)
        await feed.at(3)
        async with aiohttp.ClientSession(service.url) as http:
            assert (await _call(http, "POST", "/pause", headers=AUTH))[0] == 200
            assert (await _call(http, "POST", "/kill", headers=AUTH))[0] == 200
        await service.drain()
        await engine.stop()

    async def second() -> dict[str, Any]:
        feed = Gated(bars([10.0] * 6, start=10), gates={1})
        engine = _engine(broker, feed, path)
        service = await _served(engine)
        await feed.at(1)
        out: dict[str, Any] = {"health": engine.health(), "risk": engine.risk()}
        async with aiohttp.ClientSession(service.url) as http:
            out["anonymous"] = await _call(http, "POST", "/reset")
            out["wrong"] = await _call(
                http, "POST", "/reset", headers={"Authorization": "Bearer x"}
            )
            out["still"] = engine.health()["breaker"]
            out["reset"] = await _call(http, "POST", "/reset", headers=AUTH)
        out["after"] = engine.health()
        await service.drain()
        await engine.stop()
        return out

    async def third() -> dict[str, Any]:
        engine = _engine(broker, Gated(bars([10.0] * 2, start=30), gates={1}), path)
        await engine.start()
        health = engine.health()
        await engine.stop()
        return dict(health)

    async def sessions() -> tuple[dict[str, Any], dict[str, Any]]:
        await first()
        return await second(), await third()

    out, restarted = asyncio.run(sessions())
    assert (out["health"]["breaker"], out["health"]["paused"]) == ("halted", True)
    assert out["risk"]["kill_requested"] is True
    assert out["anonymous"][0] == 401 and out["wrong"][0] == 401 and out["still"] == "halted"
    assert out["reset"] == (200, {"state": "normal", "operator": "desk"})
    assert (out["after"]["breaker"], out["after"]["paused"]) == ("normal", True)  # /resume's
    assert (restarted["breaker"], restarted["paused"]) == ("normal", True)
    with Journal(path, readonly=True) as journal:
        events = journal.events_after(0, 10_000)
    audit = [(e.payload["event"], e.payload.get("operator")) for e in events if e.kind == "engine"]
    assert [a for a in audit if a[0] in {"paused", "killed", "reset"}] == [
        ("paused", "desk"),
        ("killed", "desk"),
        ("reset", "desk"),
    ]
    restored = [e.payload for e in events if e.payload.get("event") == "controls_restored"]
    assert restored[0]["killed"] is True and restored[0]["state"] == "halted"


def test_a_partial_manual_close_leaves_the_strategy_at_the_remainder(tmp_path: Path) -> None:
    feed = Gated(bars([10.0] * 8), gates={4})
    close = {"symbol": "X", "side": "sell", "qty": 5, "policy": "holder"}

    async def session() -> tuple[Any, Any, list[Any]]:
        engine = _engine(PaperBroker(), feed, tmp_path / "j.db", close_at=None)
        service = await _served(engine)
        await feed.at(4)
        async with aiohttp.ClientSession(service.url) as http:
            done = await _call(http, "POST", "/orders", json=close, headers=AUTH)
            unknown = await _call(http, "POST", "/orders", json={**close, "policy": "nope"},
                                  headers=AUTH)  # fmt: skip
        feed.resume()
        await engine.run_until_idle(timeout=20)
        positions = [dict(p) for p in engine.positions()]
        await service.drain()
        await engine.stop()
        return done, unknown, positions

    done, unknown, positions = asyncio.run(session())
    assert done[0] == 200 and done[1]["accepted"] is True
    assert unknown[0] == 422 and unknown[1]["check"] == "unknown_policy"
    assert [(p["policy"], p["qty"]) for p in positions] == [("holder", 5.0)]
