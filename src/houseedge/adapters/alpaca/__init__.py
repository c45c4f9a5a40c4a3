"""Alpaca adapter: the live engine's :class:`~houseedge.core.broker.Broker` on alpaca-py.

Package shape (as every adapter, see ``adapters/README.md``): ``config`` (settings, secrets),
``client`` (the broker), ``feed`` (market data: the store's replay), ``history`` (historical
bars into the store), ``mapping`` (wire to core types), ``errors`` (the one translation of
third-party exceptions), ``reconcile`` (REST gap recovery) and ``factory`` (``build_venue``);
private to it: ``stream`` (trade_updates over WebSocket or SSE), ``schemas`` (msgspec views of
the wire) and ``_rest``.
"""

from houseedge.adapters.alpaca.client import AlpacaBroker, AlpacaStats
from houseedge.adapters.alpaca.config import AlpacaConfig, config_from_settings
from houseedge.adapters.alpaca.factory import build_venue
from houseedge.adapters.alpaca.history import ingest_bars

__all__ = [
    "AlpacaBroker",
    "AlpacaConfig",
    "AlpacaStats",
    "build_venue",
    "config_from_settings",
    "ingest_bars",
]
