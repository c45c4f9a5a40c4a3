"""The Binance venue from the live settings (``broker = "binance"``): broker and live feed.

Registered as ``binance`` in the ``houseedge.brokers`` entry-point group. Configuration: the
``[binance]`` table (any :class:`~houseedge.adapters.binance.config.BinanceConfig` field but
the keys) and ``HOUSEEDGE_BINANCE_*`` variables; the keys come from the environment only
(``HOUSEEDGE_BINANCE_API_KEY`` / ``_API_SECRET``, or ``HOUSEEDGE_BROKER_KEY`` / ``_SECRET``).
The engine's ``symbols`` are the broker's when the table names none.
"""

from __future__ import annotations

from houseedge.adapters.binance.client import BinanceBroker
from houseedge.adapters.binance.config import config_from_settings
from houseedge.adapters.binance.feed import build_feed
from houseedge.adapters.venue import Venue, VenueSettings

__all__ = ["build_venue"]


def build_venue(settings: VenueSettings) -> Venue:
    """Return the broker and its live feed (sharing last prices) for the settings.

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> broker, feed = build_venue(LiveSettings(symbols=["BTCUSDT"]))
    >>> broker.name, feed.marks is broker.marks
    ('binance', True)
    """
    broker = BinanceBroker(config_from_settings(settings))
    return Venue(broker, build_feed(settings, broker))
