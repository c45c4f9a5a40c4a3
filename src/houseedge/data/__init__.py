"""Data layer: the Parquet store, its DuckDB catalog, dataset schemas and importers."""
