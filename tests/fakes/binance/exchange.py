"""The fake Binance's in-memory matching engine: orders against a scripted price path.

Pure and synchronous: every call returns the user-data events (``executionReport``,
``outboundAccountPosition``) it caused, and the server fans them out. Quantities and prices are
``Decimal``; JSON renders them as Binance does (strings with 8 decimals). Trade ids are per
symbol and advance by a varying step, because other participants' trades interleave with ours
on a real venue (so ``fromId=last+1`` must not assume contiguous ids).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

_Q = Decimal("0.00000001")


def fmt(value: Decimal | None) -> str:
    """Render a decimal the way Binance does (``"0.00100000"``)."""
    return f"{(value or Decimal(0)):.8f}"


@dataclass
class SymbolSpec:
    """One symbol's trading rules (what exchangeInfo reports)."""

    symbol: str
    base: str
    quote: str
    step: Decimal = Decimal("0.001")
    min_qty: Decimal = Decimal("0.001")
    max_qty: Decimal = Decimal("9000")
    tick: Decimal = Decimal("0.01")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    min_notional: Decimal = Decimal("5")

    def info(self) -> dict[str, Any]:
        """Return the exchangeInfo entry of the symbol."""
        return {
            "symbol": self.symbol, "status": "TRADING", "baseAsset": self.base,
            "baseAssetPrecision": 8, "quoteAsset": self.quote, "quotePrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                           "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
            "isSpotTradingAllowed": True, "permissions": [], "permissionSets": [["SPOT"]],
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": fmt(self.min_price),
                 "maxPrice": fmt(self.max_price), "tickSize": fmt(self.tick)},
                {"filterType": "LOT_SIZE", "minQty": fmt(self.min_qty),
                 "maxQty": fmt(self.max_qty), "stepSize": fmt(self.step)},
                {"filterType": "NOTIONAL", "minNotional": fmt(self.min_notional),
                 "applyMinToMarket": True, "maxNotional": "9000000.00000000",
                 "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
        }  # fmt: skip


@dataclass
class FakeOrder:
    order_id: int
    client_id: str
    symbol: str
    side: str
    type: str
    tif: str
    qty: Decimal
    price: Decimal
    stop: Decimal
    time: int
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    update_time: int = 0
    triggered: bool = False

    @property
    def left(self) -> Decimal:
        return self.qty - self.executed

    @property
    def open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def rest(self) -> dict[str, Any]:
        """Return the order as ``GET /api/v3/order`` does."""
        return {
            "symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
            "clientOrderId": self.client_id, "price": fmt(self.price), "origQty": fmt(self.qty),
            "executedQty": fmt(self.executed), "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status, "timeInForce": self.tif, "type": self.type, "side": self.side,
            "stopPrice": fmt(self.stop), "icebergQty": fmt(None), "time": self.time,
            "updateTime": self.update_time or self.time, "isWorking": self.open,
            "workingTime": self.time, "origQuoteOrderQty": fmt(None),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }  # fmt: skip


@dataclass
class FakeTrade:
    id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool

    def rest(self) -> dict[str, Any]:
        """Return the trade as ``GET /api/v3/myTrades`` does."""
        return {
            "symbol": self.symbol, "id": self.id, "orderId": self.order_id, "orderListId": -1,
            "price": fmt(self.price), "qty": fmt(self.qty), "quoteQty": fmt(self.price * self.qty),
            "commission": fmt(self.commission), "commissionAsset": self.commission_asset,
            "time": self.time, "isBuyer": self.is_buyer, "isMaker": self.is_maker,
            "isBestMatch": True,
        }  # fmt: skip


class OrderError(Exception):
    """A request Binance refuses: ``code`` and ``msg`` as the venue sends them."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


@dataclass
class Exchange:
    """The matching engine: one price path per symbol, stepped by the tests."""

    specs: dict[str, SymbolSpec]
    paths: dict[str, list[Decimal]]
    clock: Any  # () -> ms
    fee_rate: Decimal = Decimal("0.001")
    fill_chunk: Decimal | None = None  # most a resting order fills per step (None: all)
    market_chunk: Decimal | None = None  # a market order fills in trades of this size
    start_ms: int = 1_700_000_000_000
    cursor: dict[str, int] = field(default_factory=dict)
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    trades: dict[str, list[FakeTrade]] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)
    _order_ids: Any = field(default_factory=lambda: itertools.count(1001))
    _trade_ids: dict[str, int] = field(default_factory=dict)

    def price(self, symbol: str) -> Decimal:
        """Return the symbol's current price."""
        return self.paths[symbol][self.cursor.get(symbol, 0)]

    def kline(self, symbol: str, index: int) -> list[Any]:
        """Return the 1m kline of path point ``index`` (open = the previous point)."""
        path = self.paths[symbol]
        close, open_ = path[index], path[max(index - 1, 0)]
        t = self.start_ms + index * 60_000
        return [t, fmt(open_), fmt(max(open_, close)), fmt(min(open_, close)), fmt(close),
                "10.00000000", t + 59_999, fmt(close * 10), 5, "5.00000000",
                fmt(close * 5), "0"]  # fmt: skip

    # -- orders ---------------------------------------------------------------------------

    def place(self, p: dict[str, str]) -> tuple[FakeOrder, list[dict[str, Any]]]:
        """Place an order from REST parameters; return it and the events it caused."""
        symbol = p.get("symbol", "")
        if symbol not in self.specs:
            raise OrderError(-1121, "Invalid symbol.")
        cid = p.get("newClientOrderId") or f"x-fake{next(self._order_ids)}"
        if any(o.client_id == cid and o.open for o in self.orders.values()):
            raise OrderError(-2010, "Duplicate order sent.")
        kind = p.get("type", "")
        if kind not in ("MARKET", "LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
            raise OrderError(-1116, "Invalid orderType.")
        order = FakeOrder(
            order_id=next(self._order_ids), client_id=cid, symbol=symbol, side=p["side"],
            type=kind, tif=p.get("timeInForce", "GTC"), qty=Decimal(p["quantity"]),
            price=Decimal(p.get("price", "0")), stop=Decimal(p.get("stopPrice", "0")),
            time=self.clock(),
        )  # fmt: skip
        self._check_filters(order)
        self.orders[order.order_id] = order
        events = [self._report(order, "NEW")]
        if kind == "MARKET":
            events += self._fill(order, self.price(symbol), self.market_chunk, maker=False)
        elif kind == "LIMIT":
            events += self._match_new_limit(order)
        return order, events

    def _check_filters(self, order: FakeOrder) -> None:
        spec = self.specs[order.symbol]
        if order.qty < spec.min_qty or order.qty % spec.step:
            raise OrderError(-1013, "Filter failure: LOT_SIZE")
        if order.type != "MARKET" and (order.price < spec.min_price or order.price % spec.tick):
            raise OrderError(-1013, "Filter failure: PRICE_FILTER")
        price = order.price if order.type != "MARKET" else self.price(order.symbol)
        if price * order.qty < spec.min_notional:
            raise OrderError(-1013, "Filter failure: NOTIONAL")

    def _match_new_limit(self, order: FakeOrder) -> list[dict[str, Any]]:
        price = self.price(order.symbol)
        if self._crosses(order, price):
            events = self._fill(order, price, self.market_chunk, maker=False)
        else:
            events = []
        if order.open and order.tif in ("IOC", "FOK"):
            order.status = "EXPIRED"
            events.append(self._report(order, "EXPIRED"))
        return events

    @staticmethod
    def _crosses(order: FakeOrder, price: Decimal) -> bool:
        return price <= order.price if order.side == "BUY" else price >= order.price

    def cancel(self, p: dict[str, str]) -> tuple[FakeOrder, list[dict[str, Any]]]:
        """Cancel an open order found by ``orderId`` or ``origClientOrderId``."""
        order = self.find(p)
        if order is None or not order.open:
            raise OrderError(-2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.update_time = self.clock()
        return order, [self._report(order, "CANCELED")]

    def find(self, p: dict[str, str]) -> FakeOrder | None:
        """Return the order named by ``orderId`` or ``origClientOrderId`` (latest first)."""
        if "orderId" in p:
            return self.orders.get(int(p["orderId"]))
        cid = p.get("origClientOrderId")
        found = [o for o in self.orders.values() if o.client_id == cid and o.symbol == p["symbol"]]
        return found[-1] if found else None

    # -- the price path -------------------------------------------------------------------

    def step(self, symbol: str) -> tuple[bool, list[dict[str, Any]]]:
        """Advance the symbol one point along its path; return (moved, events)."""
        index = self.cursor.get(symbol, 0)
        if index + 1 >= len(self.paths[symbol]):
            return False, []
        self.cursor[symbol] = index + 1
        price = self.price(symbol)
        events: list[dict[str, Any]] = []
        for order in [o for o in self.orders.values() if o.symbol == symbol and o.open]:
            if order.type in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT") and not order.triggered:
                order.triggered = self._triggers(order, price)
                if not order.triggered:
                    continue
            if self._crosses(order, price):
                events += self._fill(order, order.price, self.fill_chunk, maker=True)
        return True, events

    @staticmethod
    def _triggers(order: FakeOrder, price: Decimal) -> bool:
        rising = (order.side == "BUY") == (order.type == "STOP_LOSS_LIMIT")
        return price >= order.stop if rising else price <= order.stop

    def _fill(
        self, order: FakeOrder, price: Decimal, chunk: Decimal | None, *, maker: bool
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        once = chunk is not None and maker  # a resting order fills one chunk per step
        while order.left > 0:
            qty = order.left if chunk is None else min(chunk, order.left)
            events += self._trade(order, price, qty, maker)
            if once:
                break
        return events

    def _trade(self, order: FakeOrder, price: Decimal, qty: Decimal, maker: bool) -> list[Any]:
        spec = self.specs[order.symbol]
        last = self._trade_ids.get(order.symbol, 5000)
        tid = last + 1 + len(self.trades.get(order.symbol, ())) % 3
        self._trade_ids[order.symbol] = tid
        fee = (price * qty * self.fee_rate).quantize(_Q)
        now = self.clock()
        trade = FakeTrade(tid, order.order_id, order.symbol, price, qty, fee, spec.quote, now,
                          order.side == "BUY", maker)  # fmt: skip
        self.trades.setdefault(order.symbol, []).append(trade)
        sign = 1 if order.side == "BUY" else -1
        self.balances[spec.base] = self.balances.get(spec.base, Decimal(0)) + sign * qty
        quote = self.balances.get(spec.quote, Decimal(0)) - sign * price * qty - fee
        self.balances[spec.quote] = quote
        order.executed += qty
        order.cum_quote += price * qty
        order.status = "FILLED" if order.left == 0 else "PARTIALLY_FILLED"
        order.update_time = now
        return [self._report(order, "TRADE", trade), self._account(spec)]

    def _report(
        self, order: FakeOrder, execution: str, trade: FakeTrade | None = None
    ) -> dict[str, Any]:
        now = self.clock()
        return {
            "e": "executionReport", "E": now, "s": order.symbol, "c": order.client_id,
            "S": order.side, "o": order.type, "f": order.tif, "q": fmt(order.qty),
            "p": fmt(order.price), "P": fmt(order.stop), "F": fmt(None), "g": -1,
            "C": order.client_id if execution == "CANCELED" else "", "x": execution,
            "X": order.status, "r": "NONE", "i": order.order_id,
            "l": fmt(trade.qty if trade else None), "z": fmt(order.executed),
            "L": fmt(trade.price if trade else None),
            "n": fmt(trade.commission if trade else None),
            "N": trade.commission_asset if trade else None, "T": now,
            "t": trade.id if trade else -1, "v": 0, "I": now, "w": order.open,
            "m": bool(trade and trade.is_maker), "M": False, "O": order.time,
            "Z": fmt(order.cum_quote), "Y": fmt(trade.price * trade.qty if trade else None),
            "Q": fmt(None), "W": order.time, "V": "EXPIRE_MAKER",
        }  # fmt: skip

    def _account(self, spec: SymbolSpec) -> dict[str, Any]:
        assets = (spec.base, spec.quote)
        balances = [{"a": a, "f": fmt(self.balances.get(a)), "l": fmt(None)} for a in assets]
        return {"e": "outboundAccountPosition", "E": self.clock(), "u": self.clock(), "B": balances}

    def position(self, symbol: str) -> Decimal:
        """Return the base-asset balance of the symbol (our position)."""
        return self.balances.get(self.specs[symbol].base, Decimal(0))
