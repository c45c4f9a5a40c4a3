"""Our orders to IB orders: market, limit, stop, stop-limit and trailing, tagged by ``orderRef``.

IB has no server-side idempotency: the ``orderRef`` (prefix + our client order id) is the only
thing that ties a venue order back to ours after a reconnect, so every order carries one.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import ib_async

from houseedge.core.broker import TrailingStop
from houseedge.core.types import Order, OrderType, TimeInForce

__all__ = ["modified", "to_ib_order"]

_TYPES = {
    OrderType.MARKET: "MKT",
    OrderType.LIMIT: "LMT",
    OrderType.STOP: "STP",
    OrderType.STOP_LIMIT: "STP LMT",
}
_TIF = {
    TimeInForce.DAY: "DAY",
    TimeInForce.GTC: "GTC",
    TimeInForce.GTD: "GTD",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
}


def to_ib_order(
    order: Order, ref: str, *, account: str = "", trail: TrailingStop | None = None
) -> ib_async.Order:
    """Return the ib-async order for ``order``, tagged with ``ref``.

    Examples
    --------
    >>> from houseedge.core.types import Side
    >>> o = Order(client_order_id="a1", symbol="AAPL", side=Side.SELL, qty=5,
    ...           type=OrderType.STOP, stop_price=95.0)
    >>> ib = to_ib_order(o, "he:a1", trail=TrailingStop(amount=2.0))
    >>> ib.action, ib.orderType, ib.auxPrice, ib.trailStopPrice, ib.orderRef
    ('SELL', 'TRAIL', 2.0, 95.0, 'he:a1')
    """
    ib = ib_async.Order(
        action="BUY" if order.side.sign > 0 else "SELL",
        totalQuantity=float(order.qty),
        orderType=_TYPES[order.type],
        tif=_TIF[order.tif],
        orderRef=ref,
        account=account,
    )
    if order.limit_price is not None:
        ib.lmtPrice = order.limit_price
    if order.stop_price is not None:
        ib.auxPrice = order.stop_price
    if order.expire_ts is not None:
        expiry = datetime.fromtimestamp(order.expire_ts / 1e9, UTC)
        ib.goodTillDate = ib_async.util.formatIBDatetime(expiry)
    if trail is not None:
        _trail(ib, order, trail)
    return ib


def _trail(ib: ib_async.Order, order: Order, trailing: TrailingStop) -> None:
    if order.type not in (OrderType.STOP, OrderType.STOP_LIMIT) or order.stop_price is None:
        msg = f"order {order.client_order_id}: a trailing stop must be a stop or stop-limit order"
        raise ValueError(msg)
    ib.trailStopPrice = order.stop_price
    if order.type is OrderType.STOP_LIMIT and order.limit_price is not None:
        ib.orderType = "TRAIL LIMIT"
        ib.lmtPriceOffset = abs(order.stop_price - order.limit_price)
        ib.lmtPrice = ib_async.util.UNSET_DOUBLE
    else:
        ib.orderType = "TRAIL"
    if trailing.percent is not None:
        ib.trailingPercent = trailing.percent
        ib.auxPrice = ib_async.util.UNSET_DOUBLE
    else:
        ib.auxPrice = float(trailing.amount or 0.0)


def modified(
    ib: ib_async.Order,
    *,
    qty: float | None = None,
    limit_price: float | None = None,
    stop_price: float | None = None,
) -> ib_async.Order:
    """Return a copy of a placed order with new quantity or prices (same orderId and ref).

    Examples
    --------
    >>> placed = ib_async.Order(orderId=9, action="BUY", totalQuantity=5, orderType="LMT",
    ...                         lmtPrice=10.0, orderRef="he:x")
    >>> new = modified(placed, limit_price=10.5)
    >>> new.orderId, new.lmtPrice, new.totalQuantity, new.orderRef
    (9, 10.5, 5, 'he:x')
    """
    changes: dict[str, float] = {}
    if qty is not None:
        changes["totalQuantity"] = float(qty)
    if limit_price is not None:
        changes["lmtPrice"] = limit_price
    if stop_price is not None:
        changes["auxPrice"] = stop_price
    if not changes:
        msg = "a modify needs a new qty, limit_price or stop_price"
        raise ValueError(msg)
    # The copy has always started from a default soft-dollar tier, not the placed order's.
    return dataclasses.replace(ib, softDollarTier=ib_async.SoftDollarTier(), **changes)
