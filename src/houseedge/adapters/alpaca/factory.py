"""The Alpaca venue from the live settings (``broker = "alpaca"``): broker and feed.

Registered as ``alpaca`` in the ``houseedge.brokers`` entry-point group. Keys come from
``HOUSEEDGE_BROKER_KEY``/``HOUSEEDGE_BROKER_SECRET`` (the settings' secrets) or
``HOUSEEDGE_ALPACA_API_KEY``/``HOUSEEDGE_ALPACA_API_SECRET``; the rest from the ``[alpaca]``
table and ``HOUSEEDGE_ALPACA_*`` (see :class:`~houseedge.adapters.alpaca.config.AlpacaConfig`).
"""

from __future__ import annotations

from houseedge.adapters.alpaca.client import AlpacaBroker
from houseedge.adapters.alpaca.config import config_from_settings
from houseedge.adapters.alpaca.feed import build_feed
from houseedge.adapters.venue import Venue, VenueSettings

__all__ = ["build_venue"]


def build_venue(settings: VenueSettings) -> Venue:
    """Return the Alpaca broker and its feed for ``settings``.

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> venue = build_venue(LiveSettings(broker_key="k", broker_secret="s"))
    >>> venue.broker.name
    'alpaca'
    """
    broker = AlpacaBroker(config_from_settings(settings))
    return Venue(broker, build_feed(settings, broker))
