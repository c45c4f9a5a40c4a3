"""A loopback Binance for the adapter's tests: see :mod:`tests.fakes.binance.server`."""

from tests.fakes.binance.exchange import Exchange, SymbolSpec
from tests.fakes.binance.server import FakeBinance, Faults

__all__ = ["Exchange", "FakeBinance", "Faults", "SymbolSpec"]
