"""Typed Binance payloads, validated once at the boundary (msgspec).

python-binance hands over parsed JSON (dicts), so these are converted with
:func:`decode_user_event` / :func:`msgspec.convert`; prices and quantities arrive as strings and
become ``Decimal`` here, so the ledger sees the venue's exact numbers. User-data events are a
tagged union on Binance's ``"e"`` field; an event of a type not listed is ignored (``None``), one
that does not match its type raises :class:`msgspec.ValidationError`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import msgspec

__all__ = [
    "AccountInfo",
    "Balance",
    "BalanceUpdate",
    "ExecutionReport",
    "KlineEvent",
    "MyTrade",
    "OutboundAccountPosition",
    "RestOrder",
    "StreamTerminated",
    "TradeEvent",
    "UserEvent",
    "decode_user_event",
]


class ExecutionReport(msgspec.Struct, frozen=True, tag_field="e", tag="executionReport"):
    """An order update (see brokers.md §2.3 for every field)."""

    symbol: str = msgspec.field(name="s")
    client_order_id: str = msgspec.field(name="c")
    side: str = msgspec.field(name="S")
    order_type: str = msgspec.field(name="o")
    qty: Decimal = msgspec.field(name="q")
    execution_type: str = msgspec.field(name="x")
    status: str = msgspec.field(name="X")
    order_id: int = msgspec.field(name="i")
    last_qty: Decimal = msgspec.field(name="l")
    cum_qty: Decimal = msgspec.field(name="z")
    last_price: Decimal = msgspec.field(name="L")
    commission: Decimal = msgspec.field(name="n")
    transaction_time: int = msgspec.field(name="T")
    trade_id: int = msgspec.field(name="t")
    event_time: int = msgspec.field(name="E", default=0)
    orig_client_order_id: str = msgspec.field(name="C", default="")
    reject_reason: str = msgspec.field(name="r", default="NONE")
    commission_asset: str | None = msgspec.field(name="N", default=None)
    maker: bool = msgspec.field(name="m", default=False)


class Balance(msgspec.Struct, frozen=True):
    """One asset's balance in ``outboundAccountPosition``."""

    asset: str = msgspec.field(name="a")
    free: Decimal = msgspec.field(name="f")
    locked: Decimal = msgspec.field(name="l")


class OutboundAccountPosition(
    msgspec.Struct, frozen=True, tag_field="e", tag="outboundAccountPosition"
):
    """Balances after a change."""

    balances: list[Balance] = msgspec.field(name="B")
    event_time: int = msgspec.field(name="E", default=0)


class BalanceUpdate(msgspec.Struct, frozen=True, tag_field="e", tag="balanceUpdate"):
    """A deposit, withdrawal or transfer."""

    asset: str = msgspec.field(name="a")
    delta: Decimal = msgspec.field(name="d")
    event_time: int = msgspec.field(name="E", default=0)


class StreamTerminated(msgspec.Struct, frozen=True, tag_field="e", tag="eventStreamTerminated"):
    """The subscription ended (after an unsubscribe, or the venue's own decision)."""

    event_time: int = msgspec.field(name="E", default=0)


UserEvent = ExecutionReport | OutboundAccountPosition | BalanceUpdate | StreamTerminated
_KNOWN: Final = frozenset(
    {"executionReport", "outboundAccountPosition", "balanceUpdate", "eventStreamTerminated"}
)


def decode_user_event(message: dict[str, Any]) -> UserEvent | None:
    """Return the typed event, or None for an event type the adapter does not use.

    Raises
    ------
    msgspec.ValidationError
        The event is of a known type but malformed.

    Examples
    --------
    >>> decode_user_event({"e": "balanceUpdate", "a": "USDT", "d": "1.5", "E": 1}).delta
    Decimal('1.5')
    >>> decode_user_event({"e": "listStatus"}) is None
    True
    """
    if message.get("e") not in _KNOWN:
        return None
    return msgspec.convert(message, UserEvent)


class RestOrder(msgspec.Struct, frozen=True, rename="camel"):
    """An order as ``GET /api/v3/order`` / ``allOrders`` / ``POST`` (RESULT, FULL) returns it."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    status: str
    orig_qty: Decimal
    executed_qty: Decimal
    cummulative_quote_qty: Decimal = Decimal(0)
    time: int = 0
    update_time: int = 0
    transact_time: int = 0


class MyTrade(msgspec.Struct, frozen=True, rename="camel"):
    """One of our trades (``GET /api/v3/myTrades``)."""

    symbol: str
    id: int
    order_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


class AccountBalance(msgspec.Struct, frozen=True):
    asset: str
    free: Decimal
    locked: Decimal


class AccountInfo(msgspec.Struct, frozen=True):
    """``GET /api/v3/account`` (the balances)."""

    balances: list[AccountBalance]


class Kline(msgspec.Struct, frozen=True):
    start: int = msgspec.field(name="t")
    interval: str = msgspec.field(name="i")
    open: Decimal = msgspec.field(name="o")
    high: Decimal = msgspec.field(name="h")
    low: Decimal = msgspec.field(name="l")
    close: Decimal = msgspec.field(name="c")
    volume: Decimal = msgspec.field(name="v")
    closed: bool = msgspec.field(name="x")


class KlineEvent(msgspec.Struct, frozen=True, tag_field="e", tag="kline"):
    """A kline stream update (``closed`` once the bar is final)."""

    symbol: str = msgspec.field(name="s")
    kline: Kline = msgspec.field(name="k")


class TradeEvent(msgspec.Struct, frozen=True, tag_field="e", tag="trade"):
    """A trade stream print."""

    symbol: str = msgspec.field(name="s")
    price: Decimal = msgspec.field(name="p")
    qty: Decimal = msgspec.field(name="q")
    time: int = msgspec.field(name="T")


MarketPayload = KlineEvent | TradeEvent
