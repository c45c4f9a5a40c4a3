"""SSE fan-out: 100 concurrent ``GET /events`` clients at 5,000 events per second.

The service runs in its own process (``python -m tests.fakes.fake_engine``): a journal-backed
fake engine publishes ``tick`` events at the target rate (journaled in groups of 50, one commit
each, as the engine's group commit does) and the real :class:`~houseedge.live.service.Service`
streams them. The clients run in this process on one aiohttp session each, all connecting with
``Last-Event-ID: 0``, so every client must receive every id from 1 to the last, contiguous:
a client that misses or repeats one fails the run. After ``SECONDS`` the server gets SIGTERM;
each stream ends with the shutdown comment after the engine's final event.

Figures: the publish rate the server achieved, events/s received per client, and each client's
lag (now minus the ``sent_ns`` stamped into the newest event of each chunk it reads; max and
p99 over all chunks of all clients). Baseline in the same run: one client.

Run: ``uv run pytest benchmarks/test_bench_sse.py -m benchmark --benchmark-enable -s``
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parents[1]
RATE = 5_000
SECONDS = 4.0
CONNECT_SECONDS = 2.0  # clients connect before the publisher starts: lag is steady-state
_ID = re.compile(rb"^id: (\d+)$", re.MULTILINE)
_SENT = re.compile(rb'"sent_ns":(\d+)')


@dataclass
class Client:
    """What one stream received: contiguous id ranges, lags, and the shutdown comment."""

    first: int = 0
    last: int = 0
    count: int = 0
    gaps: int = 0  # chunks whose ids were not exactly the ones after the previous chunk
    lags_ms: list[float] = field(default_factory=list)
    farewell: bool = False

    def take(self, complete: bytes) -> None:
        # Every id is checked, but with C loops (findall, map, range, list ==) so the harness
        # measures the server rather than itself: the ids of a chunk must be exactly the next
        # ones after the previous chunk's last (none missed, none repeated, in order).
        ids = list(map(int, _ID.findall(complete)))
        if not ids:
            return
        if ids != list(range(self.last + 1, self.last + 1 + len(ids))):
            self.gaps += 1
        self.first = self.first or ids[0]
        self.last, self.count = ids[-1], self.count + len(ids)
        sent = _SENT.search(complete, max(0, len(complete) - 400))
        if sent:
            self.lags_ms.append((time.time_ns() - int(sent.group(1))) / 1e6)


async def _consume(http: aiohttp.ClientSession, url: str, client: Client) -> None:
    tail = b""
    async with http.get(url, headers={"Last-Event-ID": "0"}) as response:
        async for chunk in response.content.iter_any():
            buffer = tail + chunk
            cut = buffer.rfind(b"\n\n") + 2
            complete, tail = buffer[:cut], buffer[cut:]
            client.take(complete)
            client.farewell |= b": disconnected: server shutting down" in complete


def _serve(tmp: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "tests.fakes.fake_engine", "--journal", str(tmp / "live.db"),
        "--rate", str(RATE), "--batch", "50", "--max-lag", "50000", "--no-fsync",
        "--delay", str(CONNECT_SECONDS),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)


def _log(process: subprocess.Popen[str], event: str) -> dict:
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("{") and json.loads(line)["event"] == event:
            return json.loads(line)
    raise AssertionError(f"no {event} log line")


def run(clients_n: int, tmp: Path) -> dict[str, float]:
    with _serve(tmp) as process:
        try:
            port = _log(process, "service_started")["port"]
            clients = [Client() for _ in range(clients_n)]
            cpu = asyncio.run(_fan_out(port, clients, process))
            publisher = _log(process, "publisher_stopped")
            drained = _log(process, "service_drained")
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
    last = drained["events_published"]
    for client in clients:
        assert client.gaps == 0, "a client missed or repeated an event"
        assert (client.first, client.last, client.count) == (1, last, last)
        assert client.farewell
    lags = sorted(lag for client in clients for lag in client.lags_ms)
    return {
        "clients": clients_n,
        "events": client.last,
        "publish_rate": publisher["ticks"] / publisher["seconds"],
        "delivered_per_s": sum(c.count for c in clients) / publisher["seconds"],
        "lag_p99_ms": lags[int(0.99 * (len(lags) - 1))],
        "lag_max_ms": lags[-1],
        **cpu,
    }


async def _fan_out(
    port: int, clients: list[Client], process: subprocess.Popen[str]
) -> dict[str, float]:
    """Stream to every client for the run, then SIGTERM; return each side's CPU use (cores)."""
    import psutil

    sides = {"server_cpu": psutil.Process(process.pid), "clients_cpu": psutil.Process()}
    url = f"http://127.0.0.1:{port}/events"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks = [asyncio.create_task(_consume(http, url, c)) for c in clients]
        before = {name: sum(p.cpu_times()[:2]) for name, p in sides.items()}
        started = time.monotonic()
        await asyncio.sleep(CONNECT_SECONDS + SECONDS)
        wall = time.monotonic() - started
        cpu = {name: (sum(p.cpu_times()[:2]) - before[name]) / wall for name, p in sides.items()}
        process.send_signal(signal.SIGTERM)
        await asyncio.gather(*tasks)
    return cpu


@pytest.mark.parametrize("clients_n", [1, 100])
def test_sse_fan_out(benchmark, clients_n: int, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    figures = benchmark.pedantic(run, args=(clients_n, tmp_path), rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print(
        f"\nSSE {clients_n:>3} clients: published {figures['publish_rate']:,.0f} events/s, "
        f"delivered {figures['delivered_per_s']:,.0f} events/s in all, lag p99 "
        f"{figures['lag_p99_ms']:.1f} ms, max {figures['lag_max_ms']:.1f} ms "
        f"({figures['events']:,} events; CPU cores: server {figures['server_cpu']:.2f}, "
        f"clients {figures['clients_cpu']:.2f}; load {os.getloadavg()[0]:.1f})"
    )
    assert figures["publish_rate"] > 0.8 * RATE
