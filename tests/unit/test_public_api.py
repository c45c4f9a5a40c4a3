"""The public surface is pinned: a change to it is a deliberate edit of this list."""

from __future__ import annotations

import subprocess
import sys

import houseedge

PUBLIC = [
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


def test_all_is_sorted_and_pinned() -> None:
    assert houseedge.__all__ == sorted(houseedge.__all__)
    assert houseedge.__all__ == PUBLIC


def test_all_names_exactly_the_lazy_exports() -> None:
    assert set(houseedge.__all__) == {*houseedge._EXPORTS, "__version__", "sql"}


def test_every_public_name_resolves() -> None:
    for name in houseedge.__all__:
        assert getattr(houseedge, name) is not None


def test_importing_the_package_does_not_load_duckdb_or_matplotlib() -> None:
    code = (
        "import sys, houseedge; "
        "print(sorted(m for m in ('duckdb', 'matplotlib', 'polars') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
