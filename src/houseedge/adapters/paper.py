"""The embedded paper venue (``broker = "paper"``): the paper broker on a replay of the store.

Registered as ``paper`` in the ``houseedge.brokers`` entry-point group, as the real venues are;
it needs no extra package.
"""

from __future__ import annotations

from houseedge.adapters.venue import Venue, VenueSettings
from houseedge.live.paper import PaperBroker

__all__ = ["build_venue"]


def build_venue(settings: VenueSettings) -> Venue:
    """Return the paper broker (the settings' costs, latency and cash) and the store's replay.

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> build_venue(LiveSettings(store="/tmp/houseedge-no-store")).broker.name
    'paper'
    """
    broker = PaperBroker(
        settings.cost_model(),
        latency_ns=round(settings.latency_ms * 1e6),
        starting_cash=settings.cash,
    )
    return Venue(broker, settings.replay_feed())
