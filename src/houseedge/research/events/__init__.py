"""The event-driven backtest for order-level policies."""

from houseedge.research.events._run import EventBacktestResult, EventContext, run_events
from houseedge.research.events._vector import VectorAsOrders

__all__ = ["EventBacktestResult", "EventContext", "VectorAsOrders", "run_events"]
