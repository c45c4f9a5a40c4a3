"""One failing strategy never stops the others: the real engine, the paper broker, the journal.

Three strategies trade one symbol; one of them fails on bar 50 (an exception, an infinite or a
target out of [-1, 1], a decision over its time budget). The failing one is ``failed``, its
working orders are cancelled and a ``strategy`` event says why (with the traceback's last
frame); the two others book **exactly** the fills they book when each runs alone on the same
bars with the same settings. The failure survives a restart.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from houseedge.chaos import BadTarget, FlipFlopper, Raiser, Sluggish
from houseedge.core.costs import LinearCostModel
from houseedge.core.execution import OrderStatus
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.core.types import Bar
from houseedge.live.engine import Engine, PolicySpec, StrategyState
from houseedge.live.feeds import IterableFeed
from houseedge.live.journal import Journal
from houseedge.live.paper import PaperBroker
from houseedge.live.service import Service, ServiceSettings
from tests.integration.test_misbehaving_policies import STEP, walk

CASH = 100_000.0
COSTS = LinearCostModel(commission_bps=10)
RISK = RiskLimits(max_orders_per_window=10_000, price_band=1.0)
AT = 50  # the bar the bad strategy fails on: its 50th, which closes at AT * STEP
LAST = (AT - 1) * STEP  # that bar's open time
PRICES = walk(160, seed=11, vol=0.004)


def _bars(prices: list[float], start: int = 0) -> list[Bar]:
    return [Bar(symbol="X", timeframe="250ms", ts=(start + i) * STEP, open=p, high=p, low=p,
                close=p, volume=1e9) for i, p in enumerate(prices)]  # fmt: skip


def _healthy() -> list[PolicySpec]:
    return [
        PolicySpec("sma", SmaCross(3, 8), ["X"], sizer=FixedUnits(10)),
        PolicySpec("flip", FlipFlopper(size=3.0), ["X"]),
    ]


def _session(specs: list[PolicySpec], path: Path, bars: list[Bar], **engine: Any) -> dict[str, Any]:
    """Run the engine over ``bars``; return its strategies, health and open orders at the end."""

    async def run() -> dict[str, Any]:
        broker = PaperBroker(COSTS, starting_cash=CASH)
        live = Engine(broker=broker, feed=IterableFeed(bars), journal=path, cash=CASH,
                      policies=specs, risk=RISK, **engine)  # fmt: skip
        await live.start()
        await live.run_until_idle(timeout=60)
        seen = {
            "strategies": {s["name"]: s for s in live.list_strategies()},
            "health": live.health(),
            "open": [s.order.client_order_id for s in live.book.open_orders()],
        }
        await live.stop()
        return seen

    return asyncio.run(run())


def _fills(path: Path, policy: str) -> list[tuple[Any, ...]]:
    with Journal(path, readonly=True) as journal:
        owner = journal.fill_policies()
        return [
            (f.ts, f.symbol, str(f.side), f.qty, f.price, f.fee)
            for f in journal.fills()
            if owner[f.fill_id] == policy
        ]


def _strategy_events(path: Path) -> list[dict[str, Any]]:
    with Journal(path, readonly=True) as journal:
        return [e.payload for e in journal.events_after(0, limit=100_000, kind="strategy")]


def _solo_fills(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    solo = {}
    for spec in _healthy():
        path = tmp_path / f"solo-{spec.name}.db"
        _session([spec], path, _bars(PRICES))
        solo[spec.name] = _fills(path, spec.name)
    return solo


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, ...]]]:
    return _solo_fills(tmp_path_factory.mktemp("solo"))


BAD = {
    "exception": (lambda: PolicySpec("bad", Raiser(at=AT), ["X"]), "RuntimeError"),
    "out_of_range": (lambda: PolicySpec("bad", BadTarget(2.0, LAST), ["X"]), "2.0"),
    "infinite": (lambda: PolicySpec("bad", BadTarget(-math.inf, LAST), ["X"]), "-inf"),
    "over_budget": (
        lambda: PolicySpec("bad", Sluggish(at=AT, seconds=0.15), ["X"], budget=0.05),
        "over its 50 ms budget",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_failing_strategy_leaves_the_others_their_solo_fills(
    case: str, solo: dict[str, list[tuple[Any, ...]]], tmp_path: Path
) -> None:
    make, says = BAD[case]
    path = tmp_path / "three.db"
    seen = _session([*_healthy(), make()], path, _bars(PRICES))

    for name, fills in solo.items():
        assert len(fills) > 4
        assert _fills(path, name) == fills  # exactly: the same bars, prices, sizes and fees
        assert seen["strategies"][name]["state"] == "running"
    bad = seen["strategies"]["bad"]
    assert bad["state"] == "failed" and says in bad["reason"]
    assert bad["since"] == AT * STEP
    assert seen["health"]["strategies"] == {"sma": "running", "flip": "running", "bad": "failed"}
    assert seen["health"]["ready"] is True  # the engine trades on
    # the fills it had before it failed, and none after
    assert all(ts <= AT * STEP for ts, *_ in _fills(path, "bad"))
    [event] = _strategy_events(path)
    assert event["strategy"] == "bad" and event["state"] == "failed" and says in event["reason"]
    assert event["bar_ts"] == AT * STEP
    if case == "over_budget":
        assert event["frame"] is None  # it did not raise: it was slow
    else:
        frame = event["frame"]
        assert set(frame) == {"file", "line", "function"}  # where, never its locals
        assert isinstance(frame["line"], int) and frame["file"].endswith(".py")


def test_the_exception_names_its_last_frame_and_cancels_its_working_orders(
    tmp_path: Path,
) -> None:
    path = tmp_path / "raise.db"
    seen = _session([*_healthy(), PolicySpec("bad", Raiser(at=AT), ["X"])], path, _bars(PRICES))
    [event] = _strategy_events(path)
    assert event["error"] == "RuntimeError"
    assert event["reason"] == f"RuntimeError: a bug on decision {AT}"
    assert event["frame"]["function"] == "misbehave"
    assert event["frame"]["file"].endswith("_failures.py")  # houseedge.chaos
    with Journal(path, readonly=True) as journal:
        states = journal.rebuild().orders
    resting = [s for oid, s in states.items() if oid == "raiser-1"]  # its limit buy at half price
    assert [s.status for s in resting] == [OrderStatus.CANCELLED]
    assert not any(oid.startswith("raiser-") for oid in seen["open"])


def test_a_failed_strategy_stays_failed_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    _session([*_healthy(), PolicySpec("bad", Raiser(at=AT), ["X"])], path, _bars(PRICES[:80]))
    again = Raiser(at=10_000)
    seen = _session(
        [*_healthy(), PolicySpec("bad", again, ["X"])], path, _bars(PRICES[80:], start=80)
    )
    assert again.calls == 0  # it made no decision after the restart
    bad = seen["strategies"]["bad"]
    assert bad["state"] == str(StrategyState.FAILED)
    assert bad["reason"] == f"RuntimeError: a bug on decision {AT}"
    assert seen["health"]["strategies"]["bad"] == "failed"
    assert seen["strategies"]["sma"]["decisions"] == 80  # the others trade on after it
    assert len(_strategy_events(path)) == 1  # the event is the journal's, not written again


def test_a_strategys_own_budget_overrides_the_engines_default(tmp_path: Path) -> None:
    slow = PolicySpec("slow", Sluggish(at=5, seconds=0.05), ["X"])
    seen = _session([slow], tmp_path / "budget.db", _bars(PRICES[:10]), decision_budget=0.01)
    assert seen["strategies"]["slow"]["state"] == "failed"
    assert seen["strategies"]["slow"]["budget_s"] == 0.01
    roomy = PolicySpec("slow", Sluggish(at=5, seconds=0.05), ["X"], budget=2.0)
    seen = _session([roomy], tmp_path / "roomy.db", _bars(PRICES[:10]), decision_budget=0.01)
    assert seen["strategies"]["slow"]["state"] == "running"
    assert seen["strategies"]["slow"]["decisions"] == 10


def test_the_service_lists_each_strategy_with_its_state(tmp_path: Path) -> None:
    async def run() -> tuple[int, dict[str, Any], dict[str, Any]]:
        specs = [*_healthy(), PolicySpec("bad", Raiser(at=AT), ["X"])]
        live = Engine(broker=PaperBroker(COSTS, starting_cash=CASH),
                      feed=IterableFeed(_bars(PRICES[:60])), journal=tmp_path / "svc.db",
                      cash=CASH, policies=specs, risk=RISK)  # fmt: skip
        await live.start()
        await live.run_until_idle(timeout=60)
        service = Service(live, ServiceSettings(port=0))
        await service.start()
        try:
            async with aiohttp.ClientSession(service.url) as http:
                async with http.get("/strategies") as response:
                    status, listing = response.status, await response.json()
                async with http.get("/health") as response:
                    health = await response.json()
        finally:
            await service.drain()
            await live.stop()
        return status, listing, health

    status, listing, health = asyncio.run(run())
    assert status == 200
    by_name = {s["name"]: s for s in listing["strategies"]}
    assert [by_name[n]["state"] for n in ("sma", "flip", "bad")] == ["running", "running", "failed"]
    assert by_name["bad"]["reason"] == f"RuntimeError: a bug on decision {AT}"
    assert by_name["sma"]["last_decision"]["ts"] == 60 * STEP
    assert set(by_name["flip"]["positions"]) == {"X"}
    assert isinstance(by_name["flip"]["pnl"], float)
    assert health["engine"]["strategies"]["bad"] == "failed"


def test_a_nan_target_is_flat_live_as_in_the_backtest(tmp_path: Path) -> None:
    """NaN is "no opinion" in every engine: the strategy goes flat and keeps running."""
    path = tmp_path / "nan.db"
    seen = _session(
        [*_healthy(), PolicySpec("bad", BadTarget(math.nan, LAST), ["X"])], path, _bars(PRICES)
    )
    assert seen["strategies"]["bad"]["state"] == "running"
    assert _strategy_events(path) == []
    fills = _fills(path, "bad")
    held = sum(qty if side == "buy" else -qty for _, _, side, qty, *_ in fills)
    assert held == 0  # the NaN target flattened it
