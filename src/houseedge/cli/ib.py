"""Interactive Brokers commands: ``houseedge ib ingest --symbols AAPL,EUR.USD`` (bars -> store).

A sub-command group, as ``houseedge alpaca ingest``: ``houseedge ingest PATH...`` takes files, so
a venue name there would be ambiguous with a file of that name.

Connection settings come from options or ``HOUSEEDGE_IB_*`` variables (host, port, client id);
bars are fetched with ``reqHistoricalData`` and written to the store's ``bars`` dataset
(validated, idempotent). Needs the extra: ``pip install 'houseedge[ib]'``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from houseedge.cli._common import StoreOption, open_store, out
from houseedge.cli._venue import (
    EndOption,
    StartOption,
    SymbolsOption,
    TimeframeOption,
    parse_symbols,
    require_venue,
    run_ingest,
    window,
)

__all__ = ["ib_app", "ingest", "register"]

ib_app = typer.Typer(
    name="ib",
    no_args_is_help=True,
    help="Interactive Brokers (TWS / IB Gateway): historical bars into the store.",
)


@ib_app.command()
def ingest(
    symbols: SymbolsOption,
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    store: StoreOption = None,
    what: Annotated[str, typer.Option(help="TRADES, MIDPOINT, BID, ASK")] = "TRADES",
    regular_hours: Annotated[bool, typer.Option(help="regular trading hours only")] = False,
    host: Annotated[str, typer.Option(envvar="HOUSEEDGE_IB_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="HOUSEEDGE_IB_PORT")] = 7497,
    client_id: Annotated[int, typer.Option(envvar="HOUSEEDGE_IB_CLIENT_ID")] = 17,
) -> None:
    """Fetch historical bars from TWS and write them to the store."""
    require_venue("ib")
    from houseedge.adapters.ib import IbConfig, ingest_bars

    names = parse_symbols(symbols)
    first, last = window(start, end)
    config = IbConfig(host=host, port=port, client_id=client_id)
    work = ingest_bars(
        open_store(store),
        names,
        timeframe,
        first,
        last,
        config=config,
        what=what,
        regular_hours=regular_hours,
    )
    run_ingest("ib", work, out, names)


def register(app: typer.Typer) -> None:
    """Add the ``ib`` command group to the command line."""
    app.add_typer(ib_app, name="ib")
