"""Typed REST calls over python-binance's ``AsyncClient``, paced and translated.

Every call goes through :class:`~houseedge.adapters.binance.ratelimit.RateLimiter` (the one
place exceptions are translated) and returns :mod:`~houseedge.adapters.binance.schemas`
structs. The method behind each call comes from
:data:`~houseedge.adapters.binance.config.ENDPOINTS`, the spot / USD-M switch.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from houseedge.adapters.binance.config import ENDPOINTS
from houseedge.adapters.binance.ratelimit import RateLimiter
from houseedge.adapters.binance.schemas import AccountInfo, MyTrade, RestOrder
from houseedge.core.broker import OrderNotFound

PAGE: Final = 1000  # Binance's largest page for allOrders, myTrades and klines


class BinanceRest:
    """The REST calls the adapter makes."""

    def __init__(self, client: Any, limiter: RateLimiter, market: str = "spot") -> None:
        self.client, self.limiter = client, limiter
        self.methods = ENDPOINTS[market]

    async def call(self, role: str, *, retry_unknown: bool = True, **params: Any) -> Any:
        """Call the client method behind ``role`` with ``params``."""
        method = getattr(self.client, self.methods[role])
        return await self.limiter.call(
            lambda: method(**params), what=role, retry_unknown=retry_unknown
        )

    async def create_order(self, params: dict[str, Any]) -> dict[str, Any]:
        """Send an order once (an unknown outcome is raised, never retried here)."""
        return await self.call("create_order", retry_unknown=False, **params)

    async def get_order(self, symbol: str, client_order_id: str) -> RestOrder | None:
        """Return the order with our id, or None when Binance does not know it."""
        try:
            raw = await self.call("get_order", symbol=symbol, origClientOrderId=client_order_id)
        except OrderNotFound:
            return None
        return msgspec.convert(raw, RestOrder)

    async def cancel(self, symbol: str, client_order_id: str) -> RestOrder:
        """Cancel the order with our id."""
        raw = await self.call("cancel_order", symbol=symbol, origClientOrderId=client_order_id)
        return msgspec.convert(raw, RestOrder)

    async def open_orders(self, symbol: str) -> list[RestOrder]:
        """Return the symbol's open orders."""
        raw = await self.call("open_orders", symbol=symbol)
        return msgspec.convert(raw, list[RestOrder])

    async def all_orders(
        self, symbol: str, *, from_order_id: int | None = None, start_ms: int | None = None
    ) -> list[RestOrder]:
        """Return every order from ``from_order_id`` (or since ``start_ms``), page by page."""
        out: list[RestOrder] = []
        params: dict[str, Any] = {"symbol": symbol, "limit": PAGE}
        if from_order_id is not None:
            params["orderId"] = from_order_id
        elif start_ms is not None:
            params["startTime"] = start_ms
        while True:
            page = msgspec.convert(await self.call("all_orders", **params), list[RestOrder])
            out += page
            if len(page) < PAGE:
                return out
            params.pop("startTime", None)
            params["orderId"] = page[-1].order_id + 1

    async def my_trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        order_id: int | None = None,
    ) -> list[MyTrade]:
        """Return our trades from trade id ``from_id`` (or since ``start_ms``), page by page."""
        out: list[MyTrade] = []
        params: dict[str, Any] = {"symbol": symbol, "limit": PAGE}
        if order_id is not None:
            params["orderId"] = order_id
        if from_id is not None:
            params["fromId"] = from_id
        elif start_ms is not None:
            params["startTime"] = start_ms
        while True:
            page = msgspec.convert(await self.call("my_trades", **params), list[MyTrade])
            out += page
            if len(page) < PAGE or (from_id is None and start_ms is None):
                return out
            params.pop("startTime", None)
            params["fromId"] = page[-1].id + 1

    async def latest_trade_id(self, symbol: str) -> int:
        """Return the id of our most recent trade in ``symbol`` (0 when none)."""
        raw = await self.call("my_trades", symbol=symbol, limit=1)
        trades = msgspec.convert(raw, list[MyTrade])
        return trades[-1].id if trades else 0

    async def account(self) -> AccountInfo:
        """Return the account's balances."""
        return msgspec.convert(await self.call("account"), AccountInfo)

    async def exchange_info(self) -> dict[str, Any]:
        """Return exchangeInfo as sent."""
        return await self.call("exchange_info")
