"""The market data an Alpaca session runs on: a replay of the store's bars.

The adapter trades through Alpaca but does not stream Alpaca's market data (a separate
subscription): the engine decides on the stored bars, replayed at the settings' speed, so a
strategy can be tried on a paper account against bars ingested with ``houseedge alpaca ingest``.
"""

from __future__ import annotations

from houseedge.adapters.alpaca.client import AlpacaBroker
from houseedge.adapters.venue import VenueSettings
from houseedge.core.broker import MarketFeed

__all__ = ["build_feed"]


def build_feed(settings: VenueSettings, broker: AlpacaBroker) -> MarketFeed:
    """Return the feed of an Alpaca session: the settings' replay of the store."""
    del broker  # the feed does not share state with the broker
    return settings.replay_feed()
