"""Binance (spot; USD-M endpoints switchable) on python-binance: broker, feed, history.

Package shape (as every adapter, see ``adapters/README.md``): :mod:`.config` (settings),
:mod:`.client` (the :class:`~houseedge.core.broker.Broker`), :mod:`.feed` (live klines),
:mod:`.history` (klines into the store), :mod:`.mapping` (ours ↔ Binance's), :mod:`.errors`
(the one translation of python-binance's exceptions), :mod:`.reconcile` (REST sweeps) and
:mod:`.factory` (``build_venue``); besides them :mod:`.schemas` (msgspec payloads),
:mod:`.userstream`, :mod:`.filters`, :mod:`.ratelimit` and the private ``_lib`` and ``_rest``.
"""

from houseedge.adapters.binance.client import BinanceBroker
from houseedge.adapters.binance.config import BinanceConfig, config_from_settings
from houseedge.adapters.binance.errors import (
    BinanceAuthError,
    BinanceDuplicateOrder,
    BinanceError,
    BinanceOrderNotFound,
    BinanceOrderRejected,
    BinanceUnavailable,
    FilterViolation,
    RateLimited,
)
from houseedge.adapters.binance.factory import build_venue
from houseedge.adapters.binance.feed import BinanceFeed
from houseedge.adapters.binance.filters import SymbolFilters
from houseedge.adapters.binance.history import ingest_bars

__all__ = [
    "BinanceAuthError",
    "BinanceBroker",
    "BinanceConfig",
    "BinanceDuplicateOrder",
    "BinanceError",
    "BinanceFeed",
    "BinanceOrderNotFound",
    "BinanceOrderRejected",
    "BinanceUnavailable",
    "FilterViolation",
    "RateLimited",
    "SymbolFilters",
    "build_venue",
    "config_from_settings",
    "ingest_bars",
]
