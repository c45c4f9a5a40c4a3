"""The IB venue from the live settings (``broker = "ib"``): broker and feed.

Registered as ``ib`` in the ``houseedge.brokers`` entry-point group; the ``[ib]`` table and
``HOUSEEDGE_IB_*`` variables configure it (:class:`~houseedge.adapters.ib.config.IbConfig`).
"""

from __future__ import annotations

from houseedge.adapters.ib.client import IbBroker
from houseedge.adapters.ib.config import config_from_settings
from houseedge.adapters.ib.feed import build_feed
from houseedge.adapters.venue import Venue, VenueSettings

__all__ = ["build_venue"]


def build_venue(settings: VenueSettings) -> Venue:
    """Return the IB broker and its feed for ``settings``.

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> build_venue(LiveSettings(ib={"port": 4002, "client_id": 3})).broker.config.port
    4002
    """
    broker = IbBroker(config_from_settings(settings))
    return Venue(broker, build_feed(settings, broker))
