"""Misbehaving policies against the risk gate: which limit stops each, no hard limit ever exceeded.

Until the live engine exists, a small deterministic harness plays the engine: each tick it marks
equity (``on_mark``), asks the policy for orders, passes every order through ``RiskGate.check``
with the figures of the book (position, gross, working orders of this tick and their pending
quantity), then fills the accepted orders at the tick's price with a proportional fee
(``on_fill``). Everything is recorded and checked afterwards.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from houseedge.chaos import (
    FlipFlopper,
    RiskIgnorant,
    Runaway,
    SlowLeak,
    VolatilityAmplifier,
)
from houseedge.core.risk.gate import BreakerState, RiskDecision, RiskEvent, RiskGate, RiskLimits
from houseedge.core.types import Fill, MarketSnapshot, Order, PortfolioState, Position, Side

SEC = 1_000_000_000
STEP = SEC // 4
CASH = 10_000.0
FEE = 0.001
BASE: dict[str, Any] = {
    "max_long": 50, "max_short": 50, "max_order_qty": 30, "max_order_notional": 3_500,
    "max_gross_notional": 5_000, "max_open_orders": 10, "max_open_orders_per_symbol": 10,
    "max_orders_per_window": 20, "order_window_s": 1.0, "price_band": 0.05,
    "drawdown_soft": 0.02, "drawdown_hard": 0.04, "daily_loss_hard": 0.05,
    "rapid_loss_hard": 0.03, "rapid_loss_window_s": 5.0,
    "policy_loss_soft": 60.0, "policy_loss_hard": 120.0,
}  # fmt: skip


@dataclass
class Run:
    limits: RiskLimits
    decisions: list[tuple[int, Order, RiskDecision]] = field(default_factory=list)
    events: list[RiskEvent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    position: float = 0.0
    cash: float = CASH
    fees: float = 0.0
    worst_long: float = 0.0  # largest position + working buys seen
    worst_short: float = 0.0
    max_gross: float = 0.0
    max_open: int = 0

    @property
    def rejections(self) -> Counter[str]:
        return Counter(d.check for _, _, d in self.decisions if not d.accepted)

    @property
    def accepted_times(self) -> list[int]:
        return [t for t, _, d in self.decisions if d.accepted]

    def first_rejection(self) -> str:
        return next(d.check for _, _, d in self.decisions if not d.accepted)


def play(policy: Any, prices: list[float], limits: RiskLimits, symbol: str = "X") -> Run:
    gate, run = RiskGate(limits), Run(limits)
    for i, price in enumerate(prices):
        now = i * STEP
        equity = run.cash + run.position * price
        run.events += gate.on_mark(equity, now, policy_pnl={policy.name: equity - CASH})
        held = {symbol: Position(symbol=symbol, qty=run.position)} if run.position else {}
        portfolio = PortfolioState(ts=now, cash=run.cash, equity=equity, positions=held)
        working: list[Order] = []
        for k, order in enumerate(
            policy.decide(portfolio, MarketSnapshot(ts=now, last={symbol: price}), None)
        ):
            buys = math.fsum(o.qty for o in working if o.side is Side.BUY)
            sells = math.fsum(o.qty for o in working if o.side is Side.SELL)
            decision = gate.check(
                order, now_ns=now + k, position=run.position, last_price=price,
                gross_notional=abs(run.position) * price, open_orders=len(working),
                symbol_open_orders=len(working), pending_buy=buys, pending_sell=sells,
                policy=policy.name,
            )  # fmt: skip
            run.decisions.append((now + k, order, decision))
            if decision.accepted:
                working.append(order)
                buys, sells = (
                    (buys + order.qty, sells)
                    if order.side is Side.BUY
                    else (buys, sells + order.qty)
                )
                run.worst_long = max(run.worst_long, run.position + buys)
                run.worst_short = max(run.worst_short, sells - run.position)
                run.max_open = max(run.max_open, len(working))
        for n, order in enumerate(working):
            fill = Fill(fill_id=f"f{i}-{n}", order_id=order.client_order_id, symbol=symbol,
                        side=order.side, qty=order.qty, price=price, fee=FEE * order.qty * price,
                        ts=now + STEP // 2)  # fmt: skip
            run.fills.append(fill)
            run.position += order.signed_qty
            run.cash -= order.signed_qty * price + fill.fee
            run.fees += fill.fee
            run.max_gross = max(run.max_gross, abs(run.position) * price)
            gate.on_fill(fill, policy=policy.name)
    return run


def assert_hard_limits_held(run: Run) -> None:
    lim = run.limits
    assert run.worst_long <= lim.max_long + 1e-9 and run.worst_short <= lim.max_short + 1e-9
    assert run.max_gross <= lim.max_gross_notional * (1 + 1e-9)
    assert run.max_open <= lim.max_open_orders
    times, window = run.accepted_times, round(lim.order_window_s * SEC)
    start = 0
    for end, t in enumerate(times):  # at most N accepted in any window (t - W, t]
        while times[start] <= t - window:
            start += 1
        assert end - start + 1 <= lim.max_orders_per_window
    for _, order, decision in run.decisions:
        if decision.accepted:
            assert order.qty <= lim.max_order_qty + 1e-9


def assert_ledger_exact(run: Run) -> None:
    signed = [f.qty * f.side.sign for f in run.fills]
    assert math.fsum(signed) == run.position
    flows = math.fsum(-q * f.price for q, f in zip(signed, run.fills, strict=True))
    fees = math.fsum(f.fee for f in run.fills)
    assert run.cash == pytest.approx(CASH + flows - fees, rel=0, abs=1e-6)
    assert run.fees == pytest.approx(fees, rel=1e-12)


def walk(
    n: int, seed: int, vol: float = 0.002, drift: float = 0.0, start: float = 100.0
) -> list[float]:
    rng, price, out = random.Random(seed), start, []
    for _ in range(n):
        out.append(round(price, 2))
        price *= math.exp(drift + rng.gauss(0.0, vol))
    return out


def kinds(run: Run) -> list[tuple[str, BreakerState]]:
    return [(e.kind, e.state) for e in run.events]


def test_runaway_is_stopped_by_open_orders_rate_and_position() -> None:
    run = play(Runaway(per_bar=100), walk(40, seed=1), RiskLimits.from_config(BASE))
    assert run.first_rejection() == "max_open_orders"  # the 11th order of the first bar
    assert {"max_open_orders", "order_rate", "max_position"} <= set(run.rejections)
    assert run.position == 50  # it reached the long limit and nothing more
    cumulative = itertools.accumulate(f.qty for f in run.fills)
    full_ts = next(f.ts for f, held in zip(run.fills, cumulative, strict=True) if held == 50)
    after = [d.check for t, _, d in run.decisions if t > full_ts]
    assert after and set(after) == {"max_position"}  # then every order is refused by it
    assert_hard_limits_held(run)
    assert_ledger_exact(run)


def test_risk_ignorant_doubling_is_stopped_by_size_then_the_breaker() -> None:
    prices = walk(80, seed=2, drift=-0.003)
    run = play(RiskIgnorant(qty=2.0), prices, RiskLimits.from_config(BASE))
    assert run.first_rejection() == "max_order_qty"  # doubling past 30 units an order
    assert kinds(run)[:2] == [
        ("policy_loss", BreakerState.REDUCE_ONLY),
        ("policy_loss", BreakerState.HALTED),
    ]
    assert run.rejections["reduce_only"] > 0 and run.rejections["halted"] > 0
    halted_at = next(e.ts for e in run.events if e.state is BreakerState.HALTED)
    assert all(not d.accepted for t, _, d in run.decisions if t >= halted_at)
    assert_hard_limits_held(run)
    assert_ledger_exact(run)


def test_volatility_amplifier_is_stopped_by_order_size_then_the_breaker() -> None:
    calm, wild = walk(30, seed=3, vol=0.001), walk(60, seed=4, vol=0.02)
    prices = calm + [round(p * calm[-1] / wild[0], 2) for p in wild]
    run = play(VolatilityAmplifier(), prices, RiskLimits.from_config(BASE))
    assert run.first_rejection() == "max_order_qty"
    first = next(t for t, _, d in run.decisions if not d.accepted)
    assert first > 30 * STEP  # calm: small sizes all pass; wild: sizes blow up
    assert ("drawdown", BreakerState.REDUCE_ONLY) in kinds(run)
    assert kinds(run)[-1] == ("policy_loss", BreakerState.HALTED)
    assert_hard_limits_held(run)
    assert_ledger_exact(run)


def test_slow_leak_is_stopped_by_its_policy_loss_budget() -> None:
    run = play(SlowLeak(qty=20.0), walk(200, seed=5, vol=0.0005), RiskLimits.from_config(BASE))
    assert kinds(run) == [("policy_loss", BreakerState.REDUCE_ONLY)]
    assert run.events[0].policy == "slow_leak"
    assert set(run.rejections) == {"reduce_only"}  # its every buy from then on
    assert run.position == 0  # reduce-only let it sell out, then nothing else passed
    loss = CASH - run.cash
    assert BASE["policy_loss_soft"] <= loss < BASE["policy_loss_hard"]  # stopped at the soft budget
    assert_hard_limits_held(run)
    assert_ledger_exact(run)


def test_flip_flopper_is_stopped_by_max_order_qty() -> None:
    run = play(FlipFlopper(size=20.0), walk(60, seed=6), RiskLimits.from_config(BASE))
    assert run.first_rejection() == "max_order_qty"  # the reversal needs 40 > 30
    assert set(run.rejections) == {"max_order_qty"}
    assert abs(run.position) == 20
    assert_hard_limits_held(run)
    assert_ledger_exact(run)


@pytest.mark.parametrize(
    "policy", [Runaway(), RiskIgnorant(), VolatilityAmplifier(), SlowLeak(), FlipFlopper()]
)
def test_kill_with_flatten_leaves_only_reducing_orders(policy: Any) -> None:
    prices = walk(20, seed=7)
    limits = RiskLimits.from_config(BASE)
    run = play(policy, prices, limits)
    gate = RiskGate(limits)
    gate.kill(flatten=True)
    for order in policy.decide(
        PortfolioState(ts=0, cash=run.cash, equity=run.cash, positions={}),
        MarketSnapshot(ts=0, last={"X": prices[-1]}),
        None,
    ):
        assert gate.check(order, now_ns=0, position=0.0, last_price=prices[-1]).check == "halted"
