"""The paper broker: a venue simulated in-process with the backtest's matching."""

from houseedge.live.paper._broker import PaperBroker

__all__ = ["PaperBroker"]
