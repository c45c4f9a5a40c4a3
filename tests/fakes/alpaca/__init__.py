"""A loopback Alpaca server (WS, REST, SSE, historical bars) for the real alpaca-py clients."""

from tests.fakes.alpaca.server import FakeAlpaca, Faults, Stats
from tests.fakes.alpaca.venue import Venue, VenueError

__all__ = ["FakeAlpaca", "Faults", "Stats", "Venue", "VenueError"]
