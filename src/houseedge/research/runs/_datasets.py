"""The six run datasets, and the conversion of a backtest result to their rows and back.

Layout (see :mod:`houseedge.research.runs` for the why):

=================  ==========================  ===================  ====================
dataset            key                         partitioned by       one row per
=================  ==========================  ===================  ====================
``runs``           ``run_id``                  (one file)           run
``run_metrics``    ``run_id``                  (one file)           run: a column per metric
``run_trades``     ``run_id, trade_no``        ``policy, run_id``   round trip or open lot
``run_orders``     ``run_id, fill_no``         ``policy, run_id``   fill
``run_equity``     ``run_id, ts``              ``policy, run_id``   equity time
``run_positions``  ``run_id, symbol, ts``      ``policy, run_id``   bar and symbol
=================  ==========================  ===================  ====================
"""

from __future__ import annotations

from typing import Any

import polars as pl

from houseedge.data.schemas import TS, DatasetSpec, register
from houseedge.research.metrics import summary
from houseedge.research.metrics.trades import trade_summary

F, INT, S, B = pl.Float64(), pl.Int64(), pl.String(), pl.Boolean()

TRADE_COLUMNS: dict[str, pl.DataType] = {
    "symbol": S,
    "direction": S,
    "qty": F,
    "entry_ts": TS,
    "exit_ts": TS,
    "entry_price": F,
    "exit_price": F,
    "entry_row": INT,
    "exit_row": INT,
    "fees": F,
    "pnl": F,
    "return_pct": F,
    "mae": F,
    "mfe": F,
    "bars_held": INT,
    "r_multiple": F,
}
ORDER_COLUMNS: dict[str, pl.DataType] = {
    "ts": TS,
    "symbol": S,
    "side": S,
    "qty": F,
    "price": F,
    "fee": F,
    "reason": S,
    "decision_ts": TS,
    "row": INT,
    "position_after": F,
    "cash_after": F,
}
EQUITY_COLUMNS: dict[str, pl.DataType] = {
    "ts": TS,
    "cash": F,
    "position_value": F,
    "gross_exposure": F,
    "fees": F,
    "borrow": F,
    "in_market": B,
    "equity": F,
    "returns": F,
    "exposure": F,
}
POSITION_COLUMNS: dict[str, pl.DataType] = {
    "symbol": S,
    "ts": TS,
    "close": F,
    "flow": F,
    "fee": F,
    "position": F,
    "value": F,
    "gross": F,
    "borrow": F,
    "in_market": B,
}

RUN_COLUMNS: dict[str, pl.DataType] = {
    "run_id": S,
    "config_id": S,
    "policy": S,
    "params": S,
    "symbols": pl.List(S),
    "timeframe": S,
    "data_start": TS,
    "data_end": TS,
    "bars": INT,
    "data_fingerprint": S,
    "data_files": S,
    "files_fingerprint": S,
    "package_version": S,
    "code_version": S,
    "seed": INT,
    "cash": F,
    "execution": S,
    "finalize": S,
    "allow_short": B,
    "periods_per_year": F,
    "costs": S,
    "costs_params": S,
    "sizing": S,
    "sizing_params": S,
    "backtest_params": S,
    "result_digest": S,
    "created_at": TS,
    "tag": S,
    "notes": S,
}
# Which code ran (see houseedge.research.backtest.identity): optional, so runs saved before
# these columns existed still read; null when the source could not be read.
RUN_CODE_COLUMNS: dict[str, pl.DataType] = {"policy_reference": S, "policy_source": S}
_RUN_NULLABLE = frozenset(
    {"timeframe", "data_start", "data_end", "data_files", "files_fingerprint", "seed"}
    | {"finalize", "tag", "notes"}
    | {"allow_short", "sizing"}  # none for an event-driven (order policy) run
)
# run_metrics repeats what a question about runs filters on, so it needs no join
# A run's rows sit in their own folder (policy=…/run_id=…): saving one more run writes only its
# files (one partition per run, so saving runs one by one stays linear), and reading one run
# opens only its files.
RESULT_PARTITIONS = ("policy", "run_id")
METRIC_CONTEXT = (
    "run_id",
    "policy",
    "params",
    "symbols",
    "timeframe",
    "data_start",
    "data_end",
    "tag",
    "created_at",
)


def _metric_columns() -> dict[str, pl.DataType]:
    """Return the scalar metrics of a backtest with their stored types (from the builders)."""
    returns = summary(pl.DataFrame(schema={"returns": F}), "returns").schema
    trades = trade_summary(pl.DataFrame(schema=TRADE_COLUMNS)).schema
    extras = ("final_equity", "equity_peak", "exposure_time", "total_fees", "total_borrow")
    columns: dict[str, pl.DataType] = {n: INT if t.is_integer() else F for n, t in returns.items()}
    columns |= {n: INT if t.is_integer() else F for n, t in trades.items()}
    return columns | dict.fromkeys(extras, F) | {"orders": INT}


METRIC_COLUMNS = _metric_columns()


def _result_spec(
    name: str, columns: dict[str, pl.DataType], key: tuple[str, ...], time: str
) -> DatasetSpec:
    # row numbers (trade_no, fill_no) keep the engine's order and tell equal rows apart
    every = {"run_id": S, "policy": S} | {k: INT for k in key if k.endswith("_no")} | columns
    return DatasetSpec(
        name=name,
        columns=every,
        key=("run_id", *key),
        partitions=RESULT_PARTITIONS,
        time_column=time,
        nullable=frozenset(every) - {"run_id", "policy", *key},
    )


RUNS = register(
    DatasetSpec(
        name="runs",
        columns=RUN_COLUMNS,
        optional=RUN_CODE_COLUMNS,
        key=("run_id",),
        partitions=(),
        time_column=None,
        nullable=_RUN_NULLABLE | frozenset(RUN_CODE_COLUMNS),
    )
)
RUN_METRICS = register(
    DatasetSpec(
        name="run_metrics",
        columns={n: RUN_COLUMNS[n] for n in METRIC_CONTEXT},
        optional=METRIC_COLUMNS,
        key=("run_id",),
        partitions=(),
        time_column=None,
        nullable=_RUN_NULLABLE,
    )
)
RUN_TRADES = register(
    DatasetSpec(
        name="run_trades",
        columns={"run_id": S, "policy": S, "trade_no": INT, "open": B} | TRADE_COLUMNS,
        key=("run_id", "trade_no"),
        partitions=RESULT_PARTITIONS,
        time_column="trade_no",  # the order of trades within a run
        nullable=frozenset(TRADE_COLUMNS),
    )
)
RUN_ORDERS = register(_result_spec("run_orders", ORDER_COLUMNS, ("fill_no",), "fill_no"))
RUN_EQUITY = register(_result_spec("run_equity", EQUITY_COLUMNS, ("ts",), "ts"))
RUN_POSITIONS = register(_result_spec("run_positions", POSITION_COLUMNS, ("symbol", "ts"), "ts"))
RESULT_DATASETS = ("run_trades", "run_orders", "run_equity", "run_positions")


def _typed(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """Return ``frame``'s columns cast to the stored types, in stored order."""
    return frame.select(pl.col(n).cast(t) for n, t in columns.items())


def result_rows(result: Any) -> dict[str, pl.DataFrame]:
    """Return a result's trades, fills, equity and positions as typed rows (no run id yet)."""
    closed = _typed(result.trades, TRADE_COLUMNS).with_columns(open=pl.lit(False))
    still = _typed(result.open_trades, TRADE_COLUMNS).with_columns(open=pl.lit(True))
    trades = pl.concat([closed, still]).with_row_index("trade_no").cast({"trade_no": INT})
    orders = _typed(result.orders, ORDER_COLUMNS).with_row_index("fill_no").cast({"fill_no": INT})
    return {
        "run_trades": trades,
        "run_orders": orders,
        "run_equity": _typed(result.equity, EQUITY_COLUMNS),
        "run_positions": _typed(result.positions, POSITION_COLUMNS),
    }


def with_run(frame: pl.DataFrame, run_id: str, policy: str) -> pl.DataFrame:
    """Return ``frame`` with its run id and policy columns."""
    return frame.with_columns(run_id=pl.lit(run_id, S), policy=pl.lit(policy, S))


def split_trades(trades: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return stored trades as (closed round trips, open lots), in their original order."""
    ordered = trades.sort("trade_no")
    closed = ordered.filter(~pl.col("open")).select(list(TRADE_COLUMNS))
    return closed, ordered.filter(pl.col("open")).select(list(TRADE_COLUMNS))
