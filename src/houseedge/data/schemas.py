"""Dataset schemas: columns, types, keys, partitions and the rules values obey.

A :class:`DatasetSpec` names a dataset's columns and types, its key (rows with the same key are
one row), the columns its files are partitioned by, and the rules its values obey;
:func:`houseedge.data.validation.validate` checks a frame against one. Layers above the data
layer register their own datasets (``runs``, ``live_fills``, ...) with :func:`register`.

Examples
--------
>>> spec_of("bars").key
('symbol', 'timeframe', 'ts')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

TS = pl.Datetime("ns", "UTC")

Rule = tuple[str, str, str, Callable[[], pl.Expr]]
"""A rule: (field, what went wrong, what was expected, expression true on *bad* rows)."""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's columns, key, partitioning and value rules.

    Parameters
    ----------
    name
        Dataset name: the folder under the store root and the SQL view name.
    columns
        Required columns and their types, in file order.
    optional
        Columns that may be absent (filled with nulls) and their types.
    key
        Columns whose values identify a row; a write de-duplicates on them.
    partitions
        Hive partition columns. ``"year"`` is derived from ``time_column``.
    time_column
        The timestamp column rows are sorted by within a key.
    rules
        Value rules checked on every write.
    nullable
        Required columns allowed to hold nulls.
    """

    name: str
    columns: Mapping[str, pl.DataType]
    key: tuple[str, ...]
    optional: Mapping[str, pl.DataType] = field(default_factory=dict[str, pl.DataType])
    partitions: tuple[str, ...] = ("symbol", "year")
    time_column: str | None = "ts"
    rules: tuple[Rule, ...] = ()
    nullable: frozenset[str] = frozenset()

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """Return every column (required then optional) with its type."""
        return {**self.columns, **self.optional}

    @property
    def sort(self) -> list[str]:
        """Return the sort order of rows in a file: key columns, time first after symbol."""
        head = [c for c in ("symbol", "timeframe") if c in self.key]
        rest = [c for c in self.key if c not in head]
        return head + rest


# Two comparisons reject exactly what is_finite() plus one did (Polars orders NaN above inf, so
# ``x < inf`` fails for NaN and inf alike) at about half the cost on the ingest's hot path.
_INF = float("inf")


def _finite_positive(col: str) -> Rule:
    return (
        col,
        f"{col} is not a finite positive number",
        "finite value > 0",
        lambda: ~((pl.col(col) > 0) & (pl.col(col) < _INF)),
    )


def _finite_nonnegative(col: str) -> Rule:
    return (
        col,
        f"{col} is negative or not finite",
        "finite value >= 0",
        lambda: ~((pl.col(col) >= 0) & (pl.col(col) < _INF)),
    )


_OHLC_EXPECTED = "low <= open, close <= high"

BARS = DatasetSpec(
    name="bars",
    columns={
        "symbol": pl.String(),
        "timeframe": pl.String(),
        "ts": TS,
        "open": pl.Float64(),
        "high": pl.Float64(),
        "low": pl.Float64(),
        "close": pl.Float64(),
        "volume": pl.Float64(),
    },
    optional={
        "vwap": pl.Float64(),
        "trades": pl.Int64(),
        "adj_close": pl.Float64(),
        "open_interest": pl.Float64(),
    },
    key=("symbol", "timeframe", "ts"),
    rules=(
        *(_finite_positive(c) for c in ("open", "high", "low", "close")),
        _finite_nonnegative("volume"),
        ("high", "high below low", _OHLC_EXPECTED, lambda: pl.col("high") < pl.col("low")),
        (
            "high",
            "high below max(open, close)",
            _OHLC_EXPECTED,
            lambda: pl.col("high") < pl.max_horizontal("open", "close"),
        ),
        (
            "low",
            "low above min(open, close)",
            _OHLC_EXPECTED,
            lambda: pl.col("low") > pl.min_horizontal("open", "close"),
        ),
        (
            "vwap",
            "vwap is not a finite positive number",
            "finite value > 0 or empty",
            lambda: (
                pl.col("vwap").is_not_null() & ~((pl.col("vwap") > 0) & (pl.col("vwap") < _INF))
            ),
        ),
        (
            "adj_close",
            "adj_close is not a finite positive number",
            "finite value > 0 or empty",
            lambda: (
                pl.col("adj_close").is_not_null()
                & (~pl.col("adj_close").is_finite() | (pl.col("adj_close") <= 0))
            ),
        ),
        (
            "trades",
            "trades is negative",
            "count >= 0 or empty",
            lambda: pl.col("trades").is_not_null() & (pl.col("trades") < 0),
        ),
    ),
)

TRADES = DatasetSpec(
    name="trades",
    columns={
        "symbol": pl.String(),
        "ts": TS,
        "price": pl.Float64(),
        "size": pl.Float64(),
        "side": pl.String(),
        "trade_id": pl.String(),
    },
    key=("symbol", "ts", "trade_id"),
    nullable=frozenset({"side"}),
    rules=(
        _finite_positive("price"),
        _finite_positive("size"),
        (
            "side",
            "side is not buy or sell",
            "'buy', 'sell' or empty",
            lambda: pl.col("side").is_not_null() & ~pl.col("side").is_in(["buy", "sell"]),
        ),
    ),
)

QUOTES = DatasetSpec(
    name="quotes",
    columns={
        "symbol": pl.String(),
        "ts": TS,
        "seq": pl.Int32(),
        "bid": pl.Float64(),
        "ask": pl.Float64(),
        "bid_size": pl.Float64(),
        "ask_size": pl.Float64(),
    },
    key=("symbol", "ts", "seq"),
    nullable=frozenset({"bid_size", "ask_size"}),
    rules=(
        _finite_positive("bid"),
        _finite_positive("ask"),
        (
            "ask",
            "ask below bid (crossed quote)",
            "bid <= ask",
            lambda: pl.col("ask") < pl.col("bid"),
        ),
        (
            "bid_size",
            "bid_size is negative or not finite",
            "finite value >= 0 or empty",
            lambda: (
                pl.col("bid_size").is_not_null()
                & (~pl.col("bid_size").is_finite() | (pl.col("bid_size") < 0))
            ),
        ),
        (
            "ask_size",
            "ask_size is negative or not finite",
            "finite value >= 0 or empty",
            lambda: (
                pl.col("ask_size").is_not_null()
                & (~pl.col("ask_size").is_finite() | (pl.col("ask_size") < 0))
            ),
        ),
    ),
)

CORPORATE_ACTIONS = DatasetSpec(
    name="corporate_actions",
    columns={"symbol": pl.String(), "ts": TS, "dividend": pl.Float64(), "split": pl.Float64()},
    key=("symbol", "ts"),
    rules=(
        _finite_nonnegative("dividend"),
        _finite_positive("split"),
    ),
)

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (BARS, TRADES, QUOTES, CORPORATE_ACTIONS)
}


def register(spec: DatasetSpec) -> DatasetSpec:
    """Register a dataset spec so the store can write and validate it; return it.

    Research and live layers register their own datasets (``runs``, ``live_fills``, ...).
    """
    DATASETS[spec.name] = spec
    return spec


def spec_of(dataset: str | DatasetSpec) -> DatasetSpec:
    """Return the spec of a dataset given by name or spec."""
    if isinstance(dataset, DatasetSpec):
        return dataset
    try:
        return DATASETS[dataset]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        msg = f"unknown dataset {dataset!r}; known datasets: {known}"
        raise ValueError(msg) from None
