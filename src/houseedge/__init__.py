"""houseedge: design payoff structures, not single trades.

A Polars/DuckDB trading research and execution toolkit: one Parquet store queryable in SQL,
policies and backtests that return Polars frames, and an async live engine.

The names below are re-exported lazily (PEP 562), so ``import houseedge`` stays cheap and the
CLI starts fast; ``houseedge.Store`` imports the store on first use.

Examples
--------
>>> import houseedge
>>> houseedge.SmaCross(10, 30).name
'sma_cross'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "BacktestResult": "houseedge.research.backtest",
    "BollingerReversion": "houseedge.core.policies",
    "BuyAndHold": "houseedge.core.policies",
    "CostModel": "houseedge.core.costs",
    "DonchianBreakout": "houseedge.core.policies",
    "EmaCross": "houseedge.core.policies",
    "FixedFraction": "houseedge.core.sizing",
    "FixedUnits": "houseedge.core.sizing",
    "FixedWeights": "houseedge.core.policies",
    "LinearCostModel": "houseedge.core.costs",
    "OrderPolicy": "houseedge.core.policies",
    "RsiReversion": "houseedge.core.policies",
    "Sizer": "houseedge.core.sizing",
    "SmaCross": "houseedge.core.policies",
    "Store": "houseedge.data.store",
    "TargetWeights": "houseedge.core.sizing",
    "VectorPolicy": "houseedge.core.policies",
    "VolTargetTrend": "houseedge.core.policies",
    "backtest": "houseedge.research.backtest",
    "ingest_file": "houseedge.data.ingest",
    "read_file": "houseedge.data.ingest",
    "resample_bars": "houseedge.data.resample",
    "synthetic_bars": "houseedge.data.synthetic",
    "synthetic_trades": "houseedge.data.synthetic",
    "save_run": "houseedge.research.runs",
    "write_report": "houseedge.research.report",
}
_EXPORTS.update(
    dict.fromkeys(
        (
            "HouseEdgeError",
            "DataError",
            "SchemaMismatch",
            "InvalidData",
            "FormatError",
            "DatasetNotFound",
            "QueryError",
            "PolicyError",
            "RiskRejected",
            "BrokerError",
            "BrokerUnavailable",
            "OrderRejected",
            "ConfigError",
        ),
        "houseedge.errors",
    )
)

__all__ = [
    "BacktestResult",
    "BollingerReversion",
    "BrokerError",
    "BrokerUnavailable",
    "BuyAndHold",
    "ConfigError",
    "CostModel",
    "DataError",
    "DatasetNotFound",
    "DonchianBreakout",
    "EmaCross",
    "FixedFraction",
    "FixedUnits",
    "FixedWeights",
    "FormatError",
    "HouseEdgeError",
    "InvalidData",
    "LinearCostModel",
    "OrderPolicy",
    "OrderRejected",
    "PolicyError",
    "QueryError",
    "RiskRejected",
    "RsiReversion",
    "SchemaMismatch",
    "Sizer",
    "SmaCross",
    "Store",
    "TargetWeights",
    "VectorPolicy",
    "VolTargetTrend",
    "__version__",
    "backtest",
    "ingest_file",
    "read_file",
    "resample_bars",
    "save_run",
    "sql",
    "synthetic_bars",
    "synthetic_trades",
    "write_report",
]


def sql(query: str, *, store: Any = None) -> Any:
    """Run DuckDB SQL over a store (``$HOUSEEDGE_STORE`` or ``./data/store``); return Polars.

    Parameters
    ----------
    query
        SQL over the store's views (``bars``, ``trades``, ``runs``, ...).
    store
        A :class:`Store`, a root path, or None for the default root.
    """
    from houseedge.data.store import Store

    target = store if isinstance(store, Store) else Store(store)
    return target.sql(query)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'houseedge' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from houseedge.core.costs import CostModel, LinearCostModel
    from houseedge.core.policies import (
        BollingerReversion,
        BuyAndHold,
        DonchianBreakout,
        EmaCross,
        FixedWeights,
        OrderPolicy,
        RsiReversion,
        SmaCross,
        VectorPolicy,
        VolTargetTrend,
    )
    from houseedge.core.sizing import FixedFraction, FixedUnits, Sizer, TargetWeights
    from houseedge.data.ingest import ingest_file, read_file
    from houseedge.data.resample import resample_bars
    from houseedge.data.store import Store
    from houseedge.data.synthetic import synthetic_bars, synthetic_trades
    from houseedge.errors import (
        BrokerError,
        BrokerUnavailable,
        ConfigError,
        DataError,
        DatasetNotFound,
        FormatError,
        HouseEdgeError,
        InvalidData,
        OrderRejected,
        PolicyError,
        QueryError,
        RiskRejected,
        SchemaMismatch,
    )
    from houseedge.research.backtest import BacktestResult, backtest
    from houseedge.research.report import write_report
    from houseedge.research.runs import save_run
