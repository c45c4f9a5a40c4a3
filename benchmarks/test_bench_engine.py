"""Live engine throughput and bar-to-order latency.

Throughput: 200,000 synthetic trades on two symbols (200 trades per one-minute bar) go through
the whole engine — staleness timer, the paper broker's matching, bar aggregation, an SMA cross
on every closed bar, sizing, the risk gate, the journal (a tmp file on disk, WAL,
synchronous=FULL) and the ledger. The figure is trades per second from the first event to the
engine being idle. Baseline in the same run: the same trades through a bare loop that only
aggregates bars. Target: >= 50,000 events per second.

Latency: for every order, the time from the arrival of the market event that closed the bar to
the call of ``broker.submit`` (``Engine.latencies``): the bar's mark, the policy's target on its
window, sizing, the risk check and the order's durable journal commit. Reported twice: with the
journal on disk, where the commit's fsync dominates (milliseconds on this machine's disk), and
with the journal on tmpfs (``/dev/shm``: the same code, the fsync costs nothing), which is the
in-process figure the target applies to, over 200,000 trades of a fast-flipping SMA 2/5 (a few
hundred orders, so the p99 is not one sample). Target: p99 <= 1 ms in process. The tmpfs run
also reports the order's journal commit alone (``Engine.journal_latencies``: durability keeps it
on the path) and the latency without it.

Run: ``uv run pytest benchmarks/test_bench_engine.py -m benchmark -s``
"""

from __future__ import annotations

import asyncio
import math
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from houseedge.core.broker import Trade
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.live.aggregate import BarAggregator
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.paper import PaperBroker

pytestmark = pytest.mark.benchmark

SYMBOLS = ("AAA", "BBB")
PER_BAR = 200
MINUTE = 60 * 10**9
START = 1_704_067_200 * 10**9


def trades(n: int, seed: int = 1) -> list[Trade]:
    rng = random.Random(seed)
    prices = dict.fromkeys(SYMBOLS, 100.0)
    step = MINUTE // PER_BAR
    out: list[Trade] = []
    for i in range(n // len(SYMBOLS)):
        for symbol in SYMBOLS:
            prices[symbol] *= math.exp(rng.gauss(0, 0.0008))
            out.append(Trade(symbol=symbol, ts=START + i * step, price=round(prices[symbol], 2),
                             size=float(rng.randint(1, 50))))  # fmt: skip
    return out


class FastFeed:
    """Yields given events, letting other tasks run every 256 (as the store replay does)."""

    def __init__(self, events: list[Trade]) -> None:
        self._events = events

    async def events(self) -> AsyncIterator[Trade]:
        for i, event in enumerate(self._events):
            if i % 256 == 0:
                await asyncio.sleep(0)
            yield event

    async def close(self) -> None:
        return None


async def _engine_run(events: list[Trade], journal: Path, policy: SmaCross) -> tuple[float, Engine]:
    engine = Engine(broker=PaperBroker(starting_cash=1e7), feed=FastFeed(events),
                    policies=[PolicySpec("sma", policy, list(SYMBOLS), sizer=FixedUnits(10))],
                    journal=journal, timeframe="1m",
                    risk=RiskLimits(max_orders_per_window=10_000, price_band=0.5))  # fmt: skip
    engine.latencies, engine.journal_latencies = [], []
    await engine.start()
    began = time.perf_counter()
    await engine.run_until_idle(timeout=600)
    elapsed = time.perf_counter() - began
    await engine.stop()
    return elapsed, engine


def _baseline(events: list[Trade]) -> float:
    aggregator = BarAggregator("1m")
    began = time.perf_counter()
    bars = 0
    for event in events:
        bars += len(aggregator.update(event))
    assert bars > 0
    return time.perf_counter() - began


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return {"n": len(values), "p50_ms": statistics.median(values) * 1e3, "p99_ms": p99 * 1e3,
            "max_ms": ordered[-1] * 1e3}  # fmt: skip


def test_engine_throughput_and_bar_to_order_latency(tmp_path: Path) -> None:
    events = trades(200_000)
    base = _baseline(events)
    elapsed, engine = asyncio.run(_engine_run(events, tmp_path / "live.db", SmaCross(5, 20)))
    rate, base_rate = len(events) / elapsed, len(events) / base
    print(f"\nengine: {len(events):,} trades in {elapsed:.2f} s = {rate:,.0f} events/s "
          f"({engine.book.orders_sent} orders, {len(engine.book.fills)} fills); "
          f"baseline (aggregation only): {base_rate:,.0f} events/s")  # fmt: skip
    disk = _percentiles(engine.latencies or [0.0])
    print(f"bar-to-order, journal on disk: {disk}")

    shm = Path("/dev/shm")  # noqa: S108 (tmpfs: the in-process figure without the disk's fsync)
    folder = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    fast = trades(200_000, seed=2)
    try:
        _, flipping = asyncio.run(_engine_run(fast, folder / "live.db", SmaCross(2, 5)))
    finally:  # tmpfs is memory: leave nothing behind
        if folder != tmp_path:
            shutil.rmtree(folder, ignore_errors=True)
    memory = _percentiles(flipping.latencies or [0.0])
    print(f"bar-to-order, journal on tmpfs (in process): {memory}")
    commit = _percentiles(flipping.journal_latencies or [0.0])
    print(f"  of which the order's journal commit (tmpfs): {commit}")
    decision = [t - j for t, j in zip(flipping.latencies or [], flipping.journal_latencies or [],
                                      strict=True)]  # fmt: skip
    print(f"  bar-to-order without the journal commit: {_percentiles(decision or [0.0])}")
    assert engine.book.orders_sent >= 10
    assert memory["n"] >= 200
    # Timing targets are recorded, not asserted: a shared machine makes them flaky.
    print(
        f"verdict: {rate:,.0f} events/s vs target 50,000 "
        f"({'met' if rate >= 50_000 else 'missed'}); bar-to-order p99 "
        f"{memory['p99_ms']:.2f} ms vs target 1 ms "
        f"({'met' if memory['p99_ms'] <= 1.0 else 'missed'})"
    )
