"""The ``houseedge demo`` tour: build a store, then ask it questions in SQL.

The store is built from the deterministic synthetic market (so the demo runs on any machine)
and, when ``../shared/data/real`` (or ``$HOUSEEDGE_REAL_DATA``) is present, from real files of
public projects. Every step is idempotent: running the demo twice writes nothing new.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars

Step = tuple[str, Callable[[], Any]]

# (file under the real-data folder, ingest options): one of each format the importers read.
REAL_FILES: tuple[tuple[str, dict[str, str]], ...] = (
    ("backtesting_py/GOOG.csv", {"symbol": "GOOG"}),
    ("backtesting_py/EURUSD.csv", {"symbol": "EURUSD", "tz": "UTC"}),
    ("zipline_reloaded/AAPL.csv", {}),
    ("zipline_reloaded/IBM.csv", {}),
    ("zipline_reloaded/KO.csv", {}),
    ("zipline_reloaded/MSFT.csv", {}),
    ("backtrader/orcl-1995-2014.txt", {"symbol": "ORCL", "format": "yahoo"}),
    ("backtrader/2006-day-001.txt", {"symbol": "SX5E", "format": "backtrader"}),
    ("nautilus_trader/binance-btcusdt-trades.parquet", {"symbol": "BTCUSDT"}),
    ("nautilus_trader/binance-btcusdt-quotes.parquet", {"symbol": "BTCUSDT"}),
    ("nautilus_trader/truefx-usdjpy-ticks.csv", {"symbol": "USDJPY"}),
    ("nautilus_trader/6EH4.XCME_1min_bars_20240101_20240131.csv", {"symbol": "6EH4"}),
    ("freqtrade/ETH_BTC-5m.feather", {}),
)

QUERIES: tuple[tuple[str, str], ...] = (
    ("What the store holds (view dataset_summary)", "SELECT * FROM dataset_summary"),
    (
        "Hourly OHLCV built from 1-minute bars (table macro ohlcv)",
        "SELECT * FROM ohlcv('1m', '1 hour') WHERE symbol = 'SYNBTC' ORDER BY ts DESC LIMIT 5",
    ),
    (
        "Annualised return and volatility of daily bars (view bar_returns)",
        """SELECT symbol, count(*) AS days,
               round(252 * avg(ret), 4) AS ann_return,
               round(sqrt(252) * stddev_samp(ret), 4) AS ann_vol,
               round(avg(ret) / stddev_samp(ret) * sqrt(252), 3) AS sharpe
        FROM bar_returns WHERE timeframe = '1d' AND ret IS NOT NULL
        GROUP BY symbol ORDER BY sharpe DESC""",
    ),
    (
        "Maximum drawdown of every daily series",
        """SELECT symbol, round(min(close / peak - 1), 4) AS max_drawdown,
               arg_min(ts, close / peak) AS trough
        FROM (SELECT symbol, ts, close,
                     max(close) OVER (PARTITION BY symbol ORDER BY ts) AS peak
              FROM bars WHERE timeframe = '1d')
        GROUP BY symbol ORDER BY max_drawdown""",
    ),
    (
        "Correlation of daily returns between the synthetic equities",
        """SELECT a.symbol AS a, b.symbol AS b, round(corr(a.ret, b.ret), 3) AS corr
        FROM bar_returns a JOIN bar_returns b USING (ts)
        WHERE a.timeframe = '1d' AND b.timeframe = '1d'
          AND a.symbol LIKE 'SYN%' AND b.symbol LIKE 'SYN%' AND a.symbol < b.symbol
        GROUP BY a.symbol, b.symbol ORDER BY corr DESC""",
    ),
)

REAL_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Dividends and splits from the zipline files (dataset corporate_actions)",
        """SELECT symbol, count(*) FILTER (WHERE dividend > 0) AS dividends,
               round(sum(dividend), 2) AS cash, max(split) AS largest_split
        FROM corporate_actions GROUP BY symbol ORDER BY symbol""",
    ),
    (
        "Binance BTC/USDT: trades by aggressor side, with the quoted spread",
        """SELECT t.side, count(*) AS trades, round(sum(t.size), 4) AS volume,
               round(avg(q.ask - q.bid), 4) AS avg_spread
        FROM trades t ASOF JOIN quotes q ON t.symbol = q.symbol AND t.ts >= q.ts
        WHERE t.symbol = 'BTCUSDT' GROUP BY t.side ORDER BY t.side""",
    ),
)


DAILY = ("SYNA", "SYNB", "SYNC", "SYND")
SWEEP = ((10, 50), (20, 100), (50, 200))  # SMA crossovers run over the daily equities
RUNS_QUERY = """SELECT run_id, params->>'fast' AS fast, params->>'slow' AS slow,
       round(sharpe_ratio, 3) AS sharpe, round(max_drawdown, 4) AS max_dd,
       round(total_return, 4) AS total_return, trades
FROM run_metrics
WHERE policy = 'sma_cross' AND data_start >= '2015-01-01' AND data_end < '2025-01-01'
ORDER BY sharpe_ratio DESC"""


def real_data_folder() -> Path | None:
    """Return the real-data folder: ``$HOUSEEDGE_REAL_DATA`` or ``../shared/data/real``."""
    explicit = os.environ.get("HOUSEEDGE_REAL_DATA")
    folder = Path(explicit) if explicit else Path.cwd().parent / "shared" / "data" / "real"
    return folder if folder.is_dir() else None


def build_synthetic(store: Store) -> int:
    """Write the synthetic demo market: 1-minute crypto-style bars and daily equities."""
    minute = synthetic_bars(
        ["SYNBTC", "SYNETH", "SYNSOL"],
        periods=30 * 1440,
        timeframe="1m",
        start="2024-01-01",
        seed=7,
    )
    daily = synthetic_bars(
        ["SYNA", "SYNB", "SYNC", "SYND"],
        periods=2520,
        timeframe="1d",
        start="2015-01-01",
        seed=11,
        session="equity",
    )
    reports = store.write_many([("bars", minute), ("bars", daily)])
    return sum(r.rows_added for r in reports)


def build_real(store: Store, folder: Path) -> int:
    """Import one file of each real format; return the rows added."""
    from houseedge.data.ingest import ingest_file

    added = 0
    for name, options in REAL_FILES:
        path = folder / name
        if path.exists():
            added += sum(r.rows_added for r in ingest_file(store, path, **options))
    return added


def run_demo(store: Store, *, include_real: bool = True, console: Console | None = None) -> None:
    """Build the demo store and print the SQL tour."""
    console = console or Console()
    started = time.perf_counter()
    console.rule("[bold]houseedge demo[/bold]")
    console.print(f"store: {store.root}")
    added = build_synthetic(store)
    console.print(
        f"synthetic market: +{added:,} rows (3 symbols x 30 days of 1-minute bars, "
        "4 equities x 10 years of daily bars)"
    )
    folder = real_data_folder() if include_real else None
    queries = list(QUERIES)
    if folder is not None:
        console.print(f"real data from {folder}: +{build_real(store, folder):,} rows")
        queries += REAL_QUERIES
    else:
        console.print("real data: ../shared/data/real not found, synthetic only")
    from houseedge.cli._app import print_frame

    for title, query in queries:
        console.print()
        print_frame(store.sql(query), title=title, limit=12)
    research_tour(store, console)
    console.print()
    from houseedge.app.demo import run_live_session

    run_live_session(store, console)
    console.print()
    console.print(f"open the same views in the DuckDB CLI:  duckdb {store.root / 'catalog.duckdb'}")
    console.print(f"[dim]demo finished in {time.perf_counter() - started:.1f} s[/dim]")


def research_tour(store: Store, console: Console, *, reports: Path = Path("reports")) -> Path:
    """Backtest SMA crossovers on the daily equities, save the runs, report the best one.

    Saving is idempotent (run ids are content addressed), so a second demo writes nothing.
    Returns the report's path.
    """
    from houseedge.cli._app import print_frame
    from houseedge.core.costs import LinearCostModel
    from houseedge.core.policies.builtin import SmaCross
    from houseedge.core.sizing.sizers import FixedFraction
    from houseedge.research.backtest import backtest
    from houseedge.research.report import write_report
    from houseedge.research.runs import save_runs

    bars = store.read("bars", symbols=list(DAILY), timeframe="1d")
    costs = LinearCostModel(commission_bps=5)
    results = [
        backtest(bars, SmaCross(fast, slow), costs=costs, sizing=FixedFraction(1 / len(DAILY)))
        for fast, slow in SWEEP
    ]
    files = store.files("bars", symbols=list(DAILY))
    ids = save_runs(results, store, bars=bars, data_files=files, timeframe="1d", tag="demo")
    best = max(range(len(ids)), key=lambda i: results[i].metrics["sharpe_ratio"] or -1e9)
    title = f"Demo run {ids[best]}"
    path = write_report(results[best], reports / "demo_sma_cross.html", title=title)
    console.print()
    console.print(
        f"backtests: {len(ids)} runs of sma_cross on {', '.join(DAILY)} saved "
        f"(houseedge runs; houseedge report {ids[best]}); report of the best: {path}"
    )
    print_frame(store.sql(RUNS_QUERY), title="Runs as data: sma_cross runs by Sharpe ratio")
    console.print(f"[dim]{RUNS_QUERY}[/dim]")
    return path
