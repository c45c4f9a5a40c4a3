"""Alpaca adapter: the live engine's :class:`~houseedge.core.broker.Broker` on alpaca-py.

Package shape (as every adapter): ``config`` (settings, secrets), ``client`` (the broker),
``stream`` (trade_updates over WebSocket or SSE), ``schemas`` (msgspec views of the wire),
``mapping`` (wire to core types), ``errors`` (the one translation of third-party exceptions),
``reconcile`` (REST gap recovery), ``history`` (historical bars into the store) and ``factory``
(from :class:`~houseedge.app.settings.LiveSettings`).
"""

from houseedge.adapters.alpaca.client import AlpacaBroker, AlpacaStats
from houseedge.adapters.alpaca.config import AlpacaConfig
from houseedge.adapters.alpaca.errors import DuplicateClientOrderId, OrderNotFound
from houseedge.adapters.alpaca.mapping import TrailingStop

__all__ = [
    "AlpacaBroker",
    "AlpacaConfig",
    "AlpacaStats",
    "DuplicateClientOrderId",
    "OrderNotFound",
    "TrailingStop",
]
