"""The risk gate: each pre-trade check, exact comparisons, breaker, monitors, kill and reset."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
import pytest

from houseedge.core.risk.gate import BreakerState, RiskGate, RiskLimits, SymbolLimits
from houseedge.core.types import Fill, Order, OrderType, Side
from houseedge.errors import ConfigError, RiskRejected

S = BreakerState
SEC = 1_000_000_000
DAY = 86_400 * SEC
_ids = itertools.count(1)


def order(side: str = "buy", qty: float = 1.0, symbol: str = "X", **extra: Any) -> Order:
    return Order(client_order_id=f"o{next(_ids)}", symbol=symbol, side=Side(side), qty=qty, **extra)


def check(gate: RiskGate, o: Order, **figures: Any) -> tuple[bool, str, str]:
    kwargs: dict[str, Any] = {"now_ns": 0, "position": 0.0, "last_price": 100.0} | figures
    d = gate.check(o, **kwargs)
    return d.accepted, d.check, d.detail


# --- limits from config -------------------------------------------------------------------


def test_limits_from_config_merge_symbols_and_policies() -> None:
    table = {
        "max_long": 100,
        "max_short": 50,
        "symbols": {"X": {"max_long": 10, "lot_size": 1}},
        "policies": {
            "p": {"max_short": 5, "symbols": {"X": {"max_short": 2}, "Y": {"max_long": 3}}}
        },
    }
    base = RiskLimits.from_config(table)
    assert (base.max_long, base.max_short) == (100, 50)
    assert base.for_symbol("X", "max_long") == 10 and base.for_symbol("Z", "max_long") == 100
    p = RiskLimits.from_config(table, policy="p")
    assert p.for_symbol("X", "max_long") == 10  # kept from the default table's symbol entry
    assert p.for_symbol("X", "max_short") == 2
    assert p.for_symbol("Z", "max_short") == 5
    assert p.for_symbol("Y", "max_long") == 3
    assert set(RiskLimits.policies_from_config(table)) == {"p"}


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"max_lng": 1}, "max_lng"),
        ({"max_long": -1}, "max_long"),
        ({"drawdown_soft": 0.2, "drawdown_hard": 0.1}, "drawdown_soft"),
        ({"session_start": "25:00"}, "session_start"),
        ({"symbols": {"X": {"max_long": 0}}}, "symbols.X.max_long"),
        ({"max_open_orders": "many"}, "max_open_orders"),
    ],
)
def test_bad_config_raises_config_error_naming_the_field(
    table: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        RiskLimits.from_config(table)


# --- each pre-trade check -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "o", "figures", "name", "words"),
    [
        ({"max_long": 10}, order(qty=11), {}, "max_position", ["11", "max_long is 10"]),
        (
            {"max_short": 10},
            order("sell", 4),
            {"position": -7.0},
            "max_position",
            ["-11", "max_short is 10"],
        ),
        ({"max_long_notional": 1000}, order(qty=11), {}, "max_position_notional", ["1100"]),
        ({"max_order_qty": 5}, order(qty=6), {}, "max_order_qty", ["6", "5"]),
        ({"max_order_notional": 500}, order(qty=6), {}, "max_order_notional", ["600", "500"]),
        (
            {"max_gross_notional": 1000},
            order(qty=2),
            {"gross_notional": 900.0},
            "max_gross_notional",
            ["1100", "1000"],
        ),
        ({"max_open_orders": 3}, order(), {"open_orders": 3}, "max_open_orders", ["3"]),
        (
            {"max_open_orders_per_symbol": 2},
            order(),
            {"symbol_open_orders": 2},
            "max_open_orders_symbol",
            ["2"],
        ),
        (
            {"price_band": 0.05},
            order(type=OrderType.LIMIT, limit_price=106.0),
            {},
            "price_band",
            ["106", "6.00%", "5.00%"],
        ),
        (
            {"price_band": 0.05},
            order(type=OrderType.STOP, stop_price=94.0),
            {},
            "price_band",
            ["94"],
        ),
        ({}, order(), {"last_price": None}, "no_last_price", ["None"]),
        ({}, order(), {"last_price": float("nan")}, "no_last_price", ["nan"]),
    ],
)
def test_each_check_rejects_and_names_ask_and_limit(
    limits: dict[str, Any], o: Order, figures: dict[str, Any], name: str, words: list[str]
) -> None:
    gate = RiskGate(RiskLimits.from_config(limits))
    accepted, got, detail = check(gate, o, **figures)
    assert (accepted, got) == (False, name)
    assert all(w in detail for w in words), detail
    assert gate.snapshot().rejected == {name: 1}
    kwargs: dict[str, Any] = {"now_ns": 0, "position": 0.0, "last_price": 100.0} | figures
    with pytest.raises(RiskRejected) as info:
        gate.check(o, **kwargs).raise_if_rejected()
    assert info.value.check == name


def test_at_limit_passes_despite_float_noise_and_one_lot_over_fails() -> None:
    gate = RiskGate(RiskLimits(max_long=0.3, max_gross_notional=30.0))
    assert check(gate, order(qty=0.2), position=0.1, gross_notional=10.000000000000002)[0]
    lots = RiskGate(RiskLimits(symbols={"X": SymbolLimits(max_long=100, lot_size=1)}))
    assert check(lots, order(qty=100))[0]
    assert check(lots, order(qty=101))[1] == "max_position"
    coin = RiskGate(RiskLimits(max_long=1.0, lot_size=1e-8))
    assert check(coin, order(qty=0.7), position=0.1 + 0.2)[0]  # 1.0000000000000000x
    assert check(coin, order(qty=0.7), position=0.3)[0]  # 0.3 + 0.7 is exactly the limit
    assert check(coin, order(qty=0.70000001), position=0.3)[1] == "max_position"


def test_working_orders_count_in_the_worst_case_position() -> None:
    gate = RiskGate(RiskLimits(max_long=10))
    assert check(gate, order(qty=4), position=3.0, pending_buy=3.0)[0]
    assert check(gate, order(qty=4), position=3.0, pending_buy=4.0)[1] == "max_position"
    # pending sells do not excuse a buy: the sells may be cancelled
    assert check(gate, order(qty=8), position=3.0, pending_sell=5.0)[1] == "max_position"


def test_breached_limit_leaves_reduce_only_for_that_symbol() -> None:
    gate = RiskGate(RiskLimits(max_long=10, max_gross_notional=1000))
    # the position is over the (lowered) limit: selling passes, buying does not
    assert check(gate, order("sell", 5), position=15.0, gross_notional=1500.0)[0]
    assert check(gate, order(qty=1), position=15.0, gross_notional=1500.0)[1] == "max_position"
    # gross over the limit: only reducing orders pass, in any symbol
    ok, name, _ = check(gate, order(qty=1, symbol="Y"), position=0.0, gross_notional=1500.0)
    assert (ok, name) == (False, "max_gross_notional")
    # flipping through zero is not reducing
    assert check(gate, order("sell", 30), position=15.0, gross_notional=1500.0)[0] is False


def test_order_rate_is_a_rolling_window() -> None:
    gate = RiskGate(RiskLimits(max_orders_per_window=3, order_window_s=1.0))
    times = [0, 100, 200]
    assert all(check(gate, order(), now_ns=t)[0] for t in times)
    assert check(gate, order(), now_ns=SEC - 1)[1] == "order_rate"  # rejects do not count
    assert check(gate, order(), now_ns=SEC)[0]  # the first left the window (t - 1 s, t]
    assert check(gate, order(), now_ns=SEC + 50)[1] == "order_rate"
    assert gate.check(order(), now_ns=SEC + 100, position=0.0, last_price=100.0, record=False)
    assert gate.snapshot(SEC + 100).orders_in_window == 2  # 200 and SEC


def test_policy_tables_tighten_their_own_orders_and_share_the_account_rate() -> None:
    table = {
        "max_orders_per_window": 3,
        "policies": {"p": {"max_long": 1, "max_orders_per_window": 2}},
    }
    gate = RiskGate(RiskLimits.from_config(table), policies=RiskLimits.policies_from_config(table))
    assert check(gate, order(qty=2), policy="p")[1] == "max_position"
    assert check(gate, order(qty=2), policy="q")[0]  # unknown policies use the defaults
    assert check(gate, order(), policy="p")[0]
    assert check(gate, order(), policy="p")[0]
    assert check(gate, order(), policy="p")[1] == "order_rate"  # the policy's own window: 2
    assert check(gate, order())[1] == "order_rate"  # account: 3 accepted in the window


# --- breaker, kill, reset ----------------------------------------------------------------


def test_reduce_only_passes_only_reducing_orders() -> None:
    gate = RiskGate(RiskLimits(drawdown_soft=0.05))
    gate.on_mark(1000.0, 0)
    (event,) = gate.on_mark(949.0, 1)
    assert (event.kind, event.state, gate.state) == ("drawdown", S.REDUCE_ONLY, S.REDUCE_ONLY)
    assert check(gate, order(qty=1), position=5.0)[1] == "reduce_only"
    assert check(gate, order("sell", 5), position=5.0)[0]
    assert check(gate, order("sell", 6), position=5.0)[1] == "reduce_only"  # would flip
    assert check(gate, order("sell", 3), position=5.0, pending_sell=3.0)[1] == "reduce_only"
    assert check(gate, order("buy", 2), position=-5.0)[0]


def test_halted_accepts_nothing_until_a_flatten_is_requested() -> None:
    gate = RiskGate(RiskLimits(drawdown_hard=0.1))
    gate.on_mark(1000.0, 0)
    assert [e.state for e in gate.on_mark(899.0, 1)] == [S.HALTED]
    assert check(gate, order("sell", 5), position=5.0)[1] == "halted"
    event = gate.kill(flatten=True, now_ns=2)
    assert (event.kind, gate.kill_requested, gate.flatten_requested) == ("kill", True, True)
    assert check(gate, order("sell", 5), position=5.0)[0]
    assert check(gate, order("buy", 1), position=5.0)[1] == "halted"
    no_flatten = RiskGate(RiskLimits(flatten_when_halted=False))
    no_flatten.kill(flatten=True)
    assert check(no_flatten, order("sell", 5), position=5.0)[1] == "halted"


def test_kill_without_flatten_and_operator_reset() -> None:
    gate = RiskGate(RiskLimits(drawdown_soft=0.05, drawdown_hard=0.2))
    gate.on_mark(1000.0, 0)
    gate.kill(flatten=False, reason="manual")
    assert gate.state is S.HALTED and not gate.flatten_requested
    assert check(gate, order("sell", 1), position=5.0)[1] == "halted"
    gate.on_mark(900.0, 1)  # a 10% drawdown while halted changes nothing (latched at halted)
    with pytest.raises(ValueError, match="operator"):
        gate.reset("  ")
    event = gate.reset("alice", reason="checked")
    assert (event.kind, event.state, "alice" in event.detail) == ("reset", S.NORMAL, True)
    assert gate.state is S.NORMAL and not gate.kill_requested
    # re-based at 900: another 4% loss does not trip, 5% does
    assert gate.on_mark(865.0, 2) == ()
    assert [e.kind for e in gate.on_mark(855.0, 3)] == ["drawdown"]


def test_breaker_latches_and_only_escalates() -> None:
    gate = RiskGate(RiskLimits(drawdown_soft=0.05, drawdown_hard=0.1))
    gate.on_mark(100.0, 0)
    assert [e.state for e in gate.on_mark(94.0, 1)] == [S.REDUCE_ONLY]
    assert gate.on_mark(93.0, 2) == ()  # same level: no new event
    assert gate.on_mark(120.0, 3) == () and gate.state is S.REDUCE_ONLY
    assert [e.state for e in gate.on_mark(107.0, 4)] == [S.HALTED]  # 10.8% from the new peak


def test_daily_loss_rebases_at_the_session_boundary() -> None:
    start = 13 * 3600 * SEC + 30 * 60 * SEC
    gate = RiskGate(RiskLimits(daily_loss_soft=0.02, session_start="13:30"))
    gate.on_mark(1000.0, start - 10)  # previous session day
    gate.on_mark(990.0, start - 5)
    assert gate.on_mark(975.0, start + 1) == ()  # 1.5% below the day's open (990)
    (event,) = gate.on_mark(970.0, start + 2)
    assert event.kind == "daily_loss" and abs(event.value - 20 / 990) < 1e-12
    gate.reset("op")
    assert gate.on_mark(969.0, start + DAY + 1) == ()  # next day opens at 970
    assert [e.kind for e in gate.on_mark(950.0, start + DAY + 2)] == ["daily_loss"]


def test_rapid_loss_looks_only_at_the_window() -> None:
    gate = RiskGate(RiskLimits(rapid_loss_hard=0.03, rapid_loss_window_s=60))
    # a slow 1%-per-minute bleed never loses 3% within one minute
    equity = 1000.0
    for minute in range(10):
        assert gate.on_mark(equity, minute * 60 * SEC) == ()
        equity *= 0.99
    (event,) = gate.on_mark(equity * 0.96, 9 * 60 * SEC + 30 * SEC)
    assert (event.kind, event.state) == ("rapid_loss", S.HALTED)


def test_policy_loss_moves_only_that_policys_breaker() -> None:
    table = {
        "policy_loss_soft": 100,
        "policy_loss_hard": 200,
        "policies": {"big": {"policy_loss_hard": 1000}},
    }
    gate = RiskGate(RiskLimits.from_config(table), policies=RiskLimits.policies_from_config(table))
    gate.on_mark(1e4, 0, policy_pnl={"a": 50.0, "big": 0.0})
    events = gate.on_mark(1e4, 1, policy_pnl={"a": -60.0, "big": -300.0})
    assert sorted((e.policy, e.state) for e in events) == [
        ("a", S.REDUCE_ONLY),
        ("big", S.REDUCE_ONLY),
    ]
    assert gate.state is S.NORMAL
    assert check(gate, order(), policy="a")[1] == "reduce_only"
    assert check(gate, order(), policy="other")[0]
    assert gate.on_mark(1e4, 2, policy_pnl={"a": -151.0})[0].state is S.HALTED
    assert gate.snapshot().policy_losses["a"] == pytest.approx(201.0)


def test_snapshot_is_json_for_get_risk() -> None:
    gate = RiskGate(RiskLimits(max_long=1, drawdown_soft=0.1))
    check(gate, order(qty=2))
    check(gate, order(qty=1))
    gate.on_fill(Fill(fill_id="f", order_id="o", symbol="X", side="buy", qty=1, price=100.0))
    gate.on_mark(100.0, 0)
    gate.on_mark(80.0, 1)
    body = msgspec.json.decode(msgspec.json.encode(gate.snapshot()))
    assert body["state"] == "reduce_only" and body["rejected"] == {"max_position": 1}
    assert body["accepted"] == 1 and body["fills"] == 1 and body["traded_notional"] == {"": 100.0}
    assert body["monitors"]["drawdown"] == pytest.approx(0.2) and body["tripped"] == {
        "drawdown": "reduce_only"
    }
    assert body["limits"]["max_long"] == 1 and body["events"][0]["kind"] == "drawdown"


def test_marks_must_be_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        RiskGate(RiskLimits()).on_mark(float("nan"), 0)
