"""Notifications without I/O: the event mapper on the engine's real payload builders, the
sinks' filters and the config's validation (the public surface is pinned in
test_live_data_api)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from houseedge.core.execution import OrderState, OrderStatus
from houseedge.core.risk.gate import RiskGate, RiskLimits
from houseedge.core.risk.monitors import BreakerState, RiskEvent
from houseedge.core.types import Fill, Order
from houseedge.errors import ConfigError
from houseedge.live.control import PublishedEvent
from houseedge.live.engine._events import fill_payload, order_payload
from houseedge.live.notify import (
    KINDS,
    EventNotifications,
    Notification,
    NotifySinkConfig,
    RiskProximity,
    SinkOptions,
    telegram_text,
)

_ids = iter(range(1, 10_000))


def event(kind: str, payload: dict[str, Any]) -> PublishedEvent:
    return PublishedEvent(id=next(_ids), kind=kind, ts=123, payload=payload)


def fill(side: str, qty: float, price: float, policy: str = "p") -> PublishedEvent:
    made = Fill(
        fill_id=f"v{next(_ids)}", order_id="p.1", symbol="X", side=side, qty=qty, price=price
    )
    return event("fill", fill_payload(made, policy))


def position(qty: str, policy: str = "p") -> PublishedEvent:
    # as the engine's _DryRun._position_event: quantities are Decimal strings
    return event("position", {"policy": policy, "symbol": "X", "qty": qty, "account_qty": qty})


def kinds(notes: list[Notification]) -> list[tuple[str, str]]:
    return [(n.kind, n.level) for n in notes]


def test_fills_that_open_scale_reverse_and_close_a_position() -> None:
    mapper = EventNotifications()
    script = [
        fill("buy", 5, 10.0),
        position("5"),
        fill("buy", 5, 11.0),
        position("10"),
        fill("sell", 15, 12.0),
        position("-5"),
        fill("buy", 5, 9.0),
        position("0"),
    ]
    notes = [n for e in script for n in mapper(e)]
    assert [n.title for n in notes] == [
        "Opened long X (p)",
        "Closed long X (p)",  # the sell of 15 goes through zero: a close and an open
        "Opened short X (p)",
        "Closed short X (p)",
    ]
    assert [n.fields["qty"] for n in notes] == [5.0, 10.0, 5.0, 5.0]
    assert [n.fields["price"] for n in notes] == [10.0, 12.0, 12.0, 9.0]
    assert {n.level for n in notes} == {"info"}
    assert notes[0].event_id == script[1].id and notes[0].ts == 123


def test_a_position_held_at_start_closes_as_a_trade() -> None:
    mapper = EventNotifications([{"policy": "p", "symbol": "X", "qty": 3.0}])
    assert kinds(mapper(position("0"))) == [("trade_closed", "info")]
    manual = EventNotifications()
    (note,) = manual(position("2", policy=""))
    assert note.fields["policy"] == "manual"


def test_rejections_by_the_gate_and_by_the_venue_are_warnings() -> None:
    mapper = EventNotifications()
    gate = {
        "type": "rejected",
        "policy": "p",
        "order_id": "p.2",
        "accepted": False,
        "check": "price_band",
        "detail": "50 is 400% from 10",
        "symbol": "X",
        "side": "buy",
        "qty": 1.0,
    }
    (by_gate,) = mapper(event("risk", gate))
    assert (by_gate.kind, by_gate.level) == ("order_rejected", "warning")
    assert "price_band" in by_gate.text and by_gate.fields["check"] == "price_band"
    order = Order(client_order_id="p.3", symbol="X", side="sell", qty=2)
    state = OrderState(order=order, status=OrderStatus.REJECTED, reason="insufficient qty")
    (by_venue,) = mapper(event("order", order_payload(state, "p", "rejected")))
    assert (by_venue.kind, by_venue.level) == ("order_rejected", "warning")
    assert by_venue.fields["reason"] == "insufficient qty"
    accepted = OrderState(order=order, status=OrderStatus.ACCEPTED)
    assert mapper(event("order", order_payload(accepted, "p", "accepted"))) == []


@pytest.mark.parametrize(
    ("risk", "expected"),
    [
        (
            RiskEvent(
                kind="drawdown",
                state=BreakerState.HALTED,
                detail="dd 21%",
                value=0.21,
                threshold=0.2,
            ),
            ("risk_breaker", "critical"),
        ),
        (
            RiskEvent(kind="daily_loss", state=BreakerState.REDUCE_ONLY, detail="-2%"),
            ("risk_breaker", "warning"),
        ),
        (
            RiskEvent(kind="policy_loss", state=BreakerState.HALTED, detail="x", policy="p"),
            ("risk_breaker", "critical"),
        ),
        (
            RiskEvent(kind="kill", state=BreakerState.HALTED, detail="operator ops"),
            ("kill_switch", "critical"),
        ),
        (
            RiskEvent(kind="reset", state=BreakerState.NORMAL, detail="by ops"),
            ("breaker_reset", "info"),
        ),
    ],
)
def test_breaker_kill_and_reset_events(risk: RiskEvent, expected: tuple[str, str]) -> None:
    # the payload exactly as the engine journals it: msgspec.to_builtins of the tagged struct
    (note,) = EventNotifications()(event("risk", msgspec.to_builtins(risk)))
    assert (note.kind, note.level) == expected
    assert note.text == risk.detail
    if risk.policy:
        assert note.title.endswith("(p)")


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("engine", {"event": "feed_stale", "age_s": 31.2}, ("feed_stale", "warning")),
        ("engine", {"event": "feed_recovered", "symbol": "X", "ts": 5}, ("feed_recovered", "info")),
        ("engine", {"event": "submit_failed", "order_id": "p.4"}, ("execution_error", "critical")),
        (
            "engine",
            {"event": "policy_error", "policy": "p", "error": "boom"},
            ("strategy_error", "critical"),
        ),
        ("engine", {"event": "paused", "operator": "ops"}, ("engine_paused", "warning")),
        ("engine", {"event": "resumed", "operator": "ops"}, ("engine_resumed", "info")),
        ("engine", {"event": "flatten", "operator": "ops", "orders": 2}, ("flatten", "warning")),
        ("engine", {"event": "stopped", "open": 0, "fills": 3}, ("engine_stopped", "info")),
        (
            "broker",
            {"source": "alpaca", "event": "stream_stale", "age_s": 9.0},
            ("broker_disconnected", "warning"),
        ),
        (
            "broker",
            {"source": "alpaca", "event": "stream_connected", "connections": 2},
            ("broker_connected", "info"),
        ),
        (
            "anomaly",
            {"order_id": "p.1", "reason": "duplicate_order_id", "detail": "held"},
            ("execution_anomaly", "warning"),
        ),
        (
            "reconciliation",
            {
                "kind": "missing_fill",
                "order_id": "p.1",
                "symbol": "X",
                "side": "buy",
                "qty": 1.0,
                "price": 10.0,
            },
            ("execution_anomaly", "warning"),
        ),
    ],
)
def test_engine_broker_and_anomaly_events(
    kind: str, payload: dict[str, Any], expected: tuple[str, str]
) -> None:
    notes = EventNotifications()(event(kind, payload))
    assert kinds(notes) == [expected]
    assert expected[0] in KINDS


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("engine", {"event": "started", "reconciliation": {"orders": 0}}),  # info, but mapped
        ("engine", {"event": "tick"}),
        ("tick", {"n": 1}),
        ("reconciliation", {"orders": 0, "fills": 0}),
        ("broker", {"event": "unknown"}),
    ],
)
def test_events_that_are_not_news(kind: str, payload: dict[str, Any]) -> None:
    notes = EventNotifications()(event(kind, payload))
    assert notes == [] or kinds(notes) == [("engine_started", "info")]


def test_sink_options_filter_by_level_and_kind() -> None:
    note = Notification(level="warning", title="t", text="", kind="feed_stale")
    assert SinkOptions().accepts(note)
    assert not SinkOptions(min_level="critical").accepts(note)
    assert not SinkOptions(kinds=frozenset({"kill_switch"})).accepts(note)
    assert not SinkOptions(exclude=frozenset({"feed_stale"})).accepts(note)
    with pytest.raises(ValueError, match="queue_size must be >= 1"):
        SinkOptions(queue_size=0)
    with pytest.raises(ValueError, match="unknown notification level 'loud'"):
        SinkOptions(min_level="loud")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Notification\.level"):
        Notification(level="loud", title="t", text="", kind="x")  # type: ignore[arg-type]


def test_config_refuses_secrets_unknown_keys_and_kinds() -> None:
    # ConfigError, not pydantic's error: that one would print the input, the token with it
    with pytest.raises(ConfigError, match="bot_token is a secret") as secret:
        NotifySinkConfig.model_validate({"type": "telegram", "chat_id": "1", "bot_token": "1:a"})
    assert "1:a" not in str(secret.value)
    with pytest.raises(ConfigError, match="unknown key 'bot_tokn'") as typo:
        NotifySinkConfig.model_validate({"type": "telegram", "chat_id": "1", "bot_tokn": "1:a"})
    assert "1:a" not in str(typo.value)
    with pytest.raises(ConfigError, match="unknown key 'chatid' \\(did you mean 'chat_id'\\?\\)"):
        NotifySinkConfig.model_validate({"type": "telegram", "chatid": "1"})
    with pytest.raises(ValidationError, match="did you mean 'feed_stale'"):
        NotifySinkConfig(type="webhook", url="http://127.0.0.1:1/h", kinds=["feed_stal"])
    with pytest.raises(ValidationError, match="needs url"):
        NotifySinkConfig(type="webhook")
    with pytest.raises(ValidationError, match="needs chat_id"):
        NotifySinkConfig(type="telegram")


def test_telegram_text_is_bounded() -> None:
    note = Notification(level="info", title="t", text="x" * 10_000, kind="k")
    assert len(telegram_text(note)) == 4096


def test_risk_proximity_warns_once_per_approach_on_the_gates_snapshot() -> None:
    gate = RiskGate(RiskLimits(drawdown_soft=0.05, drawdown_hard=0.10, daily_loss_hard=0.2))
    near = RiskProximity()

    def at(equity: float, ts: int) -> list[tuple[str, str]]:
        gate.on_mark(equity, ts)
        notes = near(msgspec.to_builtins(gate.snapshot()), ts)
        assert all(n.level == "warning" and n.kind == "risk_proximity" for n in notes)
        return [(n.fields["monitor"], n.fields["stage"]) for n in notes]

    assert at(1000.0, 1) == []
    assert at(970.0, 2) == []  # 3%: 60% of the soft threshold
    assert at(958.0, 3) == [("drawdown", "soft")]  # 4.2%: 84%
    assert at(955.0, 4) == []  # still near: said once
    assert at(985.0, 5) == []  # 1.5%: under 70%, re-armed
    assert at(959.0, 6) == [("drawdown", "soft")]
    assert at(915.0, 7) == [("drawdown", "hard")]  # 8.5% (the soft one tripped the breaker)
    with pytest.raises(ValueError, match="rearm <= near"):
        RiskProximity(near=0.5, rearm=0.6)


def test_strategy_state_changes() -> None:
    # the payload as the strategy manager journals a failure (a ``strategy`` event)
    failed = {
        "strategy": "sma",
        "state": "failed",
        "previous": "running",
        "reason": "ZeroDivisionError: division by zero",
        "error": "ZeroDivisionError",
        "frame": {"file": "strategies/mine.py", "line": 12, "function": "decide"},
        "bar_ts": 9,
    }
    mapper = EventNotifications()
    (note,) = mapper(event("strategy", failed))
    assert (note.kind, note.level, note.title) == (
        "strategy_state",
        "critical",
        "Strategy sma failed",
    )
    assert note.fields["at"] == "strategies/mine.py:12 in decide"
    assert note.text == "sma: running -> failed (ZeroDivisionError: division by zero)"
    paused = {"strategy": "sma", "state": "paused", "previous": "running"}
    assert kinds(mapper(event("strategy", paused))) == [("strategy_state", "warning")]
    running = {"strategy": "sma", "state": "running", "previous": "paused"}
    assert kinds(mapper(event("strategy", running))) == [("strategy_state", "info")]
