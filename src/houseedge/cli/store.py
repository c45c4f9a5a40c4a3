"""Store commands: ``sql``, ``ingest``, ``formats``, ``datasets`` and ``catalog``.

They read and write the Parquet store under ``--store`` (default ``$HOUSEEDGE_STORE`` or
``./data/store``): import files, list what the store holds, query it in DuckDB SQL, and rewrite
the DuckDB catalog file a user opens with the plain ``duckdb`` command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from houseedge.cli._common import StoreOption, err, open_store, out, print_frame

__all__ = ["catalog", "datasets", "formats", "ingest", "register", "sql"]


def sql(
    query: Annotated[str, typer.Argument(help="DuckDB SQL over the store's views")],
    store: StoreOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here")] = None,
    limit: Annotated[int, typer.Option(help="rows shown in table format")] = 50,
) -> None:
    """Run a SQL query over the store and print or write the result."""
    result = open_store(store).sql(query)
    if fmt == "table" and output is None:
        print_frame(result, limit=limit)
        return
    writers = {
        "csv": result.write_csv,
        "json": result.write_ndjson,
        "parquet": result.write_parquet,
    }
    if fmt not in writers:
        raise typer.BadParameter(f"--format {fmt!r}: expected table, csv, json or parquet")
    if output is None:
        if fmt == "parquet":
            raise typer.BadParameter("--format parquet needs --output FILE")
        sys.stdout.write(writers[fmt]())  # type: ignore[call-arg]
        return
    writers[fmt](output)  # type: ignore[call-arg]
    err.print(f"wrote {result.height} rows to {output}")


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files, or folders of files, to import")],
    store: StoreOption = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="file format; houseedge formats lists them")
    ] = None,
    symbol: Annotated[str | None, typer.Option(help="symbol, when the file does not say")] = None,
    tz: Annotated[str | None, typer.Option(help="time zone of naive timestamps")] = None,
    timeframe: Annotated[str | None, typer.Option(help="bar timeframe (else inferred)")] = None,
) -> None:
    """Import market-data files into the store (validated, idempotent, atomic).

    A venue name instead of a path (houseedge ingest alpaca, binance or ib, with --symbols and
    the venue's options) downloads historical bars through that venue's client library.
    """
    from houseedge.data.ingest import ingest_file

    target = open_store(store)
    for path in _expand(paths):
        reports = ingest_file(target, path, format=fmt, symbol=symbol, tz=tz, timeframe=timeframe)
        for report in reports:
            out.print(
                f"{path}: {report.dataset} +{report.rows_added} rows "
                f"({report.rows_in} read, {report.partitions_changed} partitions changed)"
            )


def _expand(paths: list[Path]) -> list[Path]:
    """Return the files to ingest: each file as given, each folder's visible files sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            files.append(path)
    return files


def formats() -> None:
    """List the file formats that ingest reads."""
    from houseedge.data.ingest import FORMATS

    table = Table("format", "reads", header_style="bold")
    for name, reader in sorted(FORMATS.items()):
        table.add_row(name, getattr(reader, "description", "") or (reader.__doc__ or "").strip())
    out.print(table)


def datasets(store: StoreOption = None) -> None:
    """List every dataset in the store with its row count."""
    target = open_store(store)
    names = target.datasets()
    if not names:
        out.print(f"{target.root} holds no datasets yet")
        return
    # Every dataset on disk is a view of the store's SQL, whether or not this process has
    # imported the module that registers its spec (runs, Monte Carlo results, live journals).
    counts = " UNION ALL ".join(_count_sql(i, name) for i, name in enumerate(names))
    print_frame(target.sql(counts).sort("i").drop("i"), title=str(target.root), limit=len(names))


def _count_sql(position: int, dataset: str) -> str:
    """Return the SQL that counts one dataset's rows, quoting its folder name."""
    literal, identifier = dataset.replace("'", "''"), dataset.replace('"', '""')
    select = f"SELECT {position} AS i, '{literal}' AS dataset, count(*) AS rows"
    return f'{select} FROM "{identifier}"'


def catalog(store: StoreOption = None) -> None:
    """Rewrite the DuckDB catalog's views and print how to open it."""
    target = open_store(store)
    if target.refresh_catalog():
        out.print(f"duckdb {target.root / 'catalog.duckdb'}")
    else:
        err.print("the catalog is open in another process; close it and try again")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``sql``, ``ingest``, ``formats``, ``datasets`` and ``catalog`` to the command line."""
    for command in (sql, ingest, formats, datasets, catalog):
        app.command()(command)
