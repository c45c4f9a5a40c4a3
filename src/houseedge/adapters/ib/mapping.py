"""IB values to houseedge values: fills, order states, snapshots, positions, account, masking."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Final

import ib_async

from houseedge.core.broker import Account, OrderSnapshot
from houseedge.core.execution import OrderStatus
from houseedge.core.types import Fill, Liquidity, Position, Side

__all__ = [
    "STATUSES",
    "AccountMask",
    "client_order_id",
    "fill_from",
    "mask_account",
    "mask_text",
    "order_ref",
    "snapshot_from",
    "to_ns",
]

STATUSES: Final[dict[str, OrderStatus]] = {
    "PendingSubmit": OrderStatus.SUBMITTED,
    "ApiPending": OrderStatus.SUBMITTED,
    "PreSubmitted": OrderStatus.ACCEPTED,
    "Submitted": OrderStatus.ACCEPTED,
    "PendingCancel": OrderStatus.CANCEL_REQUESTED,
    "ApiCancelled": OrderStatus.CANCELLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Filled": OrderStatus.FILLED,
    "Inactive": OrderStatus.REJECTED,
}
"""IB order status -> ours (a part-filled working order becomes ``partially_filled``)."""


def mask_account(account: str) -> str:
    """Return an account id with all but its first two and last two characters hidden.

    Examples
    --------
    >>> mask_account("DU1234567")
    'DU*****67'
    >>> mask_account("U12")
    '***'
    """
    if len(account) <= 4:
        return "*" * len(account)
    return account[:2] + "*" * (len(account) - 4) + account[-2:]


_ACCOUNT_SHAPE: Final = r"\b(?:DU|DF|DI|U|F|I)\d{5,9}\b"
"""What IB account ids look like (individual, advisor, paper): masked before they are known."""


class AccountMask(logging.Filter):
    """Mask account ids in ib-async's own log records (it logs orders and executions in full).

    Examples
    --------
    >>> record = logging.LogRecord("ib_async", 20, "", 0, "<<< 15,1,%s", ("DU1234567",), None)
    >>> AccountMask().filter(record), record.getMessage()
    (True, '<<< 15,1,DU*****67')
    """

    def __init__(self, accounts: Iterable[str] = ()) -> None:
        super().__init__()
        self.accounts: set[str] = set(accounts)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with every account id masked."""
        text = record.getMessage()
        masked = mask_text(text, self.accounts)
        if masked != text:
            record.msg, record.args = masked, ()
        return True


def mask_text(text: str, accounts: Iterable[str] = ()) -> str:
    """Return ``text`` with the given account ids, and anything shaped like one, masked.

    Examples
    --------
    >>> mask_text("acct=DU1234567 orderId=12345", ["XYZ99"])
    'acct=DU*****67 orderId=12345'
    """
    known = [re.escape(a) for a in sorted(accounts, key=len, reverse=True) if a]
    pattern = "|".join([*known, _ACCOUNT_SHAPE])
    return re.sub(pattern, lambda m: mask_account(m.group(0)), text)


def order_ref(prefix: str, client_order_id: str) -> str:
    """Return the ``orderRef`` that carries our client order id.

    Examples
    --------
    >>> order_ref("he:", "sma-17"), client_order_id("he:", "he:sma-17"), client_order_id("he:", "x")
    ('he:sma-17', 'sma-17', None)
    """
    return prefix + client_order_id


def client_order_id(prefix: str, ref: str) -> str | None:
    """Return our client order id from an ``orderRef`` (None: not one of our orders)."""
    return ref[len(prefix) :] if ref.startswith(prefix) and len(ref) > len(prefix) else None


def to_ns(moment: datetime | date | str | float | None) -> int:
    """Return UTC nanoseconds of an IB time (aware or UTC-naive datetime, date, epoch).

    Examples
    --------
    >>> to_ns(datetime(2026, 1, 2, tzinfo=UTC)), to_ns(date(1970, 1, 2))
    (1767312000000000000, 86400000000000)
    """
    if moment is None or moment == "":
        return 0
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return int(aware.timestamp()) * 1_000_000_000 + aware.microsecond * 1_000
    if isinstance(moment, date):
        return to_ns(datetime(moment.year, moment.month, moment.day, tzinfo=UTC))
    if isinstance(moment, str):
        return to_ns(ib_async.util.parseIBDatetime(moment))
    return round(moment * 1e9)


def fill_from(fill: Any, symbol: str, order_id: str) -> Fill:
    """Return our :class:`~houseedge.core.types.Fill` of an ib-async ``Fill`` (fee: commission)."""
    execution = fill.execution
    maker = getattr(execution, "lastLiquidity", 0) == 2  # 1 removed, 2 added liquidity
    return Fill(
        fill_id=execution.execId,
        order_id=order_id,
        symbol=symbol,
        side=Side.BUY if execution.side == "BOT" else Side.SELL,
        qty=float(execution.shares),
        price=float(execution.price),
        fee=float(fill.commissionReport.commission),
        ts=to_ns(execution.time),
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
    )


def status_of(trade: Any) -> OrderStatus:
    """Return our status of an ib-async ``Trade`` (part-filled working orders included)."""
    status = STATUSES.get(trade.orderStatus.status, OrderStatus.SUBMITTED)
    filled = _filled(trade)
    if status is OrderStatus.ACCEPTED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def _filled(trade: Any) -> float:
    return max(
        float(trade.orderStatus.filled or 0),
        float(trade.order.filledQuantity or 0)
        if trade.order.filledQuantity != ib_async.util.UNSET_DOUBLE
        else 0.0,
    )


def snapshot_from(trade: Any, symbol: str, order_id: str) -> OrderSnapshot:
    """Return the :class:`~houseedge.core.broker.OrderSnapshot` of an ib-async ``Trade``."""
    avg = float(trade.orderStatus.avgFillPrice or 0)
    completed = (
        getattr(trade.orderState, "completedTime", "") if hasattr(trade, "orderState") else ""
    )
    return OrderSnapshot(
        client_order_id=order_id,
        symbol=symbol,
        side=Side.BUY if trade.order.action == "BUY" else Side.SELL,
        qty=float(trade.order.totalQuantity),
        status=status_of(trade),
        filled_qty=_filled(trade),
        avg_fill_price=avg or None,
        venue_order_id=str(trade.order.permId or ""),
        ts=to_ns(completed) if completed else 0,
    )


def position_from(item: Any, symbol: str) -> Position:
    """Return our position of an ib-async ``Position`` (average cost per unit, not per lot)."""
    multiplier = float(item.contract.multiplier or 1)
    return Position(
        symbol=symbol, qty=float(item.position), avg_price=float(item.avgCost) / multiplier
    )


def account_from(values: Iterable[Any], account: str) -> Account:
    """Return cash, equity and buying power from ib-async ``AccountValue`` rows."""
    table: dict[str, tuple[float, str]] = {}
    tags = ("TotalCashValue", "NetLiquidation", "BuyingPower")
    for v in values:
        preferred = v.currency in ("BASE", "USD") or v.tag not in table
        if v.account == account and v.tag in tags and preferred:
            table[v.tag] = (float(v.value), v.currency)
    cash, currency = table.get("TotalCashValue", (0.0, "USD"))
    equity = table.get("NetLiquidation", (cash, currency))[0]
    buying = table.get("BuyingPower")
    return Account(
        cash=cash,
        equity=equity,
        buying_power=buying[0] if buying else None,
        currency="USD" if currency == "BASE" else currency,
    )
