"""Vectorised backtests: prepare targets, simulate fills, build the ledger and equity."""

from houseedge.research.backtest._backtest import BacktestResult, assemble, backtest
from houseedge.research.backtest.exits import EXIT_REASONS, Exits

__all__ = ["EXIT_REASONS", "BacktestResult", "Exits", "assemble", "backtest"]
