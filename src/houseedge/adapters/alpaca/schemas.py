"""Typed views of Alpaca's wire messages, validated once at the boundary with msgspec.

alpaca-py is used with ``raw_data=True`` so its pydantic models never see a message: an event
pydantic would refuse (a missing ``timestamp``, a non-UUID id; brokers.md §1.3 item 6) would be
logged and dropped *silently* by the library. Here it fails :func:`decode_update` instead, and
the adapter records the anomaly and reconciles. Money and quantities arrive as strings
(``"105.89"``) and are converted to floats (``strict=False``).

Examples
--------
>>> raw = {"id": "0b8c8f9e-5a0e-4f0e-9d44-0e3a3b7d2a11", "client_order_id": "c1",
...        "symbol": "X", "side": "buy", "qty": "10", "filled_qty": "0", "status": "new",
...        "type": "market", "time_in_force": "day", "created_at": "2024-01-02T15:00:00Z",
...        "updated_at": "2024-01-02T15:00:00Z", "submitted_at": "2024-01-02T15:00:00Z"}
>>> decode_order(raw).qty
10.0
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec

__all__ = [
    "AccountMsg",
    "ActivityMsg",
    "BarMsg",
    "OrderMsg",
    "PositionMsg",
    "TradeUpdateMsg",
    "convert",
    "decode_activity",
    "decode_event_json",
    "decode_order",
    "decode_update",
]

T = TypeVar("T")


class OrderMsg(msgspec.Struct, frozen=True, kw_only=True):
    """An Alpaca order (REST body, and ``order`` of every trade update)."""

    id: uuid.UUID
    client_order_id: str
    symbol: str
    side: str
    status: str
    created_at: str
    updated_at: str
    submitted_at: str
    time_in_force: str
    qty: float | None = None
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    type: str | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    replaces: uuid.UUID | None = None
    replaced_by: uuid.UUID | None = None


class TradeUpdateMsg(msgspec.Struct, frozen=True, kw_only=True):
    """The ``data`` of a trade_updates message (WS) or of an SSE trade event."""

    event: str
    timestamp: str
    order: OrderMsg
    execution_id: uuid.UUID | None = None
    price: float | None = None
    qty: float | None = None
    position_qty: float | None = None
    event_id: str | None = None  # SSE only: the ULID resume cursor
    at: str | None = None  # SSE only


class ActivityMsg(msgspec.Struct, frozen=True, kw_only=True):
    """One FILL account activity (``GET /v2/account/activities/FILL``)."""

    id: str  # "YYYYMMDDhhmmssSSS::<execution uuid>"
    transaction_time: str
    symbol: str
    side: str
    price: float
    qty: float
    order_id: uuid.UUID
    type: str = "fill"

    @property
    def execution_id(self) -> str:
        """Return the execution's UUID (the part of ``id`` after ``::``)."""
        return self.id.rpartition("::")[2]


class PositionMsg(msgspec.Struct, frozen=True, kw_only=True):
    """One position (``GET /v2/positions``); ``qty`` is negative for a short."""

    symbol: str
    qty: float
    side: str = "long"
    avg_entry_price: float = 0.0


class AccountMsg(msgspec.Struct, frozen=True, kw_only=True):
    """The account (``GET /v2/account``)."""

    cash: float
    equity: float
    buying_power: float | None = None
    currency: str = "USD"


class BarMsg(msgspec.Struct, frozen=True, kw_only=True):
    """One historical bar (``GET /v2/stocks/bars``)."""

    t: str
    o: float
    h: float
    l: float  # noqa: E741 (Alpaca's field name)
    c: float
    v: float
    n: int | None = None
    vw: float | None = None


def _convert(raw: Any, kind: type[T]) -> T:
    return msgspec.convert(raw, kind, strict=False)


def decode_order(raw: Any) -> OrderMsg:
    """Return an order from alpaca-py's raw dict (raises ``msgspec.ValidationError``)."""
    return _convert(raw, OrderMsg)


def decode_update(raw: Any) -> TradeUpdateMsg:
    """Return a trade update from its raw ``data`` dict (raises ``msgspec.ValidationError``)."""
    return _convert(raw, TradeUpdateMsg)


def decode_activity(raw: Any) -> ActivityMsg:
    """Return a FILL activity from its raw dict."""
    return _convert(raw, ActivityMsg)


def decode_event_json(data: bytes | str) -> TradeUpdateMsg:
    """Return a trade update from an SSE ``data:`` payload."""
    return decode_update(msgspec.json.decode(data))


def convert(raw: Any, kind: type[T]) -> T:
    """Return ``raw`` (a dict or list from alpaca-py) as ``kind``, strings read as numbers."""
    return _convert(raw, kind)
