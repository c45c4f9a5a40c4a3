"""A fake TWS/Gateway speaking the TWS API (server version 178) for ib-async on 127.0.0.1."""

from tests.fakes.ib.server import FakeTws, Faults
from tests.fakes.ib.venue import Venue
from tests.fakes.ib.wire import FakeContract

__all__ = ["FakeContract", "FakeTws", "Faults", "Venue"]
