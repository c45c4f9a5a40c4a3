"""The event-driven backtest for order-level policies."""

from houseedge.research.events._market import Market, build_market, sorted_bars
from houseedge.research.events._run import EventBacktestResult, EventContext, run_events
from houseedge.research.events._vector import VectorAsOrders

__all__ = [
    "EventBacktestResult",
    "EventContext",
    "Market",
    "VectorAsOrders",
    "build_market",
    "run_events",
    "sorted_bars",
]
