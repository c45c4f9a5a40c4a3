"""Research: backtests, metrics, Monte Carlo, sweeps and reports (Polars, no asyncio).

Subpackages, each re-exporting its public names, import only downward::

    metrics  →  backtest  →  events, runs, report, simulation  →  sweep

:mod:`~houseedge.research.metrics` (returns, drawdowns, trades, benchmark) knows nothing of
backtests; :mod:`~houseedge.research.backtest` runs one (prepare → simulate → ledger → equity);
:mod:`~houseedge.research.events` runs order-level policies bar by bar;
:mod:`~houseedge.research.runs` stores results (``save_run``) and
:mod:`~houseedge.research.report` writes tearsheets (``write_report``);
:mod:`~houseedge.research.simulation` draws Monte Carlo paths; :mod:`~houseedge.research.sweep`
runs grids and walk-forward analyses over backtests.
"""
