"""The live engine: pipeline, decisions, fast-path steppers and reconciliation.

Semantics
---------
Bars and decisions
    With ``timeframe`` set, trades and lower-timeframe bars are aggregated into bars of it;
    without it the feed's bars are used as they come. A policy decides on each closed bar of its
    symbols, at the bar's close time; orders carry it as ``ts`` and the risk gate's clock is it.
Paper parity
    A broker with ``on_market`` (the embedded :class:`~houseedge.live.paper.PaperBroker`) is given
    every market event *before* policies decide on the bar it closes, and the fills it produces
    are journaled and booked first; so a decision on bar ``t`` fills from bar ``t + 1``'s open,
    exactly as :func:`~houseedge.research.backtest.backtest` trades.
Journal first
    Orders, reports and fills are journaled before they are sent or booked; events are journaled
    (ids from the journal) before they are published (:mod:`houseedge.live.engine._book`).
Start
    :meth:`Engine.start` rebuilds the book from the journal, reconciles with the broker
    (:mod:`houseedge.live.engine.reconcile`), resubmits orders journaled but never sent, and only
    then becomes :attr:`~Engine.ready` and starts trading.
Staleness
    When no market event arrives for ``staleness_seconds``, decisions pause (engine event
    ``feed_stale``); the next event resumes them (``feed_recovered``) before it is decided on.
Observability
    Given an :class:`~houseedge.live.observability.Observability`, the engine traces each bar
    it decides on (span ``bar``), each decision that made orders (``decision``, a child of its
    bar's span, started when the decision began), its risk check, journal commit and submit
    (``risk``), each order it submits (``order``, a child of ``risk``, covering the broker's
    ``submit``) and each fill (``fill``, a child of its order's span). The decision's,
    risk's and orders' spans are made once its orders are sent, with the times measured on
    the way, so no span sits between a bar and its orders. It records each order's
    latency from ``submit`` to the broker's first report of it, and each decision's from the
    arrival of the event that closed its bar (:mod:`houseedge.live.figures`). The operator
    figures (equity, PnL, drawdown, exposure per account and strategy) are taken from the
    ledger snapshot the mark made, after the bar's orders are sent, and before a scrape when
    fills were booked since; breaker and strategy states are read at scrape time
    (:mod:`houseedge.live.engine._figures`). The counts come from the events the service
    relays; without an Observability none of this runs (nothing per market event, one
    ``is None`` test per bar, decision and report).
Drain
    :meth:`Engine.stop` stops decisions, waits up to ``timeout`` for orders in flight (sent, not
    yet acknowledged or cancel pending), optionally cancels working orders, journals, closes the
    broker and logs the counts.
"""

from houseedge.live.engine._engine import Engine
from houseedge.live.engine._manager import Window
from houseedge.live.engine._strategies import DEFAULT_DECISION_BUDGET, Strategy, StrategyState
from houseedge.live.engine.pipeline import (
    History,
    LiveContext,
    OrderRunner,
    PolicySpec,
    VectorRunner,
    make_runner,
)
from houseedge.live.engine.reconcile import reconcile
from houseedge.live.engine.steppers import Stepper, Unsupported, exact_sum, stepper_factory

__all__ = [
    "DEFAULT_DECISION_BUDGET",
    "Engine",
    "History",
    "LiveContext",
    "OrderRunner",
    "PolicySpec",
    "Stepper",
    "Strategy",
    "StrategyState",
    "Unsupported",
    "VectorRunner",
    "Window",
    "exact_sum",
    "make_runner",
    "reconcile",
    "stepper_factory",
]
