"""Binance commands: ``houseedge binance ingest --symbols BTCUSDT,ETHUSDT`` (klines -> store).

A sub-command group, as ``houseedge alpaca ingest`` and ``houseedge ib ingest``: ``houseedge
ingest PATH...`` takes files, so a venue name there would be ambiguous with a file of that name.
Klines are public: no keys are needed. ``--api-url`` (or ``HOUSEEDGE_BINANCE_API_URL``) points
at another endpoint (the testnet, a fake). Needs the extra: ``pip install 'houseedge[binance]'``.
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

__all__ = ["binance_app", "ingest", "register"]

binance_app = typer.Typer(
    name="binance",
    no_args_is_help=True,
    help="Binance: historical klines into the store.",
)


@binance_app.command()
def ingest(
    symbols: SymbolsOption,
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    store: StoreOption = None,
    market: Annotated[str, typer.Option(help="spot or usdm")] = "spot",
    api_url: Annotated[str | None, typer.Option(envvar="HOUSEEDGE_BINANCE_API_URL")] = None,
) -> None:
    """Fetch closed klines from Binance and write them to the store's bars."""
    require_venue("binance")
    from houseedge.adapters.binance import BinanceConfig, ingest_bars

    names = [s.upper() for s in parse_symbols(symbols)]
    first, last = window(start, end)
    url = {"api_url": api_url} if market == "spot" else {"futures_url": api_url}
    config = BinanceConfig(symbols=names, market=market, **url)  # type: ignore[arg-type]
    work = ingest_bars(open_store(store), names, timeframe, first, last, config=config)
    run_ingest("binance", work, out, names)


def register(app: typer.Typer) -> None:
    """Add the ``binance`` command group to the command line."""
    app.add_typer(binance_app, name="binance")
