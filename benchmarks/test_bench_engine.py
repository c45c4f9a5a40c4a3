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

Ten strategies (built-in policies with different parameters on four symbols, 200,000 trades):
events/s with the journal on disk (target >= 50,000), and bar-to-order p99 on tmpfs (target
<= 1 ms) with notifications on (a ``NotificationRelay`` whose webhook sink posts to a loopback
aiohttp server in another process), without them (the baseline), and with a dead sink (a refused
port; a server that never answers). Every variant trades the same events and fills the same.

Reload: ``Engine.manage(name, "reload")`` with the application's loader (as ``POST
/strategies/{name}/reload``) of a policy in a temporary file, edited before each of 200 reloads.
Target: <= 100 ms; median and p99 of the whole call (with its audit event's durable commit).

Run: ``uv run pytest benchmarks/test_bench_engine.py -m benchmark -s``
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from houseedge.app import manage
from houseedge.app.references import build
from houseedge.app.settings import PolicyConfig
from houseedge.core.broker import Trade
from houseedge.core.policies.builtin import EmaCross, SmaCross, VolTargetTrend
from houseedge.core.policies.reversion import BollingerReversion, DonchianBreakout, RsiReversion
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.live.aggregate import BarAggregator
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.notify import NotificationRelay, NotifySinkConfig
from houseedge.live.paper import PaperBroker

pytestmark = pytest.mark.benchmark

SYMBOLS = ("AAA", "BBB")
PER_BAR = 200
MINUTE = 60 * 10**9
START = 1_704_067_200 * 10**9


def trades(n: int, seed: int = 1, symbols: tuple[str, ...] = SYMBOLS) -> list[Trade]:
    rng = random.Random(seed)
    prices = dict.fromkeys(symbols, 100.0)
    step = MINUTE // PER_BAR
    out: list[Trade] = []
    for i in range(n // len(symbols)):
        for symbol in symbols:
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


# -- ten strategies, with and without notifications ---------------------------------------------

FOUR = ("AAA", "BBB", "CCC", "DDD")


def ten_strategies(*, python_steppers: bool = False) -> list[PolicySpec]:
    """Ten built-in policies with different parameters on a few symbols each.

    Bollinger reversion and the volatility-targeted trend ask Polars for their bands or their
    volatility on every bar; ``python_steppers`` puts two more crosses in their place, so every
    target is stepped in Python (the diagnostic variant).
    """
    a, b, c, d = FOUR
    table: list[tuple[str, Any, tuple[str, ...]]] = [
        ("sma_2_5", SmaCross(2, 5), (a, b)),
        ("sma_3_8", SmaCross(3, 8), (c, d)),
        ("sma_5_20", SmaCross(5, 20), FOUR),
        ("ema_2_6", EmaCross(2, 6), (a, c)),
        ("ema_4_12", EmaCross(4, 12), (b, d)),
        ("donchian_5_3", DonchianBreakout(5, 3), FOUR),
        ("rsi_3", RsiReversion(period=3), (a, d)),
        ("rsi_5", RsiReversion(period=5, lower=25.0, upper=75.0), (b, c)),
    ]
    if python_steppers:
        table += [("sma_10_30", SmaCross(10, 30), FOUR), ("ema_8_21", EmaCross(8, 21), (a, b))]
    else:
        table += [
            ("bollinger_5", BollingerReversion(period=5, k=1.0), FOUR),
            ("vol_trend", VolTargetTrend(5, 10, target_vol=0.2, periods_per_year=98_280), (a, b)),
        ]
    return [
        PolicySpec(name, policy, list(symbols), sizer=FixedUnits(10))
        for name, policy, symbols in table
    ]


_RECEIVER = """
import sys
from aiohttp import web
got = []
async def hook(request):
    got.append(await request.read())
    return web.json_response({"ok": True})
async def seen(request):
    return web.json_response({"count": len(got)})
app = web.Application()
app.add_routes([web.post("/hook", hook), web.get("/count", seen)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def webhook_receiver() -> Iterator[str]:
    """Run a loopback aiohttp webhook receiver in another process; yield its base URL."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _RECEIVER, str(port)])
    try:
        for _ in range(500):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def _received(base: str) -> int:
    with urllib.request.urlopen(f"{base}/count", timeout=5) as answer:  # noqa: S310 (loopback)
        return int(json.loads(answer.read())["count"])


async def _ten_run(
    events: list[Trade], journal: Path, url: str | None, *, python_steppers: bool = False
) -> tuple[float, Engine, dict[str, Any]]:
    """Run the ten strategies over ``events``; with ``url``, a webhook relay is subscribed."""
    specs = ten_strategies(python_steppers=python_steppers)
    engine = Engine(
        broker=PaperBroker(starting_cash=1e7),
        feed=FastFeed(events),
        policies=specs,
        journal=journal,
        timeframe="1m",
        cash=1e7,
        risk=RiskLimits(max_orders_per_window=10_000, price_band=0.5),
    )
    engine.latencies, engine.journal_latencies = [], []
    await engine.start()
    relay = None
    if url is not None:
        relay = NotificationRelay.from_configs([NotifySinkConfig(type="webhook", url=url)])
        assert relay is not None
        relay.start(engine)
    began = time.perf_counter()
    await engine.run_until_idle(timeout=600)
    elapsed = time.perf_counter() - began
    await engine.stop()
    closed = {} if relay is None else await relay.stop(timeout=10.0)
    return elapsed, engine, closed.get("sinks", {}).get("webhook", {})


def _in_tmpfs(
    events: list[Trade], url: str | None, *, python_steppers: bool = False
) -> tuple[float, Engine, dict[str, Any]]:
    shm = Path("/dev/shm")  # noqa: S108 (tmpfs: the in-process figure without the disk's fsync)
    folder = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else None))
    try:
        run = _ten_run(events, folder / "live.db", url, python_steppers=python_steppers)
        return asyncio.run(run)
    finally:  # tmpfs is memory: leave nothing behind
        shutil.rmtree(folder, ignore_errors=True)


def test_ten_strategies_throughput_and_latency_with_notifications(tmp_path: Path) -> None:
    events = trades(200_000, seed=3, symbols=FOUR)
    elapsed, engine, _ = asyncio.run(_ten_run(events, tmp_path / "live.db", None))
    rate = len(events) / elapsed
    print(
        f"\n10 strategies, journal on disk: {len(events):,} trades in {elapsed:.2f} s = "
        f"{rate:,.0f} events/s ({engine.book.orders_sent} orders, "
        f"{len(engine.book.fills)} fills)"
    )
    assert len({policy for _, policy in engine.book.fills}) == 10, "every strategy traded"

    dead = f"http://127.0.0.1:{_free_port()}/hook"  # nothing listens there
    runs: dict[str, tuple[float, Engine, dict[str, Any]]] = {}
    with webhook_receiver() as base, socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(64)  # accepts connections (the kernel's backlog) and never answers
        url = {
            "off": None,
            "webhook": f"{base}/hook",
            "refused": dead,
            "hanging": f"http://127.0.0.1:{hanging.getsockname()[1]}/hook",
        }
        for name in url:
            runs[name] = _in_tmpfs(events, url[name])
        received = _received(base)
        # Diagnostic: every target stepped in Python (no Polars call per bar).
        for name in ("off", "webhook"):
            runs[f"python/{name}"] = _in_tmpfs(events, url[name], python_steppers=True)
    p99: dict[str, float] = {}
    for name, (took, ran, sink) in runs.items():
        figures = _percentiles(ran.latencies or [0.0])
        p99[name] = figures["p99_ms"]
        print(
            f"bar-to-order, tmpfs, notifications {name}: {figures}; "
            f"{len(events) / took:,.0f} events/s; sink {sink or '-'}"
        )
        assert figures["n"] >= 200
        same = runs["python/off" if name.startswith("python") else "off"][1].book.fills
        assert len(ran.book.fills) == len(same), f"notifications changed the trading: {name}"
    sent = runs["webhook"][2]
    print(
        f"webhook receiver got {received} notifications (queued {sent['queued']}, "
        f"dropped as the queue was full {sent['dropped_full']})"
    )
    assert received == sent["sent"] > 0
    assert runs["refused"][2]["sent"] == runs["hanging"][2]["sent"] == 0
    worst = max(p99["webhook"], p99["refused"], p99["hanging"])
    print(
        f"verdict: {rate:,.0f} events/s with 10 strategies vs target 50,000 "
        f"({'met' if rate >= 50_000 else 'missed'}); bar-to-order p99 with notifications "
        f"{p99['webhook']:.2f} ms (dead sink {p99['refused']:.2f}, hanging "
        f"{p99['hanging']:.2f}) vs target 1 ms ({'met' if worst <= 1.0 else 'missed'}); "
        f"without notifications {p99['off']:.2f} ms: ratio {p99['webhook'] / p99['off']:.2f}x; "
        f"Python-stepped set {p99['python/webhook']:.2f} ms with, "
        f"{p99['python/off']:.2f} ms without notifications"
    )


# -- reload ---------------------------------------------------------------------------------------

POLICY_FILE = """
import polars as pl

VERSION = {version}


class Momentum:
    name = "file_momentum"
    def __init__(self, lookback: int = 5) -> None:
        self.lookback = lookback
    @property
    def warmup(self) -> int:
        return self.lookback
    def params(self):
        return {{"lookback": self.lookback, "version": VERSION}}
    def target(self) -> pl.Expr:
        change = pl.col("close") / pl.col("close").shift(self.lookback) - 1
        return pl.when(change > 0).then(1.0).otherwise(0.0)
"""


async def _reloads(source: Path, journal: Path, n: int) -> tuple[list[float], list[float], Engine]:
    """Trade a file's policy, then edit and reload it ``n`` times; return both timings."""
    source.write_text(POLICY_FILE.format(version=0))  # noqa: ASYNC240 (a tiny file, once)
    config = PolicyConfig(name="mine", policy=f"{source}:Momentum", params={"lookback": 5})
    spec = PolicySpec(
        "mine", build(config.reference, config.params), list(SYMBOLS), sizer=FixedUnits(10)
    )
    engine = Engine(
        broker=PaperBroker(starting_cash=1e7),
        feed=FastFeed(trades(40_000, seed=4)),
        policies=[spec],
        journal=journal,
        timeframe="1m",
        cash=1e7,
        risk=RiskLimits(max_orders_per_window=10_000, price_band=0.5),
    )
    manage(engine, [config], [])
    await engine.start()
    await engine.run_until_idle(timeout=600)
    held = engine.positions()
    calls, own = [], []
    for version in range(1, n + 1):
        source.write_text(POLICY_FILE.format(version=version))  # noqa: ASYNC240 (the edit)
        began = time.perf_counter()
        answer = await engine.manage("mine", "reload", operator="bench")
        calls.append(time.perf_counter() - began)
        assert answer["reloaded"] is True, answer
        own.append(answer["seconds"])
    assert engine.specs["mine"].policy.params()["version"] == n  # the last edit runs
    assert engine.positions() == held  # a reload trades nothing and keeps the position
    await engine.stop()
    return calls, own, engine


def test_strategy_reload_time(tmp_path: Path) -> None:
    calls, own, engine = asyncio.run(_reloads(tmp_path / "mine.py", tmp_path / "live.db", 200))
    assert engine.book.fills, "the strategy traded before its reloads"
    whole, inside = _percentiles(calls), _percentiles(own)
    print(f"\nreload (whole call, journal on disk): {whole}")
    print(f"  engine's own (import, construct, swap): {inside}")
    print(
        f"verdict: reload median {whole['p50_ms']:.2f} ms, p99 {whole['p99_ms']:.2f} ms vs "
        f"target 100 ms ({'met' if whole['p99_ms'] <= 100.0 else 'missed'})"
    )
