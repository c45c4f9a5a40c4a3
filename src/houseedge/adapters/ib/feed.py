"""The market data an IB session runs on: a replay of the store's bars.

The adapter trades through TWS but does not subscribe to IB market data (a separate,
per-exchange subscription): the engine decides on the stored bars, replayed at the settings'
speed (bars ingested with ``houseedge ib ingest``).
"""

from __future__ import annotations

from houseedge.adapters.ib.client import IbBroker
from houseedge.adapters.venue import VenueSettings
from houseedge.core.broker import MarketFeed

__all__ = ["build_feed"]


def build_feed(settings: VenueSettings, broker: IbBroker) -> MarketFeed:
    """Return the feed of an IB session: the settings' replay of the store."""
    del broker  # the feed does not share state with the broker
    return settings.replay_feed()
