"""Binance commands: ``houseedge binance ingest --symbols BTCUSDT,ETHUSDT`` (klines -> store).

A sub-command group, as ``houseedge alpaca ingest`` and ``houseedge ib ingest``: ``houseedge
ingest PATH...`` takes files, so a venue name there would be ambiguous with a file of that name.
Klines are public: no keys are needed. ``--api-url`` (or ``HOUSEEDGE_BINANCE_API_URL``) points
at another endpoint (the testnet, a fake).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["binance_app", "ingest", "register"]

binance_app = typer.Typer(
    name="binance",
    no_args_is_help=True,
    help="Binance: historical klines into the store.",
)


def _ms(text: str | None, default: datetime) -> int:
    moment = datetime.fromisoformat(text) if text else default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@binance_app.command()
def ingest(
    symbols: Annotated[str, typer.Option(help="comma-separated symbols: BTCUSDT,ETHUSDT")],
    store: Annotated[Path | None, typer.Option("--store", envvar="HOUSEEDGE_STORE")] = None,
    interval: Annotated[str, typer.Option(help="kline interval: 1m, 5m, 1h, 1d")] = "1d",
    start: Annotated[str | None, typer.Option(help="ISO 8601 UTC (default: 30 days ago)")] = None,
    end: Annotated[str | None, typer.Option(help="ISO 8601 UTC, exclusive (default: now)")] = None,
    market: Annotated[str, typer.Option(help="spot or usdm")] = "spot",
    api_url: Annotated[str | None, typer.Option(envvar="HOUSEEDGE_BINANCE_API_URL")] = None,
) -> None:
    """Fetch closed klines from Binance and write them to the store's bars."""
    from houseedge.adapters.binance import BinanceConfig
    from houseedge.adapters.binance.history import ingest_klines
    from houseedge.cli._common import open_store, out

    now = datetime.now(UTC)
    names = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    url = {"api_url": api_url} if market == "spot" else {"futures_url": api_url}
    config = BinanceConfig(symbols=names, market=market, **url)  # type: ignore[arg-type]
    added = asyncio.run(ingest_klines(open_store(store), config, symbols=names, interval=interval,
                                      start_ms=_ms(start, now - timedelta(days=30)),
                                      end_ms=_ms(end, now)))  # fmt: skip
    for symbol, rows in added.items():
        out.print(f"binance: bars {symbol} {interval} +{rows} rows")


def register(app: typer.Typer) -> None:
    """Add the ``binance`` command group to the command line."""
    app.add_typer(binance_app, name="binance")
