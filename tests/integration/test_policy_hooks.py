"""``on_fill`` and ``on_risk_breach``: the same calls in the event backtest and the live engine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from houseedge.core.risk.gate import RiskLimits
from houseedge.core.risk.monitors import RiskEvent
from houseedge.core.types import Fill, Order, PortfolioState
from houseedge.live.engine import PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.paper import PaperBroker
from houseedge.research.events import run_events
from tests.integration.test_engine import bars, engine_for

CLOSES = [10.0, 10.5, 11.0, 10.8, 10.2, 10.9, 11.4, 11.1, 10.7, 10.9, 11.2, 11.0]
SCRIPT = {1: ("buy", 3.0), 4: ("sell", 1.0), 6: ("buy", 2.0), 8: ("sell", 4.0)}


class Counting:
    """Trades a fixed script and records every fill (and breach) its hooks hear of."""

    name = "counting"

    def __init__(self, raise_on_fill: int | None = None) -> None:
        self.calls = 0
        self.fills: list[tuple[str, float, float, float]] = []
        self.breaches: list[RiskEvent] = []
        self.raise_on_fill = raise_on_fill

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
        (symbol,) = snapshot.bars
        self.calls += 1
        step = SCRIPT.get(self.calls)
        return [] if step is None else [context.order(symbol, step[0], step[1])]

    def on_fill(self, fill: Fill, portfolio: PortfolioState) -> None:
        held = portfolio.positions[fill.symbol].qty if fill.symbol in portfolio.positions else 0.0
        self.fills.append((str(fill.side), fill.qty, fill.price, held))
        if self.raise_on_fill == len(self.fills):
            msg = "hook bug"
            raise RuntimeError(msg)

    def on_risk_breach(self, breach: RiskEvent) -> None:
        self.breaches.append(breach)


def _frame() -> pl.DataFrame:
    rows = [
        {"symbol": b.symbol, "ts": b.ts, "open": b.open, "high": b.high, "low": b.low,
         "close": b.close, "volume": b.volume}
        for b in bars(CLOSES)
    ]  # fmt: skip
    return pl.DataFrame(rows).with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))


def _live(policy: Counting, path: Path, *, kill: bool = False) -> Any:
    async def session() -> Any:
        spec = PolicySpec("counting", policy, ["X"])
        engine = engine_for(PaperBroker(), IterableFeed(bars(CLOSES)), path, spec)
        await engine.start()
        await engine.run_until_idle(timeout=20)
        if kill:
            await engine.kill(operator="desk")
        strategies = engine.list_strategies()
        await engine.stop()
        return strategies

    return asyncio.run(session())


def test_on_fill_gets_the_same_calls_in_the_backtest_and_live(tmp_path: Path) -> None:
    research, live = Counting(), Counting()
    run_events(_frame(), research)
    _live(live, tmp_path / "j.db")
    assert len(research.fills) == len(SCRIPT)
    assert live.fills == research.fills
    assert [f[3] for f in live.fills] == [3.0, 2.0, 4.0, 0.0]


def test_a_raising_hook_fails_its_strategy_live_and_raises_in_the_backtest(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuntimeError, match="hook bug"):
        run_events(_frame(), Counting(raise_on_fill=2))
    live = Counting(raise_on_fill=2)
    (strategy,) = _live(live, tmp_path / "j.db")
    assert strategy["state"] == "failed" and "hook bug" in strategy["reason"]
    assert len(live.fills) == 2  # nothing after its failure


def test_on_risk_breach_hears_the_kill_live(tmp_path: Path) -> None:
    live = Counting()
    _live(live, tmp_path / "j.db", kill=True)
    assert [(b.kind, str(b.state)) for b in live.breaches] == [("kill", "halted")]


def test_the_var_monitor_halts_the_engine_and_tells_the_policy(tmp_path: Path) -> None:
    class Long(Counting):
        def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
            (symbol,) = snapshot.bars
            self.calls += 1
            return [context.order(symbol, "buy", 1000)] if self.calls == 1 else []

    closes = [10.0, 10.0, 10.1, 10.0, 10.1, 10.0, 8.0, 8.1, 8.0]
    limits = RiskLimits(var_hard=0.01, var_window=4, var_confidence=0.9)
    policy = Long()

    async def session() -> Any:
        spec = PolicySpec("long", policy, ["X"])
        engine = engine_for(
            PaperBroker(), IterableFeed(bars(closes)), tmp_path / "j.db", spec, risk=limits
        )
        await engine.start()
        await engine.run_until_idle(timeout=20)
        risk = engine.risk()
        await engine.stop()
        return risk

    risk = asyncio.run(session())
    assert risk["state"] == "halted" and risk["tripped"] == {"var": "halted"}
    assert [(b.kind, str(b.state)) for b in policy.breaches] == [("var", "halted")]
