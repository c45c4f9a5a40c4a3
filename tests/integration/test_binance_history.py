"""Historical klines from the fake Binance into a real store; the CLI command; feed backfill."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from houseedge.adapters.binance.feed import BinanceFeed
from houseedge.adapters.binance.history import ingest_bars
from houseedge.cli._app import app
from houseedge.core.types import Bar
from houseedge.data.store._store import Store
from tests.fakes.binance.harness import KEY, SECRET, config_for, until
from tests.fakes.binance.server import FakeBinance

PATH = [100.0 + (i % 9) for i in range(2500)]  # three pages of 1,000


async def test_klines_are_paged_in_thousands(tmp_path: Path) -> None:
    """Three pages of klines (Binance's 1,000 limit) arrive as one minute-spaced series."""
    fake = await FakeBinance(KEY, SECRET, {"BTCUSDT": PATH}).start()
    try:
        store = Store(tmp_path / "store")
        start = datetime.fromtimestamp(fake.exchange.start_ms / 1000, UTC)
        end = start + timedelta(minutes=2400)
        (report,) = await ingest_bars(store, ["BTCUSDT"], "1m", start, end, config=config_for(fake))
        bars = store.scan("bars", symbols=["BTCUSDT"]).sort("ts").collect()
        assert report.rows_added == 2400
        assert bars.height == 2400
        assert bars["close"].to_list() == PATH[:2400]
        steps = bars["ts"].diff().drop_nulls().dt.total_seconds().unique().to_list()
        assert steps == [60]
        assert len([r for r in fake.requests if r[1] == "klines"]) >= 3
    finally:
        await fake.stop()


def test_cli_binance_ingest(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = asyncio.run_coroutine_threadsafe(
        FakeBinance(KEY, SECRET, {"BTCUSDT": PATH[:30]}).start(), loop
    ).result(10)
    try:
        start = "2023-11-14T22:13:20"  # the fake's first kline
        args = ["binance", "ingest", "--symbols", "btcusdt", "--timeframe", "1m",
                "--start", start, "--end", "2023-11-14T22:33:20",
                "--store", str(tmp_path / "s"), "--api-url", fake.api_url]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "binance: bars +20 rows" in result.output
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


async def test_feed_backfills_bars_lost_in_a_stream_gap() -> None:
    fake = await FakeBinance(KEY, SECRET, {"BTCUSDT": PATH[:40]}).start()
    feed = BinanceFeed(config_for(fake))
    bars: list[Bar] = []

    async def read() -> None:
        async for event in feed.events():
            assert isinstance(event, Bar)
            bars.append(event)

    task = asyncio.get_running_loop().create_task(read())
    try:
        await until(lambda: fake.market)
        for _ in range(5):
            await fake.step()
        await until(lambda: len(bars) == 5)
        for ws, _, _ in list(fake.market):
            await ws.close()  # the stream drops; python-binance reconnects by itself
        for _ in range(5):
            await fake.step()  # closed while nobody listens: lost from the stream
        await until(lambda: fake.market, timeout=15)
        await fake.step()
        await until(lambda: len(bars) == 11, timeout=15)
        assert [b.close for b in bars] == PATH[1:12]
        assert feed.backfilled == 5
    finally:
        await feed.close()
        await asyncio.wait_for(task, 5)
        await fake.stop()
