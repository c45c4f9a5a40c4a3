"""Research: backtests, metrics, Monte Carlo, sweeps and reports (Polars, no asyncio)."""
