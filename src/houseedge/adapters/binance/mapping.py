"""Translations between houseedge's order types and Binance's, both ways.

Order types: ``MARKET``; ``LIMIT``; ``STOP_LIMIT`` is ``STOP_LOSS_LIMIT`` (a buy triggers as the
price rises to the stop, a sell as it falls), or ``TAKE_PROFIT_LIMIT`` when the order's ``tag``
is ``"take_profit"`` (a sell triggers as the price rises, a buy as it falls); ``STOP`` (a stop
market) is ``STOP_LOSS``. Time in force: Binance has no ``DAY``: it becomes ``GTC`` (the
engine's drain cancels what it must); ``GTD`` is refused.

Fill ids are ``"<symbol>:<trade id>"`` (Binance trade ids are per symbol); the fill's
``order_id`` is our ``client_order_id``. Commission paid in the quote asset is the fee; one
paid in another asset is valued at the fill price when it is the base asset, else recorded as
0 with the asset in the log (BNB discounts need a price the adapter does not have).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from houseedge.adapters.binance.errors import BinanceOrderRejected
from houseedge.adapters.binance.filters import decimal_text
from houseedge.adapters.binance.schemas import ExecutionReport, MyTrade, RestOrder
from houseedge.core.broker import OrderSnapshot
from houseedge.core.execution import OrderStatus
from houseedge.core.types import (
    Fill,
    Liquidity,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderReport,
    OrderType,
    Side,
    TimeInForce,
)

__all__ = [
    "STATUS",
    "fill_from_report",
    "fill_from_trade",
    "fill_id",
    "order_params",
    "report_from_execution",
    "snapshot_from_rest",
    "status_report",
]

NANOS_PER_MS: Final = 1_000_000
STATUS: Final[dict[str, OrderStatus]] = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING_NEW": OrderStatus.SUBMITTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PENDING_CANCEL": OrderStatus.CANCEL_REQUESTED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
"""Binance order status → ours."""

_TIF: Final = {
    TimeInForce.GTC: "GTC",
    TimeInForce.DAY: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
}


def fill_id(symbol: str, trade_id: int) -> str:
    """Return the fill id of a Binance trade.

    Examples
    --------
    >>> fill_id("BTCUSDT", 5001)
    'BTCUSDT:5001'
    """
    return f"{symbol}:{trade_id}"


def order_params(order: Order) -> dict[str, Any]:
    """Return ``create_order`` parameters for ``order`` (our id as ``newClientOrderId``).

    Examples
    --------
    >>> order = Order(client_order_id="o1", symbol="BTCUSDT", side="sell", qty=0.5,
    ...     type="stop_limit", limit_price=99.0, stop_price=100.0, tif="gtc", tag="take_profit")
    >>> sorted(order_params(order).items())  # doctest: +NORMALIZE_WHITESPACE
    [('newClientOrderId', 'o1'), ('newOrderRespType', 'FULL'), ('price', '99'),
     ('quantity', '0.5'), ('side', 'SELL'), ('stopPrice', '100'), ('symbol', 'BTCUSDT'),
     ('timeInForce', 'GTC'), ('type', 'TAKE_PROFIT_LIMIT')]
    """
    if order.tif not in _TIF:
        msg = f"order {order.client_order_id}: Binance spot has no time in force {order.tif}"
        raise BinanceOrderRejected(msg)
    params: dict[str, Any] = {
        "symbol": order.symbol,
        "side": order.side.value.upper(),
        "type": _venue_type(order),
        "quantity": decimal_text(order.qty),
        "newClientOrderId": order.client_order_id,
        "newOrderRespType": "FULL",
    }
    if order.limit_price is not None:
        params["price"] = decimal_text(order.limit_price)
        params["timeInForce"] = _TIF[order.tif]
    if order.stop_price is not None:
        params["stopPrice"] = decimal_text(order.stop_price)
    return params


def _venue_type(order: Order) -> str:
    take_profit = order.tag == "take_profit"
    if order.type is OrderType.STOP_LIMIT:
        return "TAKE_PROFIT_LIMIT" if take_profit else "STOP_LOSS_LIMIT"
    if order.type is OrderType.STOP:
        return "TAKE_PROFIT" if take_profit else "STOP_LOSS"
    return order.type.value.upper()


def _fee(commission: Decimal, asset: str | None, price: Decimal, base: str, quote: str) -> float:
    if asset in (None, quote) or commission == 0:
        return float(commission)
    if asset == base:
        return float(commission * price)
    return 0.0


def fill_from_report(report: ExecutionReport, *, base: str, quote: str) -> Fill:
    """Return the fill of a ``TRADE`` execution report."""
    return Fill(
        fill_id=fill_id(report.symbol, report.trade_id),
        order_id=report.client_order_id,
        symbol=report.symbol,
        side=Side(report.side.lower()),
        qty=float(report.last_qty),
        price=float(report.last_price),
        fee=_fee(report.commission, report.commission_asset, report.last_price, base, quote),
        ts=report.transaction_time * NANOS_PER_MS,
        liquidity=Liquidity.MAKER if report.maker else Liquidity.TAKER,
    )


def fill_from_trade(trade: MyTrade, client_order_id: str, *, base: str, quote: str) -> Fill:
    """Return the fill of a ``myTrades`` row, for our order ``client_order_id``."""
    return Fill(
        fill_id=fill_id(trade.symbol, trade.id),
        order_id=client_order_id,
        symbol=trade.symbol,
        side=Side.BUY if trade.is_buyer else Side.SELL,
        qty=float(trade.qty),
        price=float(trade.price),
        fee=_fee(trade.commission, trade.commission_asset, trade.price, base, quote),
        ts=trade.time * NANOS_PER_MS,
        liquidity=Liquidity.MAKER if trade.is_maker else Liquidity.TAKER,
    )


def report_from_execution(report: ExecutionReport) -> OrderReport | None:
    """Return the non-fill report an execution report means (None for fills and the rest)."""
    ts = report.transaction_time * NANOS_PER_MS
    x = report.execution_type
    if x == "NEW":
        return OrderAccepted(
            order_id=report.client_order_id, ts=ts, venue_order_id=str(report.order_id)
        )
    if x == "CANCELED":
        return OrderCancelled(order_id=report.orig_client_order_id or report.client_order_id, ts=ts)
    if x in ("EXPIRED", "TRADE_PREVENTION"):
        return OrderExpired(order_id=report.client_order_id, ts=ts)
    if x == "REJECTED":
        return OrderRejected(order_id=report.client_order_id, ts=ts, reason=report.reject_reason)
    return None


def snapshot_from_rest(order: RestOrder) -> OrderSnapshot:
    """Return the reconciliation snapshot of a REST order."""
    executed = order.executed_qty
    average = float(order.cummulative_quote_qty / executed) if executed > 0 else None
    return OrderSnapshot(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=Side(order.side.lower()),
        qty=float(order.orig_qty),
        status=STATUS[order.status],
        filled_qty=float(executed),
        avg_fill_price=average,
        venue_order_id=str(order.order_id),
        ts=(order.update_time or order.transact_time or order.time) * NANOS_PER_MS,
    )


def status_report(order: RestOrder) -> OrderReport | None:
    """Return the report that moves an order to its REST status (fills come separately).

    Every status the snapshot has no report for (new, filled) acknowledges the order here: a
    REST answer means the venue took it.
    """
    snap = snapshot_from_rest(order)
    return snap.report("venue") or OrderAccepted(
        order_id=snap.client_order_id, ts=snap.ts, venue_order_id=snap.venue_order_id
    )
