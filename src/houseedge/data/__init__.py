"""Data layer: the Parquet store, its DuckDB catalog, dataset schemas and importers.

Subpackages, each re-exporting its public names::

    store/      Store: validated, idempotent, atomic writes; pruned scans; SQL (partitions)
    ingest/     market-data files (CSV, Parquet, Feather, ...) into the store's schemas
    synthetic/  seeded synthetic bars and trades on a realistic calendar

Shared by them, at this level: ``schemas`` (the datasets), ``sql`` (the only module that
imports DuckDB), ``validation``, ``resample`` and ``timeparse``. These import no subpackage.
"""
