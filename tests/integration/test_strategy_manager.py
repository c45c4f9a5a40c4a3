"""The strategy manager through the real service: the engine, the paper broker, the journal.

Token-protected ``POST /strategies/{name}/{action}``: pause, resume, disable, enable change what
a strategy does from the next bar and survive a restart; reload swaps an edited policy file in
without losing the position (a broken edit leaves the old version running, and says why);
a per-strategy kill with flatten closes that strategy alone; a blackout window blocks openings
and lets reductions through.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from houseedge.app import manage
from houseedge.app.references import build
from houseedge.app.settings import LiveSettings, PolicyConfig, build_engine
from houseedge.chaos import Raiser
from houseedge.core.costs import LinearCostModel
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Bar, MarketSnapshot, Order, PortfolioState
from houseedge.errors import ConfigError
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker
from houseedge.live.service import Service, ServiceSettings

STEP = 250_000_000  # 250 ms bars
TOKEN = "manager-token"  # noqa: S105 (a test token)
RISK = RiskLimits(max_orders_per_window=10_000, price_band=1.0)

POLICY = """
from houseedge.core.types import Side

UNITS = {units}


class Holder:
    name = "holder"

    def __init__(self, symbol: str = "X") -> None:
        {init}
        self.symbol = symbol

    def params(self):
        return {{"symbol": self.symbol}}

    def decide(self, portfolio, snapshot, context):
        held = portfolio.positions.get(self.symbol)
        qty = 0.0 if held is None else held.qty
        working = sum(s.order.side.sign * s.remaining for s in context.open_orders(self.symbol))
        delta = UNITS - qty - working
        if abs(delta) < 1e-9:
            return []
        return [context.order(self.symbol, Side.BUY if delta > 0 else Side.SELL, abs(delta))]
"""


def _write(path: Path, units: float, init: str = "pass") -> None:
    path.write_text(POLICY.format(units=units, init=init))


class Holder:
    """Holds ``units`` of X (changed by the test between bars)."""

    name = "holder"

    def __init__(self, units: float) -> None:
        self.units = units

    def params(self) -> dict[str, Any]:
        return {"units": self.units}

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        held = portfolio.positions.get("X")
        delta = self.units - (0.0 if held is None else held.qty)
        delta -= sum(s.order.side.sign * s.remaining for s in context.open_orders("X"))
        if abs(delta) < 1e-9:
            return []
        return [context.order("X", "buy" if delta > 0 else "sell", abs(delta))]


class StepFeed:
    """A feed the test drives bar by bar: :meth:`push` returns once the bar is decided."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Bar | None] = asyncio.Queue()
        self.n = 0

    async def events(self) -> AsyncIterator[Bar]:
        while (bar := await self.queue.get()) is not None:
            yield bar
            self.queue.task_done()
        self.queue.task_done()

    async def close(self) -> None:
        self.queue.put_nowait(None)

    def bar(self, start: int) -> Bar:
        return Bar(symbol="X", timeframe="250ms", ts=start * STEP, open=100.0, high=100.0,
                   low=100.0, close=100.0, volume=1e9)  # fmt: skip


class Desk:
    """One engine (on a journal that outlives it) behind the real service on 127.0.0.1."""

    def __init__(self, specs: list[PolicySpec], journal: Path, start: int = 0) -> None:
        self.feed = StepFeed()
        self.engine = Engine(broker=PaperBroker(LinearCostModel(), starting_cash=1e6),
                             feed=self.feed, policies=specs, journal=journal, cash=1e6,
                             risk=RISK)  # fmt: skip
        settings = ServiceSettings(port=0, token=SecretStr(TOKEN), operator="alice")
        self.service = Service(self.engine, settings, stop_engine=lambda: self.engine.stop(1))
        self.t = start

    async def __aenter__(self) -> Desk:
        await self.engine.start()
        await self.service.start()
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.service.drain()

    async def bars(self, n: int = 1) -> None:
        """Send ``n`` bars; return once each is decided and every report booked."""
        for _ in range(n):
            self.feed.queue.put_nowait(self.feed.bar(self.t))
            self.t += 1
            await self.feed.queue.join()
        for _ in range(200):
            await asyncio.sleep(0.002)
            if self.engine._processed >= self.engine._received:
                return

    async def post(self, path: str, body: dict[str, Any] | None = None, *, token: str | None = TOKEN
                   ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        async with self.http.post(f"{self.service.url}{path}", json=body, headers=headers) as r:
            return r.status, await r.json()

    def strategy(self, name: str) -> dict[str, Any]:
        return next(s for s in self.engine.list_strategies() if s["name"] == name)

    def held(self, name: str) -> float:
        return self.engine.position("X", name)


def _events(journal: Path, kind: str) -> list[dict[str, Any]]:
    with Journal(journal, readonly=True) as j:
        return [e.payload for e in j.events_after(0, limit=100_000, kind=kind)]


def test_state_commands_act_from_the_next_bar_and_survive_a_restart(tmp_path: Path) -> None:
    journal = tmp_path / "live.db"
    specs = lambda: [PolicySpec("a", Holder(10), ["X"]), PolicySpec("b", Holder(3), ["X"])]  # noqa: E731

    async def first() -> None:
        async with Desk(specs(), journal) as desk:
            await desk.bars(3)
            assert (desk.held("a"), desk.held("b")) == (10.0, 3.0)
            for action in ("pause", "resume", "disable", "enable", "reset", "kill", "reload"):
                status, _ = await desk.post(f"/strategies/a/{action}", token=None)
                assert status == 401
                status, _ = await desk.post(f"/strategies/a/{action}", token="wrong")  # noqa: S106
                assert status in (401, 403)
            status, _ = await desk.post(
                "/strategies/a/blackout", {"start": 0, "end": 1}, token=None
            )
            assert status == 401
            assert desk.strategy("a")["state"] == "running"  # nothing refused changed anything

            status, body = await desk.post("/strategies/a/pause")
            assert (status, body["state"]) == (200, "paused")
            decided = desk.strategy("a")["decisions"]
            await desk.bars(2)
            assert desk.strategy("a")["decisions"] == decided  # paused: no decision
            assert desk.strategy("b")["decisions"] > 0
            await desk.post("/strategies/a/resume")
            await desk.bars(1)
            assert desk.strategy("a")["decisions"] == decided + 1
            status, body = await desk.post("/strategies/a/disable")
            assert (status, body["state"]) == (200, "disabled")
            status, body = await desk.post("/strategies/a/reset")  # only a failed one resets
            assert status == 409 and "not failed" in body["error"]
            status, body = await desk.post("/strategies/nope/pause")
            assert status == 409 and "'nope'" in body["error"]

    async def second() -> None:
        async with Desk(specs(), journal, start=100) as desk:
            assert desk.strategy("a")["state"] == "disabled"  # from the journal
            await desk.bars(2)
            assert desk.strategy("a")["decisions"] == 0
            assert desk.held("a") == 10.0
            await desk.post("/strategies/a/enable")
            await desk.bars(1)
            assert desk.strategy("a")["decisions"] == 1

    asyncio.run(first())
    asyncio.run(second())
    audit = [e for e in _events(journal, "strategy") if e["strategy"] == "a"]
    assert [e["action"] for e in audit] == ["pause", "resume", "disable", "enable"]
    assert {e["operator"] for e in audit} == {"alice"}


def test_reload_swaps_an_edited_file_and_keeps_the_position(tmp_path: Path) -> None:
    source = tmp_path / "holder.py"
    _write(source, 10)
    config = PolicyConfig(name="h", policy=f"{source}:Holder")
    timings: list[float] = []

    async def run() -> None:
        spec = PolicySpec("h", build(config.reference), ["X"])
        async with Desk([spec], tmp_path / "live.db") as desk:
            manage(desk.engine, [config], [])
            await desk.bars(3)
            assert desk.held("h") == 10.0
            _write(source, 4)
            began = time.perf_counter()
            status, body = await desk.post("/strategies/h/reload")
            timings.append(time.perf_counter() - began)
            assert (status, body["reloaded"]) == (200, True)
            timings.append(body["seconds"])
            assert desk.held("h") == 10.0  # nothing traded by the reload itself
            await desk.bars(2)
            assert desk.held("h") == 4.0  # the new code sold 6 of the 10 it kept
            sells = [f for f in desk.engine.fills() if f["side"] == "sell"]
            assert [f["qty"] for f in sells] == [6.0]

            source.write_text("def broken(:\n")
            status, body = await desk.post("/strategies/h/reload")
            assert (status, body["reloaded"]) == (200, False)
            assert "SyntaxError" in body["error"]
            _write(source, 7, init='raise ValueError("no constructor today")')
            status, body = await desk.post("/strategies/h/reload")
            assert body["reloaded"] is False and "no constructor today" in body["error"]
            decided = desk.strategy("h")["decisions"]
            await desk.bars(2)
            assert desk.strategy("h")["state"] == "running"
            assert desk.strategy("h")["decisions"] == decided + 2  # the old version decides
            assert desk.held("h") == 4.0

    asyncio.run(run())
    events = _events(tmp_path / "live.db", "engine")
    assert [e["event"] for e in events if "reload" in e["event"]] == [
        "reloaded", "reload_failed", "reload_failed"]  # fmt: skip
    print(f"\nreload: {timings[1] * 1e3:.2f} ms in the engine, {timings[0] * 1e3:.2f} ms over HTTP")


def test_kill_with_flatten_closes_one_strategy_and_leaves_the_others(tmp_path: Path) -> None:
    async def run() -> None:
        specs = [PolicySpec("a", Holder(10), ["X"]), PolicySpec("b", Holder(5), ["X"])]
        async with Desk(specs, tmp_path / "live.db") as desk:
            await desk.bars(3)
            status, body = await desk.post("/strategies/a/kill", {"flatten": True})
            assert status == 200 and body["state"] == "disabled"
            assert len(body["sent"]) == 1
            await desk.bars(2)
            assert (desk.held("a"), desk.held("b")) == (0.0, 5.0)
            assert desk.strategy("b")["state"] == "running"
            decided = desk.strategy("b")["decisions"]
            await desk.bars(1)
            assert desk.strategy("b")["decisions"] == decided + 1

    asyncio.run(run())
    (killed,) = [
        e for e in _events(tmp_path / "live.db", "engine") if e["event"] == "strategy_killed"
    ]
    assert (killed["strategy"], killed["operator"], killed["sent"]) == ("a", "alice", 1)


def test_a_blackout_blocks_openings_and_lets_reductions_through(tmp_path: Path) -> None:
    journal = tmp_path / "live.db"

    async def run() -> None:
        holder = Holder(10)
        async with Desk([PolicySpec("a", holder, ["X"])], journal) as desk:
            await desk.bars(3)
            assert desk.held("a") == 10.0
            window = {"start": (desk.t + 1) * STEP, "end": (desk.t + 5) * STEP}
            status, _ = await desk.post("/strategies/a/blackout", window)
            assert status == 200
            holder.units = 20
            await desk.bars(2)
            assert desk.strategy("a")["state"] == "blackout"
            assert desk.held("a") == 10.0  # the opening was held back
            holder.units = 6
            await desk.bars(2)
            assert desk.held("a") == 6.0  # the reduction went through
            holder.units = 9
            await desk.bars(3)  # the window ends: openings again
            assert desk.strategy("a")["state"] == "running"
            assert desk.held("a") == 9.0

    asyncio.run(run())
    actions = [e["action"] for e in _events(journal, "strategy")]
    assert actions == ["blackout_start", "blackout_end"]


def test_a_window_without_reductions_blocks_everything_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "live.db"
    holder = Holder(10)

    async def first() -> dict[str, Any]:
        async with Desk([PolicySpec("a", holder, ["X"])], journal) as desk:
            await desk.bars(3)
            window = {"start": desk.t * STEP, "end": (desk.t + 50) * STEP, "reductions": False}
            status, body = await desk.post("/strategies/a/blackout", window)
            assert status == 200
            holder.units = 0
            await desk.bars(2)
            assert desk.held("a") == 10.0  # not even a reduction
            status, bad = await desk.post("/strategies/a/blackout", {"start": 5, "end": 1})
            assert status == 409 and "must be after start" in bad["error"]
            return body

    async def second() -> None:
        async with Desk([PolicySpec("a", holder, ["X"])], journal, start=10) as desk:
            assert desk.strategy("a")["state"] == "blackout"
            await desk.bars(2)
            assert desk.held("a") == 10.0  # the journaled window is in force again
            assert desk.strategy("a")["state"] == "blackout"

    body = asyncio.run(first())
    assert body["window"]["reductions"] is False
    asyncio.run(second())


def test_config_windows_and_the_loader_come_from_the_settings(tmp_path: Path) -> None:
    toml = tmp_path / "live.toml"
    toml.write_text(
        "\n".join(
            [
                'symbols = ["X"]',
                f'journal = "{tmp_path / "live.db"}"',
                "[[policies]]",
                'name = "sma"',
                'policy = "sma_cross"',
                "params = { fast = 2, slow = 5 }",
                "[[blackouts]]",
                'strategy = "sma"',
                "start = 2026-12-08T13:25:00Z",
                "end = 2026-12-08T13:45:00Z",
                "reductions = false",
            ]
        )
    )
    engine = build_engine(LiveSettings.load(toml))
    (window,) = engine.windows or []
    assert (window.strategy, window.reductions) == ("sma", False)
    assert window.end - window.start == 20 * 60 * 10**9
    assert engine.loader is not None
    assert engine.references == {"sma": ("sma_cross", {"fast": 2, "slow": 5})}
    toml.write_text(
        "[[blackouts]]\nstart = 2026-12-08T13:25:00Z\nend = 2026-12-08T13:45:00Z\nwhen = 1"
    )
    with pytest.raises(ConfigError, match="when"):
        LiveSettings.load(toml)


def test_add_a_strategy_from_a_reference_and_keep_it_after_a_restart(tmp_path: Path) -> None:
    source = tmp_path / "holder.py"
    _write(source, 3)
    journal = tmp_path / "live.db"
    added = {"policy": f"{source}:Holder", "params": {"symbol": "X"}, "symbols": ["X"]}

    async def first() -> None:
        async with Desk([PolicySpec("a", Holder(10), ["X"])], journal) as desk:
            status, _ = await desk.post("/strategies/new/add", added)
            assert status == 409  # no loader: the application gives one
            manage(desk.engine, [], [])
            status, _ = await desk.post("/strategies/new/add", added, token=None)
            assert status == 401
            status, body = await desk.post("/strategies/new/add", {**added, "params": {"x": 1}})
            assert status == 409 and "x" in body["error"]
            status, body = await desk.post("/strategies/new/add", added)
            assert (status, body["state"]) == (200, "running")
            status, body = await desk.post("/strategies/a/add", added)
            assert status == 409 and "exists" in body["error"]
            await desk.bars(3)
            assert (desk.held("a"), desk.held("new")) == (10.0, 3.0)

    async def second() -> None:
        desk = Desk([PolicySpec("a", Holder(10), ["X"])], journal, start=10)
        manage(desk.engine, [], [])  # before start: it adds the journal's strategies back
        async with desk:
            assert desk.strategy("new")["state"] == "running"
            _write(source, 1)
            _, body = await desk.post("/strategies/new/reload")
            assert body["reloaded"] is True
            await desk.bars(2)
            # The new code sizes from the position the journal kept: 3 held, 1 wanted.
            sent = [(o["side"], o["qty"]) for o in desk.engine.orders() if o["policy"] == "new"]
            assert sent == [("buy", 3.0), ("sell", 2.0)]

    asyncio.run(first())
    asyncio.run(second())


def test_reset_puts_a_failed_strategy_back_to_running(tmp_path: Path) -> None:
    async def run() -> None:
        specs = [PolicySpec("bad", Raiser(at=2), ["X"]), PolicySpec("a", Holder(2), ["X"])]
        async with Desk(specs, tmp_path / "live.db") as desk:
            await desk.bars(3)
            assert desk.strategy("bad")["state"] == "failed"
            status, body = await desk.post("/strategies/bad/reset")
            assert (status, body["state"]) == (200, "running")
            decided = desk.strategy("bad")["decisions"]
            await desk.bars(2)  # it raised once (its 2nd decision): it decides again
            assert desk.strategy("bad")["decisions"] == decided + 2
            assert desk.strategy("bad")["state"] == "running"

    asyncio.run(run())


def test_reload_reimports_a_module_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    _write(tmp_path / "manager_holder_mod.py", 10)
    config = PolicyConfig(name="m", policy="manager_holder_mod:Holder")
    monkeypatch.delitem(sys.modules, "manager_holder_mod", raising=False)

    async def run() -> None:
        spec = PolicySpec("m", build(config.reference), ["X"])
        async with Desk([spec], tmp_path / "live.db") as desk:
            manage(desk.engine, [config], [])
            await desk.bars(3)
            assert desk.held("m") == 10.0
            _write(tmp_path / "manager_holder_mod.py", 4)
            _, body = await desk.post("/strategies/m/reload")
            assert body["reloaded"] is True
            await desk.bars(2)
            assert desk.held("m") == 4.0
            (tmp_path / "manager_holder_mod.py").write_text("def broken(:\n")
            _, body = await desk.post("/strategies/m/reload")
            assert body["reloaded"] is False and "SyntaxError" in body["error"]

    asyncio.run(run())
