"""Interactive Brokers commands: ``houseedge ib ingest --symbols AAPL,EUR.USD`` (bars -> store).

A sub-command group, as ``houseedge alpaca ingest``: ``houseedge ingest PATH...`` takes files, so
a venue name there would be ambiguous with a file of that name.

Connection settings come from options or ``HOUSEEDGE_IB_*`` variables (host, port, client id);
bars are fetched with ``reqHistoricalData`` and written to the store's ``bars`` dataset
(validated, idempotent).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ib_app", "ingest", "register"]

ib_app = typer.Typer(
    name="ib",
    no_args_is_help=True,
    help="Interactive Brokers (TWS / IB Gateway): historical bars into the store.",
)


@ib_app.command()
def ingest(
    symbols: Annotated[str, typer.Option(help="comma-separated symbols: AAPL,EUR.USD")],
    store: Annotated[Path | None, typer.Option("--store", envvar="HOUSEEDGE_STORE")] = None,
    bar_size: Annotated[
        str, typer.Option(help="IB bar size: '1 min', '1 hour', '1 day'")
    ] = "1 day",
    duration: Annotated[str, typer.Option(help="IB duration: '1 D', '2 W', '1 Y'")] = "1 M",
    end: Annotated[str | None, typer.Option(help="end time, ISO 8601 UTC (default: now)")] = None,
    what: Annotated[str, typer.Option(help="TRADES, MIDPOINT, BID, ASK")] = "TRADES",
    regular_hours: Annotated[bool, typer.Option(help="regular trading hours only")] = False,
    host: Annotated[str, typer.Option(envvar="HOUSEEDGE_IB_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="HOUSEEDGE_IB_PORT")] = 7497,
    client_id: Annotated[int, typer.Option(envvar="HOUSEEDGE_IB_CLIENT_ID")] = 17,
) -> None:
    """Fetch historical bars from TWS and write them to the store."""
    from houseedge.adapters.ib import IbBroker, IbConfig
    from houseedge.adapters.ib.history import ingest_bars
    from houseedge.cli._common import open_store, out

    moment = datetime.fromisoformat(end) if end else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    names = [s.strip() for s in symbols.split(",") if s.strip()]
    config = IbConfig(host=host, port=port, client_id=client_id, reconcile_interval=0,
                      connect_attempts=1)  # fmt: skip

    async def run() -> list[object]:
        broker = IbBroker(config)
        await broker.connect()
        try:
            return list(await ingest_bars(broker, open_store(store), names, bar_size=bar_size,
                                          duration=duration, end=moment, what=what,
                                          regular_hours=regular_hours))  # fmt: skip
        finally:
            await broker.close()

    for report in asyncio.run(run()):
        out.print(f"ib: {report.dataset} +{report.rows_added} rows ({report.rows_in} read)")  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    """Add the ``ib`` command group to the command line."""
    app.add_typer(ib_app, name="ib")
