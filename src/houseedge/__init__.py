"""houseedge: design payoff structures, not single trades.

A Polars/DuckDB trading research and execution toolkit: one Parquet store queryable in SQL,
policies and backtests that return Polars frames, and an async live engine.
"""

from houseedge.logs import configure_default as _configure_default

_configure_default()

__version__ = "0.1.0"
__all__ = ["__version__"]
