"""What the venue command groups share: the ``… ingest`` options, their parsing, the summary.

``houseedge alpaca ingest``, ``houseedge binance ingest`` and ``houseedge ib ingest`` take the
same ``--symbols --timeframe --start --end`` (same meaning, formats and help), parsed here, and
call their venue's ``history.ingest_bars`` (one signature for every adapter). The venue's
packages are checked first through the broker registry, so a missing extra is a clear error
naming it (``pip install 'houseedge[alpaca]'``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from houseedge.errors import ConfigError

if TYPE_CHECKING:
    from houseedge.data.store import WriteReport  # the store loads DuckDB: only when ingesting

__all__ = [
    "EndOption",
    "StartOption",
    "SymbolsOption",
    "TimeframeOption",
    "parse_symbols",
    "parse_time",
    "require_venue",
    "run_ingest",
    "window",
]

SymbolsOption = Annotated[
    str, typer.Option("--symbols", help="Comma-separated symbols, e.g. AAPL,MSFT or BTCUSDT.")
]
TimeframeOption = Annotated[
    str, typer.Option("--timeframe", help="Bar length: 1m, 5m, 15m, 1h, 1d or 1w.")
]
StartOption = Annotated[
    str | None,
    typer.Option(
        "--start", help="First bar's open time, ISO 8601 (UTC when naive); default 30 days ago."
    ),
]
EndOption = Annotated[
    str | None,
    typer.Option(
        "--end", help="Bars opening before this time, ISO 8601 (UTC when naive); default now."
    ),
]


def parse_symbols(text: str) -> list[str]:
    """Return the symbols of a comma-separated list (blanks dropped).

    Examples
    --------
    >>> parse_symbols(" AAPL, MSFT,,")
    ['AAPL', 'MSFT']
    """
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        msg = f"--symbols {text!r}: expected comma-separated symbols, e.g. AAPL,MSFT"
        raise ConfigError(msg)
    return names


def parse_time(text: str | None, option: str, default: datetime) -> datetime:
    """Return an ISO 8601 time as an aware UTC datetime (naive means UTC).

    Examples
    --------
    >>> parse_time("2024-01-02", "--start", datetime.now(UTC)).isoformat()
    '2024-01-02T00:00:00+00:00'
    >>> parse_time("yesterday", "--start", datetime.now(UTC))
    Traceback (most recent call last):
    ...
    houseedge.errors.ConfigError: --start 'yesterday': expected an ISO date or time \
(2024-01-02, 2024-01-02T14:30:00Z)
    """
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"{option} {text!r}: expected an ISO date or time (2024-01-02, 2024-01-02T14:30:00Z)"
        raise ConfigError(msg) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def require_venue(name: str) -> None:
    """Check the venue's packages are installed (``BrokerUnavailable`` names the extra)."""
    from houseedge.app.registry import require_broker

    require_broker(name, key="venue")


def window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """Return ``--start`` / ``--end`` as UTC datetimes (defaults: 30 days ago, now)."""
    now = datetime.now(UTC)
    first = parse_time(start, "--start", now - timedelta(days=30))
    last = parse_time(end, "--end", now)
    if first >= last:
        msg = f"--start {first.isoformat()} must be before --end {last.isoformat()}"
        raise ConfigError(msg)
    return first, last


def run_ingest(
    venue: str, work: Coroutine[Any, Any, Sequence[WriteReport]], out: Any, symbols: list[str]
) -> None:
    """Run a venue's ``ingest_bars`` and print what each write added."""
    reports = asyncio.run(work)
    for report in reports:
        out.print(
            f"{venue}: {report.dataset} +{report.rows_added} rows ({report.rows_in} fetched, "
            f"{report.partitions_changed} partitions changed)"
        )
    if not reports:
        out.print(f"{venue}: no bars for {','.join(symbols)}")
