"""Symbol filters from exchangeInfo, applied before an order is sent.

An order that breaks ``LOT_SIZE`` (step, min, max quantity), ``PRICE_FILTER`` (tick, min, max
price) or ``MIN_NOTIONAL``/``NOTIONAL`` is not sent: :meth:`SymbolFilters.check` raises
:class:`~houseedge.adapters.binance.errors.FilterViolation` naming the filter, the value and
what it must be. Quantities and prices are never silently rounded, because the journal holds
the order as decided and its fills must add up to it. :meth:`SymbolFilters.instrument` hands
the same increments to the live ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from houseedge.adapters.binance.errors import FilterViolation
from houseedge.core.types import Order, OrderType
from houseedge.live.instruments import Instrument

__all__ = ["SymbolFilters", "decimal_text", "parse_exchange_info"]


def decimal_text(value: float | Decimal) -> str:
    """Return a number as Binance wants it: plain decimal, no exponent, no trailing zeros.

    Examples
    --------
    >>> decimal_text(0.1), decimal_text(1e-05), decimal_text(25000.0)
    ('0.1', '0.00001', '25000')
    """
    text = format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class SymbolFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The trading rules of one symbol.

    Examples
    --------
    >>> f = SymbolFilters(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT",
    ...     step_size=Decimal("0.001"), min_qty=Decimal("0.001"), max_qty=Decimal("100"),
    ...     tick_size=Decimal("0.01"), min_price=Decimal("0.01"), max_price=Decimal("1e6"),
    ...     min_notional=Decimal("5"))
    >>> order = Order(client_order_id="o1", symbol="BTCUSDT", side="buy", qty=0.0015,
    ...     type="limit", limit_price=100.0)
    >>> f.check(order, last_price=100.0)
    Traceback (most recent call last):
    ...
    houseedge.adapters.binance.errors.FilterViolation: order o1: LOT_SIZE: quantity 0.0015 ...
    """

    symbol: str
    base_asset: str
    quote_asset: str
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    min_notional: Decimal = Decimal(0)
    notional_applies_to_market: bool = True

    def check(self, order: Order, *, last_price: float | None) -> None:
        """Raise :class:`FilterViolation` when ``order`` breaks a filter."""
        name = f"order {order.client_order_id}"
        qty = Decimal(repr(float(order.qty)))
        _multiple(name, "LOT_SIZE", "quantity", qty, self.step_size, self.min_qty, self.max_qty)
        for field in ("limit_price", "stop_price"):
            price = getattr(order, field)
            if price is not None:
                value = Decimal(repr(float(price)))
                _multiple(
                    name,
                    "PRICE_FILTER",
                    field,
                    value,
                    self.tick_size,
                    self.min_price,
                    self.max_price,
                )
        reference = order.limit_price if order.type is not OrderType.MARKET else last_price
        if order.type is OrderType.MARKET and not self.notional_applies_to_market:
            return
        if reference is not None and qty * Decimal(repr(float(reference))) < self.min_notional:
            notional = qty * Decimal(repr(float(reference)))
            msg = (
                f"{name}: NOTIONAL: {decimal_text(notional)} {self.quote_asset} is below the "
                f"minimum {decimal_text(self.min_notional)}"
            )
            raise FilterViolation(msg, code=-1013)

    def instrument(self) -> Instrument:
        """Return the ledger's instrument: the lot step and tick, priced in the quote asset."""
        return Instrument(
            symbol=self.symbol,
            qty_increment=self.step_size.normalize(),
            price_increment=self.tick_size.normalize(),
            currency=self.quote_asset,
        )


def _multiple(
    name: str, filter_: str, field: str, value: Decimal, step: Decimal, low: Decimal, high: Decimal
) -> None:
    if step > 0 and value % step != 0:
        msg = (
            f"{name}: {filter_}: {field} {decimal_text(value)} is not a multiple of "
            f"{decimal_text(step)}"
        )
        raise FilterViolation(msg, code=-1013)
    if value < low or (high > 0 and value > high):
        msg = (
            f"{name}: {filter_}: {field} {decimal_text(value)} is outside "
            f"[{decimal_text(low)}, {decimal_text(high)}]"
        )
        raise FilterViolation(msg, code=-1013)


def parse_exchange_info(info: dict[str, Any]) -> dict[str, SymbolFilters]:
    """Return the filters of every symbol in an exchangeInfo answer.

    Examples
    --------
    >>> info = {"symbols": [{"symbol": "ETHUSDT", "baseAsset": "ETH", "quoteAsset": "USDT",
    ...     "filters": [{"filterType": "LOT_SIZE", "stepSize": "0.0001", "minQty": "0.0001",
    ...                  "maxQty": "9000"},
    ...                 {"filterType": "MIN_NOTIONAL", "minNotional": "10"}]}]}
    >>> f = parse_exchange_info(info)["ETHUSDT"]
    >>> f.step_size, f.tick_size, f.min_notional
    (Decimal('0.0001'), Decimal('0'), Decimal('10'))
    """
    out: dict[str, SymbolFilters] = {}
    for entry in info.get("symbols", []):
        by_type: dict[str, dict[str, Any]] = {f["filterType"]: f for f in entry.get("filters", [])}
        lot, price = by_type.get("LOT_SIZE", {}), by_type.get("PRICE_FILTER", {})
        notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {}
        applies = notional.get("applyMinToMarket", notional.get("applyToMarket", True))
        out[entry["symbol"]] = SymbolFilters(
            symbol=entry["symbol"],
            base_asset=entry["baseAsset"],
            quote_asset=entry["quoteAsset"],
            step_size=Decimal(lot.get("stepSize", "0")),
            min_qty=Decimal(lot.get("minQty", "0")),
            max_qty=Decimal(lot.get("maxQty", "0")),
            tick_size=Decimal(price.get("tickSize", "0")),
            min_price=Decimal(price.get("minPrice", "0")),
            max_price=Decimal(price.get("maxPrice", "0")),
            min_notional=Decimal(notional.get("minNotional", "0")),
            notional_applies_to_market=bool(applies),
        )
    return out
