"""Misbehaving policies through the real engine: which limit stops each, no hard limit ever
exceeded (checked from the journal alone), and the ledger exact.

The policies are :mod:`houseedge.chaos`'s, the limits those of the risk worker's harness
(``tests/integration/test_misbehaving_policies.py``), but here they run in the engine: bars every
250 ms of market time through the paper broker (orders fill at the next bar's open with a 10 bp
fee), the policy's own risk budget, the journal, the exact ledger.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from houseedge.chaos import (
    FlipFlopper,
    RiskIgnorant,
    Runaway,
    SlowLeak,
    VolatilityAmplifier,
)
from houseedge.core.costs import LinearCostModel
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Bar, Fill
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.instruments import cash_units, to_decimal
from houseedge.live.journal import Journal
from houseedge.live.journal.ledger import Ledger
from houseedge.live.journal.state import LedgerState
from houseedge.live.paper import PaperBroker
from tests.integration.test_misbehaving_policies import BASE, CASH, STEP, walk

LIMITS = RiskLimits.from_config(BASE)
COSTS = LinearCostModel(commission_bps=10)  # the harness's 0.1% fee


@dataclass
class Outcome:
    rejections: list[tuple[int, str]] = field(default_factory=list)  # (ts, check)
    breaker: list[tuple[str, str]] = field(default_factory=list)  # (kind, state)
    breaker_ts: list[int] = field(default_factory=list)
    strategy_events: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[tuple[int, float]] = field(default_factory=list)  # (ts, qty)
    fills: list[Fill] = field(default_factory=list)
    state: LedgerState | None = None
    worst_long: float = 0.0
    worst_short: float = 0.0
    max_open: int = 0
    broker_position: float = 0.0
    broker_cash: float = 0.0

    @property
    def checks(self) -> Counter[str]:
        return Counter(check for _, check in self.rejections)

    @property
    def position(self) -> Decimal:
        assert self.state is not None
        return self.state.ledger.position("X")


def _bars(prices: list[float]) -> list[Bar]:
    return [Bar(symbol="X", timeframe="250ms", ts=i * STEP, open=p, high=p, low=p, close=p,
                volume=1e9) for i, p in enumerate(prices)]  # fmt: skip


def run(policy: Any, prices: list[float], tmp_path: Path) -> Outcome:
    path = tmp_path / f"{policy.name}.db"
    broker = PaperBroker(COSTS, starting_cash=CASH)

    async def session() -> None:
        engine = Engine(broker=broker, feed=IterableFeed(_bars(prices)), journal=path, cash=CASH,
                        policies=[PolicySpec(policy.name, policy, ["X"], limits=LIMITS)],
                        risk=RiskLimits(max_orders_per_window=10_000, price_band=1.0))  # fmt: skip
        await engine.start()
        await engine.run_until_idle(timeout=120)
        await engine.stop()

    asyncio.run(session())
    out = Outcome(broker_position=asyncio.run(broker.positions()).get("X", _Flat()).qty,
                  broker_cash=broker.cash)  # fmt: skip
    with Journal(path, readonly=True) as journal:
        _read_events(journal, out)
        out.accepted = [(j.order.ts, float(j.order.qty)) for j in journal.orders()]
        out.fills = journal.fills()
        track = lambda _, __, state: _exposure(state, out)  # noqa: E731
        out.state = journal.rebuild(ledger=Ledger(cash=CASH), on_report=track)
        _exposure(out.state, out)
    return out


class _Flat:
    qty = 0.0


def _read_events(journal: Journal, out: Outcome) -> None:
    after = 0
    while page := journal.events_after(after, limit=1000):
        for event in page:
            p = event.payload
            if event.kind == "risk" and p.get("type") == "rejected":
                out.rejections.append((event.ts, p["check"]))
            elif event.kind == "risk":
                out.breaker.append((p["kind"], p["state"]))
                out.breaker_ts.append(event.ts)
            elif event.kind == "strategy":
                out.strategy_events.append(p)
        after = page[-1].id


def _exposure(state: LedgerState, out: Outcome) -> None:
    """Track the worst case the journal ever shows: position plus every working order."""
    working = state.open_orders()
    position = float(state.ledger.position("X"))
    buys = sum(s.remaining for s in working if s.order.side == "buy")
    sells = sum(s.remaining for s in working if s.order.side == "sell")
    out.worst_long = max(out.worst_long, position + buys)
    out.worst_short = max(out.worst_short, sells - position)
    out.max_open = max(out.max_open, len(working))


def assert_hard_limits_held(out: Outcome) -> None:
    # the gate stops these, not isolation: the strategy is never failed and decides to the end
    assert out.strategy_events == []
    assert out.worst_long <= LIMITS.max_long + 1e-9
    assert out.worst_short <= LIMITS.max_short + 1e-9
    assert out.max_open <= LIMITS.max_open_orders
    assert all(qty <= LIMITS.max_order_qty + 1e-9 for _, qty in out.accepted)
    times, window = sorted(t for t, _ in out.accepted), round(LIMITS.order_window_s * 10**9)
    start = 0
    for end, t in enumerate(times):  # at most N orders journaled in any window (t - W, t]
        while times[start] <= t - window:
            start += 1
        assert end - start + 1 <= LIMITS.max_orders_per_window


def assert_ledger_exact(out: Outcome) -> None:
    assert out.state is not None
    assert out.position == to_decimal(out.broker_position)  # the venue's position, exactly
    spent = sum(
        (cash_units(to_decimal(f.qty) * to_decimal(f.price)) * f.side.sign for f in out.fills), 0
    )
    fees = sum((cash_units(f.fee) for f in out.fills), 0)
    exact = cash_units(CASH) - spent - fees
    assert out.state.ledger.snapshot().cash == Decimal(exact).scaleb(-18)
    assert float(out.state.ledger.snapshot().cash) == pytest.approx(out.broker_cash, abs=1e-6)


def test_runaway_is_stopped_by_open_orders_rate_and_position(tmp_path: Path) -> None:
    out = run(Runaway(per_bar=100), walk(40, seed=1), tmp_path)
    assert out.rejections[0][1] == "max_open_orders"  # the 11th order of the first bar
    assert {"max_open_orders", "order_rate", "max_position"} <= set(out.checks)
    assert out.position == LIMITS.max_long  # it reached the long limit and nothing more
    assert_hard_limits_held(out)
    assert_ledger_exact(out)


def test_risk_ignorant_is_stopped_by_size_then_its_loss_budget(tmp_path: Path) -> None:
    out = run(RiskIgnorant(qty=2.0), walk(80, seed=2, drift=-0.003), tmp_path)
    assert out.rejections[0][1] == "max_order_qty"  # doubling past 30 units an order
    assert out.breaker[:2] == [("policy_loss", "reduce_only"), ("policy_loss", "halted")]
    assert out.checks["reduce_only"] > 0 and out.checks["halted"] > 0
    halted_at = out.breaker_ts[1]
    assert all(t < halted_at for t, _ in out.accepted)  # nothing passed once halted
    assert_hard_limits_held(out)
    assert_ledger_exact(out)


def test_volatility_amplifier_is_stopped_by_order_size_then_the_breaker(tmp_path: Path) -> None:
    calm, wild = walk(30, seed=3, vol=0.001), walk(60, seed=4, vol=0.02)
    out = run(VolatilityAmplifier(), calm + [round(p * calm[-1] / wild[0], 2) for p in wild],
              tmp_path)  # fmt: skip
    assert out.rejections[0][1] == "max_order_qty"
    assert out.rejections[0][0] > 30 * STEP  # calm: small sizes all pass; wild: they blow up
    # its losses trip the breaker: reduce-only first, then halted (here its own loss budget
    # goes before the account's drawdown: fills come a bar later than in the risk harness)
    assert [state for _, state in out.breaker] == ["reduce_only", "halted"]
    assert {kind for kind, _ in out.breaker} <= {"drawdown", "policy_loss", "rapid_loss"}
    assert out.checks["reduce_only"] + out.checks["halted"] > 0
    assert all(t < out.breaker_ts[-1] for t, _ in out.accepted)  # nothing passed once halted
    assert_hard_limits_held(out)
    assert_ledger_exact(out)


def test_slow_leak_is_stopped_by_its_policy_loss_budget(tmp_path: Path) -> None:
    out = run(SlowLeak(qty=20.0), walk(200, seed=5, vol=0.0005), tmp_path)
    assert out.breaker == [("policy_loss", "reduce_only")]
    assert set(out.checks) == {"reduce_only"}  # every buy from then on
    assert out.position == 0  # reduce-only let it sell out, then nothing else passed
    loss = CASH - float(out.state.ledger.snapshot().equity)
    assert BASE["policy_loss_soft"] <= loss < BASE["policy_loss_hard"]
    assert_hard_limits_held(out)
    assert_ledger_exact(out)


def test_flip_flopper_is_stopped_by_max_order_qty(tmp_path: Path) -> None:
    out = run(FlipFlopper(size=20.0), walk(60, seed=6), tmp_path)
    assert out.rejections[0][1] == "max_order_qty"  # the reversal needs 40 > 30
    assert set(out.checks) == {"max_order_qty"}
    assert abs(out.position) == 20
    assert_hard_limits_held(out)
    assert_ledger_exact(out)
