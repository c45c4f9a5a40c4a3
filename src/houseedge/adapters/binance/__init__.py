"""Binance (spot; USD-M endpoints switchable) on python-binance: broker, feed, history.

Package shape (as every adapter): :mod:`.config` (settings), :mod:`.client` (the
:class:`~houseedge.core.broker.Broker`), :mod:`.schemas` (msgspec payloads), :mod:`.mapping`
(ours ↔ Binance's), :mod:`.errors` (the one translation of python-binance's exceptions), plus
:mod:`.userstream`, :mod:`.reconcile`, :mod:`.filters`, :mod:`.ratelimit`, :mod:`.feed`,
:mod:`.history` and :mod:`.factory`.
"""

from houseedge.adapters.binance.client import BinanceBroker
from houseedge.adapters.binance.config import BinanceConfig
from houseedge.adapters.binance.errors import (
    BinanceAuthError,
    BinanceError,
    BinanceOrderRejected,
    BinanceUnavailable,
    DuplicateOrder,
    FilterViolation,
    OrderNotFound,
    RateLimited,
)
from houseedge.adapters.binance.filters import SymbolFilters

__all__ = [
    "BinanceAuthError",
    "BinanceBroker",
    "BinanceConfig",
    "BinanceError",
    "BinanceOrderRejected",
    "BinanceUnavailable",
    "DuplicateOrder",
    "FilterViolation",
    "OrderNotFound",
    "RateLimited",
    "SymbolFilters",
]
