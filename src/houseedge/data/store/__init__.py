"""The Parquet store: datasets, partitions and the DuckDB catalog over them."""

from houseedge.data.store._store import Store, WriteReport

__all__ = ["Store", "WriteReport"]
