"""The demo's closing act: a short live session whose fills stream over SSE.

The engine runs the paper broker over the demo store's daily bars (a replay as fast as the
engine goes), the HTTP service listens on an ephemeral port on 127.0.0.1, and a plain SSE
client connects with ``Last-Event-ID: 0`` — so it receives the journaled history first and then
the live stream, exactly as a reconnecting dashboard would.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from rich.console import Console

from houseedge.data.store import Store

FILLS_SHOWN = 6


async def _read_fills(url: str, wanted: int) -> list[tuple[int, dict[str, Any]]]:
    """Read ``/events`` from the start until ``wanted`` fill events arrived."""
    fills: list[tuple[int, dict[str, Any]]] = []
    event_id, kind = 0, ""
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"{url}/events", headers={"Last-Event-ID": "0"}) as response,
    ):
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("id:"):
                event_id = int(line[3:])
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind == "fill":
                fills.append((event_id, orjson.loads(line[5:])["payload"]))
                if len(fills) >= wanted:
                    break
    return fills


async def _session(store: Store, journal: Path) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    from houseedge.app.settings import LiveSettings, build_engine
    from houseedge.live.service import Service, ServiceSettings

    # The last year and a half of the demo's daily bars: enough for a handful of fills, quick.
    settings = LiveSettings(
        store=store.root,
        symbols=["SYNA", "SYNB"],
        timeframe="1d",
        start="2023-01-01",
        journal=journal,
        port=0,
    )
    engine = build_engine(settings)
    await engine.start()
    service = Service(engine, ServiceSettings(port=0), stop_engine=lambda: engine.stop(timeout=5))
    await service.start()
    try:
        reader = asyncio.create_task(_read_fills(service.url, FILLS_SHOWN))
        await engine.run_until_idle(timeout=30)
        fills = await asyncio.wait_for(reader, timeout=30)
    finally:
        await service.drain()
    return service.url, fills


def run_live_session(store: Store, console: Console) -> None:
    """Run the live session and print the fills the SSE client received."""
    with tempfile.TemporaryDirectory() as folder:
        url, fills = asyncio.run(_session(store, Path(folder) / "journal.db"))
    console.print(f"live session: paper broker on the demo store, service at {url}")
    for event_id, fill in fills:
        console.print(
            f"  SSE id {event_id:>4}  fill {fill['fill_id']:<9} {fill['symbol']} "
            f"{fill['side']:<4} {fill['qty']:g} @ {fill['price']:.4f}  fee {fill['fee']:.4f}"
        )
    console.print(
        "  (houseedge live run --config examples/live.toml serves the same stream "
        "until SIGTERM; see SSE_STREAMING_GUIDE.md)"
    )
