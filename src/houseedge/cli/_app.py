"""The ``houseedge`` command line.

Every command takes ``--store`` (default ``$HOUSEEDGE_STORE`` or ``./data/store``). Errors about
input end the command with a one-line message naming the input, place and expectation, and exit
status 2; no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from houseedge import logs
from houseedge.errors import HouseEdgeError

if TYPE_CHECKING:
    from houseedge.data.store import Store

app = typer.Typer(
    name="houseedge",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Trading research and execution on one Parquet store: ingest, SQL, backtests, live.",
)
out = Console()
err = Console(stderr=True)

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", envvar="HOUSEEDGE_STORE", help="store root (default ./data/store)"),
]


def open_store(root: Path | None) -> Store:
    """Return the store at ``root`` (the default store when None)."""
    # Imported here so `houseedge --help` starts without loading Polars and DuckDB twice over.
    from houseedge.data.store import Store

    return Store(root)


def print_frame(frame: pl.DataFrame, *, title: str | None = None, limit: int = 50) -> None:
    """Print a frame as a rich table (first ``limit`` rows)."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.head(limit).iter_rows():
        table.add_row(*(_cell(v) for v in row))
    out.print(table)
    if frame.height > limit:
        out.print(f"[dim]… {frame.height - limit} more rows ({frame.height} in all)[/dim]")


def _cell(value: object) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.2f}"
    return str(value)


@app.command()
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


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files, or folders of files, to import")],
    store: StoreOption = None,
    fmt: Annotated[str | None, typer.Option("--format", help="see `houseedge formats`")] = None,
    symbol: Annotated[str | None, typer.Option(help="symbol, when the file does not say")] = None,
    tz: Annotated[str | None, typer.Option(help="time zone of naive timestamps")] = None,
    timeframe: Annotated[str | None, typer.Option(help="bar timeframe (else inferred)")] = None,
) -> None:
    """Import market-data files into the store (validated, idempotent, atomic).

    A venue instead of a path (``houseedge ingest alpaca|binance|ib --symbols ...``) downloads
    historical bars through that venue's client library.
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


@app.command()
def formats() -> None:
    """List the file formats `ingest` reads."""
    from houseedge.data.ingest import FORMATS

    table = Table("format", "reads", header_style="bold")
    for name, reader in sorted(FORMATS.items()):
        table.add_row(name, getattr(reader, "description", "") or (reader.__doc__ or "").strip())
    out.print(table)


@app.command()
def datasets(store: StoreOption = None) -> None:
    """List the store's datasets with their row counts."""
    target = open_store(store)
    names = target.datasets()
    if not names:
        out.print(f"{target.root} holds no datasets yet")
        return
    counts = pl.DataFrame(
        {
            "dataset": names,
            "rows": [
                target.scan(n).select(pl.len()).collect().item() if n in _specs() else None
                for n in names
            ],
        }
    )
    print_frame(counts, title=str(target.root))


def _specs() -> set[str]:
    from houseedge.data.schemas import DATASETS

    return set(DATASETS)


@app.command()
def catalog(store: StoreOption = None) -> None:
    """Rewrite the DuckDB catalog's views and print how to open it."""
    target = open_store(store)
    if target.refresh_catalog():
        out.print(f"duckdb {target.root / 'catalog.duckdb'}")
    else:
        err.print("the catalog is open in another process; close it and try again")
        raise typer.Exit(1)


@app.command()
def demo(
    store: StoreOption = None,
    real: Annotated[bool, typer.Option(help="also import ../shared/data/real if present")] = True,
) -> None:
    """Build a demo store and run a tour of analytics on it."""
    from houseedge.cli.demo import run_demo

    run_demo(open_store(store), include_real=real, console=out)


VENUES = ("alpaca", "binance", "ib")


def venue_alias(argv: list[str]) -> list[str]:
    """Return ``argv`` with ``ingest <venue> ...`` spelled as ``<venue> ingest ...``.

    ``houseedge ingest alpaca --symbols AAPL`` reads like the file form, so it is accepted as an
    alias of the venue's own command (unless a file of that name exists here).

    Examples
    --------
    >>> venue_alias(["ingest", "ib", "--symbols", "AAPL"])
    ['ib', 'ingest', '--symbols', 'AAPL']
    >>> venue_alias(["ingest", "GOOG.csv"])
    ['ingest', 'GOOG.csv']
    """
    if len(argv) >= 2 and argv[0] == "ingest" and argv[1] in VENUES and not Path(argv[1]).exists():
        return [argv[1], "ingest", *argv[2:]]
    return argv


def main() -> None:
    """Run the CLI, turning houseedge errors into one-line messages and exit status 2."""
    logs.configure(level="WARNING", json=False)
    try:
        app(args=venue_alias(sys.argv[1:]))
    except HouseEdgeError as exc:
        # Escaped: messages hold brackets (pip install 'houseedge[ib]', [alpaca] tables).
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


# Registered last: the research commands build on the helpers above.
from houseedge.cli import alpaca as cli_alpaca  # noqa: E402
from houseedge.cli import ib as cli_ib  # noqa: E402
from houseedge.cli import live as cli_live  # noqa: E402
from houseedge.cli import research as cli_research  # noqa: E402
from houseedge.cli import sweep as cli_sweep  # noqa: E402

cli_research.register(app)
cli_sweep.register(app)
cli_live.register(app)
cli_alpaca.register(app)
cli_ib.register(app)

from houseedge.cli import binance as cli_binance  # noqa: E402

cli_binance.register(app)
