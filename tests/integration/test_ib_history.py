"""Historical bars from the fake TWS through ib-async into the store, by API and by CLI."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from houseedge.adapters.ib.history import fetch_bars
from houseedge.data.store._store import Store
from houseedge.errors import BrokerError
from tests.fakes.ib import FakeTws
from tests.fakes.ib.harness import tws_and_broker

pytestmark = pytest.mark.timeout(60)

DAY = 86_400 * 10**9
T0 = 1_767_312_000 * 10**9  # 2026-01-02 UTC


def _script(n: int, step: int) -> list[tuple[int, float, float, float, float, float]]:
    return [(T0 + i * step, 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 100.0 * (i + 1))
            for i in range(n)]  # fmt: skip


async def test_bar_sizes_and_contracts_of_fetch_bars() -> None:
    async with tws_and_broker() as (tws, broker, _):
        tws.bars["AAPL"] = _script(5, DAY)
        tws.bars["EUR.USD"] = _script(3, 60 * 10**9)
        daily = await fetch_bars(broker, "AAPL", bar_size="1 day", duration="5 D")
        assert daily.get_column("close").to_list() == [10.5, 11.5, 12.5, 13.5, 14.5]
        assert daily.get_column("ts").dt.epoch("ns").to_list() == [t for t, *_ in tws.bars["AAPL"]]
        minutes = await fetch_bars(broker, "EUR.USD", bar_size="1 min")
        assert minutes.get_column("timeframe").unique().to_list() == ["1m"]
        assert minutes.get_column("ts").dt.epoch("ns").to_list() == [
            t for t, *_ in tws.bars["EUR.USD"]]  # fmt: skip
        with pytest.raises(BrokerError, match="bar size"):
            await fetch_bars(broker, "AAPL", bar_size="7 mins")
        missing = await fetch_bars(broker, "MSFT", bar_size="1 day")  # TWS answers error 162
        assert missing.height == 0


@pytest.fixture
def tws_thread() -> Iterator[FakeTws]:
    """A fake TWS on its own loop and thread, for a CLI that runs asyncio.run itself."""
    loop = asyncio.new_event_loop()
    tws = FakeTws()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(tws.listen())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield tws
    asyncio.run_coroutine_threadsafe(tws.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_cli_ib_ingest_writes_bars(tws_thread: FakeTws, tmp_path: Path) -> None:
    from houseedge.cli._app import app
    from houseedge.cli.ib import register

    if not any(group.name == "ib" for group in app.registered_groups):
        register(app)
    tws_thread.bars["AAPL"] = _script(4, DAY)
    port = str(tws_thread.port)
    args = ["ib", "ingest", "--symbols", "AAPL", "--store", str(tmp_path), "--port", port,
            "--timeframe", "1d", "--start", "2026-01-02", "--end", "2026-01-06"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "+4 rows" in result.output
    frame = Store(tmp_path).scan("bars").collect()
    assert frame.get_column("close").to_list() == [10.5, 11.5, 12.5, 13.5]
    assert frame.schema["ts"] == pl.Datetime("ns", "UTC")
