"""Alpaca commands: ``houseedge alpaca ingest`` (historical bars into the store).

A sub-command group rather than a source name inside ``houseedge ingest PATH...``: that command
takes files, and a literal ``alpaca`` there would be ambiguous with a file of that name. Keys come
from the environment only (``HOUSEEDGE_BROKER_KEY``/``HOUSEEDGE_BROKER_SECRET`` or
``HOUSEEDGE_ALPACA_API_KEY``/``HOUSEEDGE_ALPACA_API_SECRET``); ``HOUSEEDGE_ALPACA_DATA_URL``
points the data client elsewhere. Needs the extra: ``pip install 'houseedge[alpaca]'``.
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

__all__ = ["alpaca_app", "register"]

alpaca_app = typer.Typer(
    name="alpaca", no_args_is_help=True, help="Alpaca: historical bars into the store."
)


@alpaca_app.command("ingest")
def ingest(
    symbols: SymbolsOption,
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    adjustment: Annotated[str, typer.Option(help="raw, split, dividend or all")] = "raw",
    store: StoreOption = None,
) -> None:
    """Fetch historical bars through alpaca-py and write them to the store."""
    require_venue("alpaca")
    from houseedge.adapters.alpaca import config_from_settings, ingest_bars
    from houseedge.app.settings import LiveSettings

    names = parse_symbols(symbols)
    first, last = window(start, end)
    config = config_from_settings(LiveSettings())
    work = ingest_bars(
        open_store(store), names, timeframe, first, last, config=config, adjustment=adjustment
    )
    run_ingest("alpaca", work, out, names)


def register(app: typer.Typer) -> None:
    """Add the ``alpaca`` command group to the main CLI."""
    app.add_typer(alpaca_app)
