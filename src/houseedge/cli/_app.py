"""The root of the ``houseedge`` command line: the app, its command groups and ``main``.

The groups are imported top-down and each adds its commands; no group imports another or this
module. Every command that touches the store takes ``--store`` (default ``$HOUSEEDGE_STORE`` or
``./data/store``). Errors about input end the command with a one-line message naming the input,
place and expectation, and exit status 2; no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from houseedge import __version__, logs
from houseedge.cli import alpaca, binance, demo, ib, live, policies, research, store, sweep
from houseedge.cli._common import err, out
from houseedge.errors import HouseEdgeError

__all__ = ["VENUES", "app", "main", "venue_alias"]

app = typer.Typer(
    name="houseedge",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Trading research and execution on one Parquet store: ingest, SQL, backtests, live.",
)


def _print_version(requested: bool) -> None:
    if requested:
        out.print(f"houseedge {__version__}", highlight=False)
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Trading research and execution on one Parquet store: ingest, SQL, backtests, live."""


# The order of registration is the order of `houseedge --help`.
for group in (store, demo, research, sweep, policies, live, alpaca, ib, binance):
    group.register(app)

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
