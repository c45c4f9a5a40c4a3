"""Historical bars through alpaca-py's data client (against the fake) into the store and the CLI."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from houseedge.adapters.alpaca.client import AlpacaBroker
from houseedge.adapters.alpaca.config import config_from_settings
from houseedge.adapters.alpaca.factory import build_venue
from houseedge.adapters.alpaca.history import fetch_bars, timeframe_of
from houseedge.adapters.alpaca.mapping import parse_ts
from houseedge.app.settings import LiveSettings
from houseedge.cli._app import app, venue_alias
from houseedge.data.store._store import Store
from houseedge.errors import ConfigError
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.alpaca.bars import expected_bar
from tests.fakes.alpaca.harness import config_for

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 5, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    """Run the fake on its own loop thread, so synchronous code (the CLI) can call it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FakeAlpaca()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    yield server
    asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_bars_match_the_fake_across_pages(fake: FakeAlpaca) -> None:
    frame = fetch_bars(config_for(fake), ["AAPL", "MSFT"], "1h", START, END)
    assert frame.height == 2 * (4 * 24 + 1)
    assert fake.stats.bar_pages == 2  # the fake pages at 100 bars: alpaca-py followed the token
    first = frame.filter(pl.col("symbol") == "MSFT").row(0, named=True)
    want = expected_bar("MSFT", parse_ts("2024-01-01T00:00:00Z"))
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        want["o"],
        want["h"],
        want["l"],
        want["c"],
    )
    assert first["ts"] == START and first["timeframe"] == "1h"


def test_end_is_exclusive(fake: FakeAlpaca, tmp_path: Path) -> None:
    """``ingest_bars`` (the one history signature) takes bars opening in [start, end)."""
    from houseedge.adapters.alpaca.history import ingest_bars

    store = Store(tmp_path / "store")
    work = ingest_bars(store, ["AAPL"], "1d", START, END, config=config_for(fake))
    (report,) = asyncio.run(work)
    assert report.rows_added == 4
    assert store.read("bars")["ts"].max() == END - timedelta(days=1)
    stored = store.read("bars", symbols=["AAPL"], timeframe="1d")
    assert stored["close"].to_list() == [
        expected_bar("AAPL", parse_ts(f"2024-01-0{d}T00:00:00Z"))["c"] for d in range(1, 5)
    ]


@pytest.mark.parametrize("spelling", ["alpaca ingest", "ingest alpaca"])
def test_cli_alpaca_ingest(
    fake: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.setenv("HOUSEEDGE_BROKER_KEY", fake.key)
    monkeypatch.setenv("HOUSEEDGE_BROKER_SECRET", fake.secret)
    monkeypatch.setenv("HOUSEEDGE_ALPACA_DATA_URL", fake.base_url)
    args = [
        *venue_alias(spelling.split()),
        "--symbols",
        "AAPL,MSFT",
        "--timeframe",
        "1d",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-04",
        "--store",
        str(tmp_path / "s"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "+6 rows" in result.output
    assert Store(tmp_path / "s").read("bars").height == 6


def test_timeframes_and_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert str(timeframe_of("1h")) == "1Hour"
    with pytest.raises(ConfigError, match="timeframe"):
        timeframe_of("3s")
    for name in ("HOUSEEDGE_BROKER_KEY", "HOUSEEDGE_ALPACA_API_KEY", "HOUSEEDGE_ALPACA_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="api_key"):
        config_from_settings(LiveSettings())
    monkeypatch.setenv("HOUSEEDGE_BROKER_KEY", "k-env")
    monkeypatch.setenv("HOUSEEDGE_BROKER_SECRET", "s-env")
    monkeypatch.setenv("HOUSEEDGE_ALPACA_STREAM", "sse")
    broker = build_venue(LiveSettings()).broker
    assert isinstance(broker, AlpacaBroker)
    assert broker.config.api_key.get_secret_value() == "k-env"
    assert broker.config.stream == "sse"
