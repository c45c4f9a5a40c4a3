"""Alpaca commands: ``houseedge alpaca ingest`` (historical bars into the store).

A sub-command group rather than a source name inside ``houseedge ingest PATH...``: that command
takes files, and a literal ``alpaca`` there would be ambiguous with a file of that name. Keys come
from the environment only (``HOUSEEDGE_BROKER_KEY``/``HOUSEEDGE_BROKER_SECRET`` or
``HOUSEEDGE_ALPACA_API_KEY``/``HOUSEEDGE_ALPACA_SECRET_KEY``); ``HOUSEEDGE_ALPACA_DATA_URL``
points the data client elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from houseedge.errors import ConfigError

__all__ = ["alpaca_app", "register"]

alpaca_app = typer.Typer(
    name="alpaca", no_args_is_help=True, help="Alpaca: historical bars into the store."
)


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"{text!r} is not an ISO date or time (2024-01-02, 2024-01-02T14:30:00Z)"
        raise ConfigError(msg) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@alpaca_app.command("ingest")
def ingest(
    symbols: Annotated[str, typer.Option(help="comma-separated symbols: AAPL,MSFT")],
    start: Annotated[str, typer.Option(help="first bar time (ISO; UTC when naive)")],
    timeframe: Annotated[str, typer.Option(help="1m, 5m, 1h, 1d, 1w, 1mo")] = "1d",
    end: Annotated[str | None, typer.Option(help="last bar time (ISO)")] = None,
    adjustment: Annotated[str, typer.Option(help="raw, split, dividend or all")] = "raw",
    store: Annotated[
        Path | None, typer.Option("--store", envvar="HOUSEEDGE_STORE", help="store root")
    ] = None,
) -> None:
    """Fetch historical bars through alpaca-py and write them to the store."""
    from houseedge.adapters.alpaca.factory import alpaca_config
    from houseedge.adapters.alpaca.history import ingest_bars
    from houseedge.app.settings import LiveSettings
    from houseedge.cli._common import open_store, out

    names = [s.strip() for s in symbols.split(",") if s.strip()]
    first = _when(start)
    if first is None or not names:
        msg = "--symbols and --start are required"
        raise ConfigError(msg)
    config = alpaca_config(LiveSettings())
    report = ingest_bars(
        open_store(store), config, names, timeframe, first, _when(end), adjustment=adjustment
    )
    out.print(
        f"alpaca {','.join(names)} {timeframe}: {report.dataset} +{report.rows_added} rows "
        f"({report.rows_in} fetched, {report.partitions_changed} partitions changed)"
    )


def register(app: typer.Typer) -> None:
    """Add the ``alpaca`` command group to the main CLI."""
    app.add_typer(alpaca_app)
