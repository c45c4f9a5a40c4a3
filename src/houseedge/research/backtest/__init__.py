"""Vectorised backtests: prepare targets, simulate fills, build the ledger and equity.

:func:`backtest` reads top to bottom through its stages (see
:mod:`houseedge.research.backtest._backtest`). The stage functions are exported too, for the
sweep's fast path (which prepares the bars once and runs the later stages per parameter set)
and the event-driven backtest (which builds its own orders, then the same equity and trades).
"""

from houseedge.research.backtest._backtest import assemble, backtest
from houseedge.research.backtest.compound import compound_growth
from houseedge.research.backtest.equity import equity_curve, holdings_per_bar, positions
from houseedge.research.backtest.exits import EXIT_REASONS, Exits
from houseedge.research.backtest.fills import simulate
from houseedge.research.backtest.frame import (
    COST_PREFIX,
    DEFAULT_SYMBOL,
    Execution,
    Finalize,
    Rebalance,
    block_starts,
    require_bar_columns,
)
from houseedge.research.backtest.identity import policy_identity, source_digest
from houseedge.research.backtest.ledger import match_fifo, round_trips
from houseedge.research.backtest.market import FillArrays
from houseedge.research.backtest.result import BacktestResult, Deferred
from houseedge.research.backtest.targets import prepare
from houseedge.research.backtest.trades import ledger_trades

__all__ = [
    "COST_PREFIX",
    "DEFAULT_SYMBOL",
    "EXIT_REASONS",
    "BacktestResult",
    "Deferred",
    "Execution",
    "Exits",
    "FillArrays",
    "Finalize",
    "Rebalance",
    "assemble",
    "backtest",
    "block_starts",
    "compound_growth",
    "equity_curve",
    "holdings_per_bar",
    "ledger_trades",
    "match_fifo",
    "policy_identity",
    "positions",
    "prepare",
    "require_bar_columns",
    "round_trips",
    "simulate",
    "source_digest",
]
