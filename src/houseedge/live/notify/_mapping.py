"""From the engine's published events to notifications: which events matter, and how much.

==========================  ==========================================  ===================
notification kind           published event                             level
==========================  ==========================================  ===================
``trade_opened``            ``position`` from flat (or through zero)    info
``trade_closed``            ``position`` back to flat (or through zero) info
``order_rejected``          ``risk`` ``type=rejected`` (the gate);      warning
                            ``order`` with status ``rejected`` (venue)
``execution_error``         ``engine`` ``submit_failed``                critical
``execution_anomaly``       ``anomaly``; ``reconciliation`` missing     warning
                            fill
``risk_breaker``            ``risk`` ``type=risk`` (a monitor tripped)  by the state: halted
                                                                        critical, reduce_only
                                                                        warning, normal info
``kill_switch``             ``risk`` ``kind=kill``                      critical
``breaker_reset``           ``risk`` ``kind=reset``                     info
``risk_proximity``          the risk snapshot, read every few seconds   warning
                            (:mod:`~houseedge.live.notify._proximity`)
``strategy_error``          ``engine`` ``policy_error``                 critical
``strategy_state``          ``strategy`` (``{"strategy", "state"}``)    failed critical;
                                                                        paused, disabled,
                                                                        blackout warning;
                                                                        running info
``engine_started|stopped``  ``engine`` ``started`` / ``stopped``        info
``engine_paused|resumed``   ``engine`` ``paused`` / ``resumed``         warning / info
``flatten``                 ``engine`` ``flatten``                      warning
``feed_stale|recovered``    ``engine`` ``feed_stale`` / ``feed_recov…`` warning / info
``broker_disconnected``     ``broker`` ``stream_stale``                 warning
``broker_connected``        ``broker`` ``stream_connected``             info
==========================  ==========================================  ===================

Fills open or close trades only through the ``position`` event that follows them (journaled in
the same batch); :class:`EventNotifications` remembers each book's last quantity and fill to tell
an opening from a scaling, seeded with the engine's positions when it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, cast

from houseedge.live.control import PublishedEvent
from houseedge.live.notify._message import Level, Notification

__all__ = ["KINDS", "EventNotifications"]

_ENGINE: Final[dict[str, tuple[str, Level, str]]] = {
    "started": ("engine_started", "info", "Engine started"),
    "stopped": ("engine_stopped", "info", "Engine stopped"),
    "paused": ("engine_paused", "warning", "Trading paused"),
    "resumed": ("engine_resumed", "info", "Trading resumed"),
    "flatten": ("flatten", "warning", "Flatten requested"),
    "feed_stale": ("feed_stale", "warning", "Market feed stale"),
    "feed_recovered": ("feed_recovered", "info", "Market feed recovered"),
    "submit_failed": ("execution_error", "critical", "Order submission failed"),
    "policy_error": ("strategy_error", "critical", "Strategy error"),
}
_BROKER: Final[dict[str, tuple[str, Level, str]]] = {
    "stream_stale": ("broker_disconnected", "warning", "Broker stream lost"),
    "stream_connected": ("broker_connected", "info", "Broker stream connected"),
}
_STRATEGY_LEVEL: Final[dict[str, Level]] = {
    "failed": "critical",
    "disabled": "warning",
    "paused": "warning",
    "blackout": "warning",
    "running": "info",
}
_BREAKER_LEVEL: Final[dict[str, Level]] = {
    "halted": "critical",
    "reduce_only": "warning",
    "normal": "info",
}

KINDS: Final = frozenset(
    {kind for kind, _, _ in (*_ENGINE.values(), *_BROKER.values())}
    | {"trade_opened", "trade_closed", "order_rejected", "execution_anomaly"}
    | {"risk_breaker", "kill_switch", "breaker_reset", "risk_proximity", "strategy_state"}
)
"""Every notification kind (what a sink's ``kinds`` filter may name); ``risk_proximity`` comes
from :mod:`~houseedge.live.notify._proximity`, the others from events."""

_Book = tuple[str, str]  # (policy, symbol)


class EventNotifications:
    """Turn published events into notifications (stateful: it follows positions).

    Parameters
    ----------
    positions
        The engine's positions when the mapper starts (``EngineHandle.positions()``), so a fill
        that closes a position held before the start is a ``trade_closed``.

    Examples
    --------
    >>> mapper = EventNotifications()
    >>> def event(i, kind, **payload):
    ...     return PublishedEvent(id=i, kind=kind, ts=0, payload=payload)
    >>> mapper(event(1, "fill", policy="p", symbol="X", side="buy", qty=5.0, price=12.0))
    []
    >>> [n.title for n in mapper(event(2, "position", policy="p", symbol="X", qty="5"))]
    ['Opened long X (p)']
    >>> [(n.level, n.kind) for n in mapper(event(3, "engine", event="feed_stale", age_s=31))]
    [('warning', 'feed_stale')]
    """

    def __init__(self, positions: Iterable[Mapping[str, Any]] = ()) -> None:
        self._held: dict[_Book, float] = {}
        self._fills: dict[_Book, Mapping[str, Any]] = {}
        for row in positions:
            self._held[(str(row.get("policy") or ""), str(row["symbol"]))] = float(row["qty"])
        self._kinds: dict[str, Callable[[PublishedEvent], list[Notification]]] = {
            "fill": self._fill,
            "position": self._position,
            "order": self._order,
            "risk": self._risk,
            "engine": self._engine,
            "broker": self._broker,
            "anomaly": self._anomaly,
            "reconciliation": self._reconciliation,
            "strategy": self._strategy,
        }

    def __call__(self, event: PublishedEvent) -> list[Notification]:
        """Return the notifications ``event`` calls for (often none)."""
        handle = self._kinds.get(event.kind)
        return [] if handle is None else handle(event)

    def _fill(self, event: PublishedEvent) -> list[Notification]:
        p = event.payload
        self._fills[(str(p.get("policy") or ""), str(p.get("symbol")))] = p
        return []

    def _position(self, event: PublishedEvent) -> list[Notification]:
        p = event.payload
        book = (str(p.get("policy") or ""), str(p.get("symbol")))
        qty, before = float(p["qty"]), self._held.get(book, 0.0)
        self._held[book] = qty
        out: list[Notification] = []
        if before != 0 and (qty == 0 or (qty > 0) != (before > 0)):
            out.append(self._trade(event, book, "closed", before))
        if qty != 0 and (before == 0 or (qty > 0) != (before > 0)):
            out.append(self._trade(event, book, "opened", qty))
        return out

    def _trade(self, event: PublishedEvent, book: _Book, what: str, qty: float) -> Notification:
        policy, symbol = book
        fill = self._fills.get(book, {})
        side = "long" if qty > 0 else "short"
        fields = {"policy": policy or "manual", "symbol": symbol, "position": side, "qty": abs(qty)}
        if "price" in fill:
            fields["price"] = fill["price"]
        text = f"{policy or 'manual'}: {what} {side} {abs(qty):g} {symbol}"
        if "price" in fill:
            text += f" at {fill['price']:g}"
        title = f"{what.capitalize()} {side} {symbol} ({policy or 'manual'})"
        return _note(event, "info", f"trade_{what}", title, text, fields)

    def _order(self, event: PublishedEvent) -> list[Notification]:
        p = event.payload
        if p.get("status") != "rejected":
            return []
        fields = _pick(p, "order_id", "policy", "symbol", "side", "qty", "reason")
        text = f"the venue rejected {p.get('side')} {p.get('qty')} {p.get('symbol')}"
        if p.get("reason"):
            text += f": {p['reason']}"
        return [_note(event, "warning", "order_rejected", "Order rejected", text, fields)]

    def _risk(self, event: PublishedEvent) -> list[Notification]:
        p = event.payload
        if p.get("type") == "rejected":
            fields = _pick(p, "order_id", "policy", "symbol", "side", "qty", "check", "detail")
            text = f"risk check {p.get('check')} refused {p.get('side')} {p.get('qty')} "
            text += f"{p.get('symbol')}: {p.get('detail')}"
            return [
                _note(event, "warning", "order_rejected", "Order rejected by risk", text, fields)
            ]
        kind, state = str(p.get("kind", "")), str(p.get("state", ""))
        fields = _pick(p, "kind", "state", "policy", "value", "threshold", "detail")
        scope = f" ({p['policy']})" if p.get("policy") else ""
        if kind == "kill":
            title = f"Kill switch{scope}"
            return [_note(event, "critical", "kill_switch", title, str(p.get("detail")), fields)]
        if kind == "reset":
            title = f"Breaker reset{scope}"
            return [_note(event, "info", "breaker_reset", title, str(p.get("detail")), fields)]
        level = _BREAKER_LEVEL.get(state, "warning")
        title = f"Breaker {state} by {kind}{scope}"
        return [_note(event, level, "risk_breaker", title, str(p.get("detail", "")), fields)]

    def _engine(self, event: PublishedEvent) -> list[Notification]:
        return _table(event, _ENGINE)

    def _broker(self, event: PublishedEvent) -> list[Notification]:
        return _table(event, _BROKER)

    def _anomaly(self, event: PublishedEvent) -> list[Notification]:
        p = event.payload
        reason = str(p.get("reason", "anomaly"))
        fields = _pick(p, "reason", "order_id", "policy", "source", "detail")
        text = f"{reason}" + (f": {p['detail']}" if p.get("detail") else "")
        return [_note(event, "warning", "execution_anomaly", "Execution anomaly", text, fields)]

    def _reconciliation(self, event: PublishedEvent) -> list[Notification]:
        p = event.payload
        if p.get("kind") != "missing_fill":
            return []
        fields = _pick(p, "order_id", "fill_id", "policy", "symbol", "side", "qty", "price")
        text = f"a fill the stream missed was recovered: {p.get('side')} {p.get('qty')} "
        text += f"{p.get('symbol')} at {p.get('price')}"
        return [_note(event, "warning", "execution_anomaly", "Missed fill recovered", text, fields)]

    def _strategy(self, event: PublishedEvent) -> list[Notification]:
        p = event.payload
        name, state = str(p.get("strategy", "")), str(p.get("state", ""))
        fields = _pick(p, "strategy", "state", "previous", "reason", "error")
        frame = p.get("frame")
        if isinstance(frame, dict):  # the traceback's last frame: where the strategy failed
            where = cast("dict[str, Any]", frame)
            fields["at"] = f"{where.get('file')}:{where.get('line')} in {where.get('function')}"
        text = f"{name}: {p.get('previous', '?')} -> {state}"
        if p.get("reason"):
            text += f" ({p['reason']})"
        level = _STRATEGY_LEVEL.get(state, "warning")
        return [_note(event, level, "strategy_state", f"Strategy {name} {state}", text, fields)]


def _table(
    event: PublishedEvent, table: Mapping[str, tuple[str, Level, str]]
) -> list[Notification]:
    p = event.payload
    row = table.get(str(p.get("event")))
    if row is None:
        return []
    kind, level, title = row
    fields = {k: v for k, v in p.items() if k != "event" and _plain(v)}
    text = ", ".join(f"{k}={v}" for k, v in fields.items())
    return [_note(event, level, kind, title, text, fields)]


def _note(
    event: PublishedEvent, level: Level, kind: str, title: str, text: str, fields: dict[str, Any]
) -> Notification:
    return Notification(
        level=level,
        title=title,
        text=text,
        kind=kind,
        fields=fields,
        ts=event.ts,
        event_id=event.id,
    )


def _pick(payload: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: payload[k] for k in keys if payload.get(k) not in (None, "")}


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)
