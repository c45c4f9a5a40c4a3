"""DuckDB over the store: the catalog file, views, analyst macros and queries into Polars.

``<root>/catalog.duckdb`` holds one view per dataset over its Parquet files, so
``duckdb <root>/catalog.duckdb`` works with the plain DuckDB CLI. Queries from Python run on
a fresh in-memory connection that defines the same views, so they never contend for the
catalog file's lock (a user may hold it open in the CLI).

Analyst helpers defined in the catalog:

``bar_returns``
    View: every bar with ``ret`` (simple) and ``log_ret`` against the previous bar of the same
    symbol and timeframe.
``ohlcv(tf, every)``
    Table macro: bars of timeframe ``tf`` resampled to buckets of the interval ``every``
    (``'1 hour'``, ``'1 day'``), aligned to the Unix epoch like Polars ``group_by_dynamic``
    with a fixed duration, left-closed and labelled by bucket start in UTC, with
    open = first open, high = max, low = min, close = last close, volume = sum.
``dataset_summary``
    View (when bars exist): rows, first and last bar per symbol and timeframe.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import cast

import duckdb
import polars as pl

from houseedge import logs
from houseedge.data.schemas import DATASETS, DatasetSpec
from houseedge.errors import QueryError

CATALOG_FILE = "catalog.duckdb"

log = logs.get_logger("houseedge.data.sql")


def _duck_type(dtype: pl.DataType) -> str:
    if dtype == pl.Int32:
        return "INTEGER"
    if dtype.is_integer():
        return "BIGINT"
    return "VARCHAR"


def _hive_types(spec: DatasetSpec) -> str:
    types = [
        f"'{name}': {_duck_type(pl.Int32() if name == 'year' else spec.schema[name])}"
        for name in spec.partitions
    ]
    return "{" + ", ".join(types) + "}"


def view_sql(root: Path, dataset: str) -> str:
    """Return the ``CREATE VIEW`` statement of one dataset."""
    spec = DATASETS.get(dataset)
    glob = (root.resolve() / dataset / "**" / "*.parquet").as_posix().replace("'", "''")
    # Every write carries the dataset's full schema (optional columns as nulls), so the files
    # of a dataset share one schema and DuckDB need not reconcile them (union_by_name is slow).
    if spec is not None and spec.partitions:
        reader = (
            f"read_parquet('{glob}', hive_partitioning = true, hive_types = {_hive_types(spec)})"
        )
    else:
        reader = f"read_parquet('{glob}', hive_partitioning = true)"
    # Built from our own dataset names and store path (quotes escaped), never from user input.
    return f'CREATE OR REPLACE VIEW "{dataset}" AS SELECT * FROM {reader}'  # noqa: S608


BAR_HELPERS = (
    """CREATE OR REPLACE VIEW bar_returns AS
    SELECT symbol, timeframe, ts, close,
           close / lag(close) OVER w - 1 AS ret,
           ln(close / lag(close) OVER w) AS log_ret
    FROM bars WINDOW w AS (PARTITION BY symbol, timeframe ORDER BY ts)""",
    """CREATE OR REPLACE MACRO ohlcv(tf, every) AS TABLE
    SELECT symbol, bucket AS ts,
           arg_min(open, ts) AS open, max(high) AS high, min(low) AS low,
           arg_max(close, ts) AS close, sum(volume) AS volume, count(*) AS bars
    FROM (SELECT symbol, ts, open, high, low, close, volume,
                 time_bucket(CAST(every AS INTERVAL), CAST(ts AS TIMESTAMPTZ),
                             TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket
          FROM bars WHERE timeframe = tf)
    GROUP BY symbol, bucket
    ORDER BY symbol, ts""",
    """CREATE OR REPLACE VIEW dataset_summary AS
    SELECT symbol, timeframe, count(*) AS rows, min(ts) AS first_ts, max(ts) AS last_ts
    FROM bars GROUP BY symbol, timeframe ORDER BY symbol, timeframe""",
)


def catalog_sql(root: Path, datasets: Iterable[str]) -> list[str]:
    """Return every statement that defines the catalog for these datasets."""
    names = sorted(datasets)
    statements = [view_sql(root, name) for name in names]
    if "bars" in names:
        statements += BAR_HELPERS
    return statements


def connect(root: Path, datasets: Iterable[str]) -> duckdb.DuckDBPyConnection:
    """Return an in-memory DuckDB connection with the store's views and macros, in UTC."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    for statement in catalog_sql(root, datasets):
        connection.execute(statement)
    return connection


def refresh_catalog(root: Path, datasets: Iterable[str]) -> bool:
    """Rewrite the views in ``<root>/catalog.duckdb``; return False if the file is locked.

    A user holding the catalog open (the DuckDB CLI) keeps a lock; the views are globs, so
    existing ones stay valid and only a new dataset waits for the next refresh.
    """
    path = root / CATALOG_FILE
    try:
        connection = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        log.warning("catalog_locked", path=str(path), error=str(exc))
        return False
    try:
        for statement in catalog_sql(root, datasets):
            connection.execute(statement)
    finally:
        connection.close()
    return True


def query(connection: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    """Run a query and return its result as a Polars frame.

    Raises
    ------
    QueryError
        The query failed to parse, bind or run; the message is DuckDB's.
    """
    try:
        # sql() returns None for statements without a result (SET, CREATE), whatever the stubs say.
        relation = cast("duckdb.DuckDBPyRelation | None", connection.sql(sql))
        if relation is None:
            return pl.DataFrame()
        return pl.from_arrow(relation.to_arrow_table())  # type: ignore[return-value]
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from exc
