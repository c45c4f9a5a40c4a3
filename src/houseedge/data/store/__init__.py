"""The Parquet store: datasets, partitions and the DuckDB catalog over them."""

from houseedge.data.store._store import Store
from houseedge.data.store._write import WriteReport

__all__ = ["Store", "WriteReport"]
