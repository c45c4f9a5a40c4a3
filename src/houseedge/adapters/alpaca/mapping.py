"""Alpaca wire values to :mod:`houseedge.core.types` and back.

Trade-update events become order reports (``fill``/``partial_fill`` a :class:`Fill` whose
``fill_id`` is the execution id; ``replaced`` the old order's cancel; pending and informational
events nothing). FILL activities become the same :class:`Fill` (their id ends in the execution
id), so a fill seen on the stream and again by reconciliation has one ``fill_id``. Alpaca
charges no commission on stocks: ``fee`` is 0.

Examples
--------
>>> parse_ts("2024-01-02T15:00:00.123456789Z") % 1_000_000_000
123456789
>>> rfc3339(parse_ts("2024-01-02T15:00:00.5Z"))
'2024-01-02T15:00:00.500000000Z'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from houseedge.adapters.alpaca.schemas import (
    AccountMsg,
    ActivityMsg,
    OrderMsg,
    PositionMsg,
    TradeUpdateMsg,
)
from houseedge.core.broker import Account, BrokerEvent, OrderSnapshot, TrailingStop
from houseedge.core.execution import OrderStatus
from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderType,
    Position,
    Side,
    TimeInForce,
)

__all__ = [
    "STATUS",
    "account",
    "fill_from_activity",
    "order_fields",
    "parse_ts",
    "position",
    "replace_fields",
    "reports",
    "rfc3339",
    "snapshot",
]

_NS: Final = 1_000_000_000

STATUS: Final = {
    "pending_new": OrderStatus.SUBMITTED,
    "accepted": OrderStatus.ACCEPTED,
    "new": OrderStatus.ACCEPTED,
    "held": OrderStatus.ACCEPTED,
    "accepted_for_bidding": OrderStatus.ACCEPTED,
    "calculated": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED,
    "suspended": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "done_for_day": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "pending_cancel": OrderStatus.CANCEL_REQUESTED,
    "canceled": OrderStatus.CANCELLED,
    "replaced": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
"""Alpaca order status to ours; a ``replaced`` order is cancelled in favour of its successor."""

_TIF: Final = {
    TimeInForce.DAY: "day",
    TimeInForce.GTC: "gtc",
    TimeInForce.IOC: "ioc",
    TimeInForce.FOK: "fok",
}


def parse_ts(text: str) -> int:
    """Return UTC nanoseconds of an RFC 3339 timestamp, keeping all nine fraction digits."""
    text = text.strip().replace("z", "Z").replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    frac = ""
    if dot:
        cut = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
        frac, text = rest[:cut], head + rest[cut:]
    base = datetime.fromisoformat(text if "+" in text[10:] or "-" in text[10:] else text + "+00:00")
    return int(base.timestamp()) * _NS + int((frac + "000000000")[:9])


def rfc3339(ns: int) -> str:
    """Return UTC nanoseconds as RFC 3339 with nine fraction digits and ``Z``."""
    seconds, frac = divmod(ns, _NS)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def utc_datetime(ns: int) -> datetime:
    """Return UTC nanoseconds as an aware datetime, truncated to microseconds.

    The value alpaca-py's request models parse from :func:`rfc3339` text (pydantic keeps
    microseconds and drops the rest).

    Examples
    --------
    >>> from alpaca.trading.requests import GetOrdersRequest
    >>> ns = 1_700_000_000_123_456_789
    >>> utc_datetime(ns)
    datetime.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=datetime.timezone.utc)
    >>> GetOrdersRequest.model_validate({"after": rfc3339(ns)}).after == utc_datetime(ns)
    True
    """
    seconds, frac = divmod(ns, _NS)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=frac // 1_000)


def order_fields(order: Order, trail: TrailingStop | None = None) -> dict[str, Any]:
    """Return the keyword arguments of alpaca-py's order request for ``order``.

    Raises ``ValueError`` for what Alpaca cannot take (``gtd``; a trail on a priced order).

    Examples
    --------
    >>> o = Order(client_order_id="c1", symbol="X", side=Side.SELL, qty=5)
    >>> order_fields(o, TrailingStop(percent=1.5))["type"]
    'trailing_stop'
    """
    if order.tif not in _TIF:
        msg = f"order {order.client_order_id}: Alpaca has no time in force {order.tif}"
        raise ValueError(msg)
    fields: dict[str, Any] = {
        "symbol": order.symbol,
        "qty": float(order.qty),
        "side": str(order.side),
        "time_in_force": _TIF[order.tif],
        "client_order_id": order.client_order_id,
        "type": str(order.type),
    }
    if order.limit_price is not None:
        fields["limit_price"] = order.limit_price
    if order.stop_price is not None:
        fields["stop_price"] = order.stop_price
    if trail is not None:
        if order.type is not OrderType.MARKET:
            msg = f"order {order.client_order_id}: a trailing stop replaces a market order"
            raise ValueError(msg)
        fields["type"] = "trailing_stop"
        fields["trail_price"], fields["trail_percent"] = trail.amount, trail.percent
    return fields


def replace_fields(new: Order, trail: TrailingStop | None = None) -> dict[str, Any]:
    """Return the keyword arguments of ``ReplaceOrderRequest`` that turn an order into ``new``."""
    fields: dict[str, Any] = {
        "qty": int(new.qty),
        "client_order_id": new.client_order_id,
        "time_in_force": _TIF.get(new.tif),
    }
    if new.limit_price is not None:
        fields["limit_price"] = new.limit_price
    if new.stop_price is not None:
        fields["stop_price"] = new.stop_price
    if trail is not None:
        fields["trail"] = trail.amount if trail.amount is not None else trail.percent
    return {k: v for k, v in fields.items() if v is not None}


def reports(update: TradeUpdateMsg) -> list[BrokerEvent]:
    """Return the order reports one trade update means (none for informational events)."""
    order, ts = update.order, parse_ts(update.timestamp)
    cid = order.client_order_id
    event = update.event
    if event in ("fill", "partial_fill"):
        if update.execution_id is None or update.qty is None or update.price is None:
            msg = f"{event} event of {cid} without execution_id, qty or price"
            raise ValueError(msg)
        return [
            Fill(
                fill_id=str(update.execution_id),
                order_id=cid,
                symbol=order.symbol,
                side=Side(order.side),
                qty=update.qty,
                price=update.price,
                ts=ts,
            )
        ]
    if event in ("new", "accepted"):
        return [OrderAccepted(order_id=cid, ts=ts, venue_order_id=str(order.id))]
    if event in ("canceled", "replaced"):
        return [OrderCancelled(order_id=cid, ts=ts)]
    if event == "expired":
        return [OrderExpired(order_id=cid, ts=ts)]
    if event == "rejected":
        return [OrderRejected(order_id=cid, ts=ts, reason="rejected by alpaca")]
    if event == "order_cancel_rejected":
        return [CancelRejected(order_id=cid, ts=ts, reason="order_cancel_rejected")]
    return []


def fill_from_activity(activity: ActivityMsg, client_order_id: str) -> Fill:
    """Return the :class:`Fill` of a FILL activity (its order's client id given)."""
    return Fill(
        fill_id=activity.execution_id,
        order_id=client_order_id,
        symbol=activity.symbol,
        side=Side(activity.side),
        qty=activity.qty,
        price=activity.price,
        ts=parse_ts(activity.transaction_time),
    )


def snapshot(order: OrderMsg) -> OrderSnapshot:
    """Return the reconciliation view of an Alpaca order."""
    status = STATUS.get(order.status, OrderStatus.ACCEPTED)
    if status is OrderStatus.ACCEPTED and order.filled_qty > 0:
        status = OrderStatus.PARTIALLY_FILLED
    return OrderSnapshot(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=Side(order.side),
        qty=order.qty or 0.0,
        status=status,
        filled_qty=order.filled_qty,
        avg_fill_price=order.filled_avg_price,
        venue_order_id=str(order.id),
        ts=parse_ts(order.updated_at),
    )


def position(msg: PositionMsg) -> Position:
    """Return a signed position (Alpaca's short quantities may come unsigned)."""
    qty = -abs(msg.qty) if msg.side == "short" else abs(msg.qty)
    return Position(symbol=msg.symbol, qty=qty, avg_price=msg.avg_entry_price)


def account(msg: AccountMsg) -> Account:
    """Return the account's cash and equity."""
    return Account(
        cash=msg.cash, equity=msg.equity, buying_power=msg.buying_power, currency=msg.currency
    )
