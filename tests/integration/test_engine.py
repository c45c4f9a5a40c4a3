"""The live engine end to end on a tmp journal: start-up reconciliation, operator commands,
journaled events with increasing ids, trade aggregation, and per-policy risk budgets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from houseedge.core.broker import Trade
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Bar, Fill, Order
from houseedge.live.control import EngineHandle, ManualOrder
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker

SEC = 10**9


def bars(closes: list[float], symbol: str = "X", start: int = 0) -> list[Bar]:
    return [Bar(symbol=symbol, timeframe="1s", ts=(start + i) * SEC, open=c, high=c, low=c,
                close=c, volume=1e6) for i, c in enumerate(closes)]  # fmt: skip


class Buyer:
    """Buys ``qty`` on every bar of its symbol."""

    def __init__(self, name: str = "buyer", qty: float = 1.0) -> None:
        self.name, self.qty = name, qty

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
        (symbol,) = snapshot.bars
        return [context.order(symbol, "buy", self.qty)]


def engine_for(broker: PaperBroker, feed: Any, path: Path, *specs: PolicySpec, **kw: Any) -> Engine:
    kw.setdefault("risk", RiskLimits(max_orders_per_window=1000))
    return Engine(broker=broker, feed=feed, policies=list(specs), journal=path, **kw)


def test_the_engine_is_an_engine_handle_and_journals_events_in_id_order(tmp_path: Path) -> None:
    async def session() -> tuple[list[Any], list[Any], Engine]:
        engine = engine_for(PaperBroker(), IterableFeed(bars([10.0] * 6)), tmp_path / "j.db",
                            PolicySpec("buyer", Buyer(), ["X"]))  # fmt: skip
        assert isinstance(engine, EngineHandle)
        assert not engine.ready
        await engine.start()
        assert engine.ready
        seen: list[Any] = []

        async def listen() -> None:
            seen.extend([event async for event in engine.subscribe()])

        listener = asyncio.create_task(listen())
        await engine.run_until_idle(timeout=20)
        await engine.stop()
        await listener
        with Journal(tmp_path / "j.db", readonly=True) as journal:
            journaled = journal.events_after(0, limit=10_000)
        return seen, journaled, engine

    seen, journaled, engine = asyncio.run(session())
    ids = [e.id for e in journaled]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # what a subscriber got live is exactly the journal's tail, in the same order
    assert [e.id for e in seen] == [e.id for e in journaled if e.id >= seen[0].id]
    kinds = {e.kind for e in journaled}
    assert {"engine", "reconciliation", "order", "fill", "position"} <= kinds
    fills = [e for e in journaled if e.kind == "fill"]
    assert len(fills) == 5  # decided on bars 0..4, filled on 1..5; bar 5's order never fills
    assert engine.health()["state"] == "stopped"


def test_start_reconciles_fills_and_statuses_the_journal_missed(tmp_path: Path) -> None:
    path = tmp_path / "j.db"

    def engine(broker: PaperBroker, feed: IterableFeed) -> Engine:
        return engine_for(broker, feed, path, PolicySpec("buyer", Buyer(), ["X"]))

    def summary(e: Engine) -> dict[str, Any]:
        return next(x.payload for x in reversed(e.events_after(0)) if x.kind == "reconciliation")

    async def scenario() -> tuple[list[Any], list[Any], dict[str, Any], list[str], list[str]]:
        broker = PaperBroker()
        first = engine(broker, IterableFeed(bars([10.0, 10.0, 10.0])))
        await first.start()
        await first.run_until_idle(timeout=20)
        await first.stop()
        # While the engine is down the venue fills its open order and a manual trade happens.
        broker.on_market(bars([11.0], start=3)[0])
        await broker.submit(Order(client_order_id="venue-manual", symbol="X", side="sell",
                                  qty=2, ts=3 * SEC))  # fmt: skip
        broker.on_market(bars([12.0], start=4)[0])
        second = engine(broker, IterableFeed([]))
        await second.start()
        events, positions = list(second.events_after(0)), list(second.positions())
        await second.stop()
        third = engine(broker, IterableFeed([]))  # a second restart finds nothing new
        await third.start()
        again = summary(third)
        await third.stop()
        venue = [f.fill_id for f in await broker.fills_since(0)]
        with Journal(path, readonly=True) as journal:
            journaled = [f.fill_id for f in journal.fills()]
        return events, positions, again, venue, journaled

    events, positions, again, venue, journaled = asyncio.run(scenario())
    recon = [e.payload for e in events if e.kind == "reconciliation"]
    assert recon[-1]["missing_fills"] == 2  # the buyer's last order, and the manual sell
    assert {p["kind"] for p in recon} >= {"missing_fill", "unknown_order", "summary"}
    assert recon[-1]["position_mismatches"] == 0
    # the venue's manual order (its fill from reconciliation, its acks from the report stream)
    anomalies = {
        (e.payload["reason"], e.payload["order_id"]) for e in events if e.kind == "anomaly"
    }
    assert anomalies == {("unknown_order", "venue-manual")}
    assert sorted(journaled) == sorted(venue)
    held = {(p["policy"], p["symbol"]): p["qty"] for p in positions}
    assert held == {("buyer", "X"): 3.0, ("", "X"): -2.0}
    assert again["missing_fills"] == 0
    assert again["status_changes"] == 0


class Gated(IterableFeed):
    """Pauses itself after delivering each of ``gates`` events (the test resumes it)."""

    def __init__(self, events: list[Bar], gates: set[int]) -> None:
        super().__init__(events)
        self.gates = gates

    async def events(self):  # type: ignore[override]
        async for event in super().events():
            yield event
            if self.delivered in self.gates:
                self.pause()

    async def at(self, count: int) -> None:
        while self.delivered < count:  # noqa: ASYNC110 (the feed has no event to wait on)
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.02)  # the engine finishes the bar


def test_pause_resume_manual_orders_kill_and_flatten(tmp_path: Path) -> None:
    feed = Gated(bars([10.0] * 40), gates={5, 30})

    async def session() -> dict[str, Any]:
        engine = engine_for(PaperBroker(), feed, tmp_path / "j.db",
                            PolicySpec("buyer", Buyer(qty=2), ["X"]))  # fmt: skip
        await engine.start()
        await feed.at(5)
        await engine.pause(operator="ops")
        paused_at = len(engine.orders())
        manual = await engine.submit_manual(ManualOrder(symbol="X", side="buy", qty=3),
                                            operator="ops")  # fmt: skip
        fat = await engine.submit_manual(ManualOrder(symbol="X", side="buy", qty=1,
                                                     type="limit", limit_price=50.0),
                                         operator="ops")  # fmt: skip
        feed.resume()
        await asyncio.sleep(0.05)
        after_pause = len(engine.orders())
        await engine.resume(operator="ops")
        await feed.at(30)
        killed = await engine.kill(operator="ops", flatten=True)
        feed.resume()
        await engine.run_until_idle(timeout=20)
        out = {"paused_at": paused_at, "after_pause": after_pause, "manual": manual, "fat": fat,
               "killed": killed, "positions": engine.positions(), "risk": engine.risk(),
               "open": engine.orders(open_only=True)}  # fmt: skip
        await engine.stop()
        return out

    out = asyncio.run(session())
    assert out["after_pause"] == out["paused_at"] + 1  # paused: only the manual order
    assert out["manual"]["accepted"] is True
    assert out["fat"]["accepted"] is False and out["fat"]["check"] == "price_band"
    assert out["killed"]["state"] == "halted"
    assert all(o["accepted"] for o in out["killed"]["flatten"])
    assert all(p["qty"] == 0 for p in out["positions"])  # flattened, manual book included
    assert out["open"] == []
    assert out["risk"]["rejected"].get("halted", 0) > 0  # the buyer kept trying, refused


def test_trades_are_aggregated_into_bars_and_each_policy_keeps_its_own_budget(
    tmp_path: Path,
) -> None:
    trades = [Trade(symbol=s, ts=i * SEC // 4, price=100.0 + (i % 3) * 0.1, size=10.0)
              for i in range(200) for s in ("X", "Y")]  # fmt: skip
    tight = RiskLimits(max_long=3, max_orders_per_window=1000)

    async def session() -> Engine:
        engine = engine_for(PaperBroker(), IterableFeed(trades), tmp_path / "j.db",
                            PolicySpec("small", Buyer("small"), ["X"], limits=tight),
                            PolicySpec("big", Buyer("big"), ["X", "Y"]),
                            timeframe="5s")  # fmt: skip
        await engine.start()
        await engine.run_until_idle(timeout=30)
        await engine.stop()
        return engine

    engine = asyncio.run(session())
    with Journal(tmp_path / "j.db", readonly=True) as journal:
        state = journal.rebuild()
        fills: list[Fill] = journal.fills()
    bars_closed = 200 // 20 - 1  # 5 s bars of 20 trades; the last bucket never closes
    assert state.ledger.position("X", policy="small") == 3  # its own max_long stopped it
    assert state.ledger.position("X", policy="big") == bars_closed
    assert state.ledger.position("Y", policy="big") == bars_closed
    # a bar closes on the first trade of the next bucket; its order fills on the trade after
    assert {f.ts % (5 * SEC) for f in fills} == {SEC // 4}
    assert engine.risk()["rejected"] == {"max_position": bars_closed - 3}
