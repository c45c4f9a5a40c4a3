"""REST on one order and one strategy's position: the real service, paper broker and journal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker
from tests.integration.test_engine import Gated, bars
from tests.integration.test_operator_controls import AUTH, _call, _engine, _served


def _audit(path: Path) -> list[dict[str, Any]]:
    with Journal(path, readonly=True) as journal:
        return [e.payload for e in journal.events_after(0, 10_000) if e.kind == "engine"]


def test_get_and_delete_one_order(tmp_path: Path) -> None:
    feed = Gated(bars([10.0] * 8), gates={5})

    async def session() -> dict[str, Any]:
        engine = _engine(PaperBroker(), feed, tmp_path / "j.db")
        service = await _served(engine)
        await feed.at(5)
        (working,) = engine.orders(open_only=True)
        oid = working["order_id"]
        out: dict[str, Any] = {"oid": oid}
        async with aiohttp.ClientSession(service.url) as http:
            out["get"] = await _call(http, "GET", f"/orders/{oid}")
            out["unknown"] = await _call(http, "GET", "/orders/nope.7")
            out["anonymous"] = await _call(http, "DELETE", f"/orders/{oid}")
            out["open_after_refusal"] = len(engine.orders(open_only=True))
            out["delete"] = await _call(http, "DELETE", f"/orders/{oid}", headers=AUTH)
            out["delete_unknown"] = await _call(http, "DELETE", "/orders/nope.7", headers=AUTH)
            feed.resume()
            await engine.run_until_idle(timeout=20)
            out["final"] = await _call(http, "GET", f"/orders/{oid}")
        await service.drain()
        await engine.stop()
        return out

    out = asyncio.run(session())
    oid = out["oid"]
    assert out["get"][0] == 200 and out["get"][1]["order_id"] == oid
    assert out["get"][1]["side"] == "sell"
    assert out["unknown"][0] == 404 and "nope.7" in out["unknown"][1]["error"]
    assert out["anonymous"][0] == 401 and out["open_after_refusal"] == 1
    status, body = out["delete"]
    assert status == 200, body
    assert body["requested"] is True and body["order_id"] == oid and body["operator"] == "desk"
    assert out["delete_unknown"][0] == 404 and "nope.7" in out["delete_unknown"][1]["error"]
    assert out["final"][1]["status"] == "cancelled"
    assert {"event": "cancel_order", "operator": "desk", "order_id": oid, "requested": True} in [
        {k: p.get(k) for k in ("event", "operator", "order_id", "requested")}
        for p in _audit(tmp_path / "j.db")
    ]


def test_close_a_strategys_position_in_part_then_in_full(tmp_path: Path) -> None:
    feed = Gated(bars([10.0] * 10), gates={3, 5})

    async def session() -> dict[str, Any]:
        engine = _engine(PaperBroker(), feed, tmp_path / "j.db", close_at=None)
        service = await _served(engine)
        await feed.at(3)
        out: dict[str, Any] = {}
        url = "/positions/holder/X/close"
        async with aiohttp.ClientSession(service.url) as http:
            out["anonymous"] = await _call(http, "POST", url)
            out["nothing"] = await _call(http, "POST", "/positions/holder/Y/close", headers=AUTH)
            out["too_much"] = await _call(http, "POST", url, json={"qty": 11}, headers=AUTH)
            out["part"] = await _call(http, "POST", url, json={"qty": 4}, headers=AUTH)
            feed.resume()
            await feed.at(5)
            out["after_part"] = engine.position("X", "holder")
            out["full"] = await _call(http, "POST", url, headers=AUTH)
            feed.resume()
            await engine.run_until_idle(timeout=20)
        out["after_full"] = engine.position("X", "holder")
        out["manual"] = engine.position("X", "")
        await service.drain()
        await engine.stop()
        return out

    out = asyncio.run(session())
    assert out["anonymous"][0] == 401
    assert out["nothing"][0] == 404 and "'Y'" in out["nothing"][1]["error"]
    assert out["too_much"][0] == 400 and out["too_much"][1]["field"] == "qty"
    status, part = out["part"]
    assert status == 200, part
    assert part["accepted"] is True and part["qty"] == 4 and part["held"] == 10
    assert out["after_part"] == 6
    assert out["full"][0] == 200 and out["full"][1]["qty"] == 6
    assert out["after_full"] == 0 and out["manual"] == 0
    closes = [p for p in _audit(tmp_path / "j.db") if p.get("event") == "manual_order"]
    assert [(p["operator"], p["policy"]) for p in closes] == [("desk", "holder")] * 2
