"""The engine's metrics and traces: order latency in the histogram ``GET /metrics`` serves,
bar -> decision -> risk -> order -> fill spans in one trace, bounded memory, and one
Observability per process."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from houseedge.cli import live as cli_live
from houseedge.core.broker import Trade
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Bar, Order
from houseedge.live import telemetry as telemetry_module
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.observability import Observability
from houseedge.live.paper import PaperBroker
from houseedge.live.service import Service, ServiceSettings

SEC = 10**9


def bars(n: int, symbol: str = "X") -> list[Bar]:
    closes = [10.0 + (i % 7) * 0.1 for i in range(n)]
    return [Bar(symbol=symbol, timeframe="1s", ts=i * SEC, open=c, high=c, low=c, close=c,
                volume=1e6) for i, c in enumerate(closes)]  # fmt: skip


class Alternator:
    """Buys one on even bars and sells one on odd bars: an order per bar, a flat book."""

    def __init__(self) -> None:
        self.seen = 0

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
        (symbol,) = snapshot.bars
        self.seen += 1
        return [context.order(symbol, "buy" if self.seen % 2 else "sell", 1.0)]


class FastVenue(PaperBroker):
    """Fills a market order before ``submit`` returns, as a venue whose execution report
    outruns its REST answer does; the engine books that fill while ``submit`` is pending."""

    async def submit(self, order: Order) -> None:
        await super().submit(order)
        self.on_market(Trade(symbol=order.symbol, ts=order.ts, price=10.0, size=1e6))
        await asyncio.sleep(0.05)  # the report pump and the journal run meanwhile


def make_engine(broker: PaperBroker, n: int, path: Path, obs: Observability | None) -> Engine:
    return Engine(broker=broker, feed=IterableFeed(bars(n)), journal=path,
                  policies=[PolicySpec("alt", Alternator(), ["X"])], observability=obs,
                  risk=RiskLimits(max_orders_per_window=100_000))  # fmt: skip


def metric(obs: Observability, name: str) -> float:
    """Return the sum of a metric's samples over every label set (Prometheus text)."""
    lines = obs.render().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith(name + "{"))


def by_name(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def parent(span: ReadableSpan, spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    """Return ``span``'s parent, which must be a span called ``name`` in the same trace."""
    assert span.parent is not None, span.name
    (found,) = [s for s in spans if s.context.span_id == span.parent.span_id]
    assert found.name == name
    assert found.context.trace_id == span.context.trace_id
    return found


def check_traces(spans: Sequence[ReadableSpan], engine: Engine) -> None:
    orders = {span.attributes["order_id"]: span for span in by_name(spans, "order")}  # type: ignore[index]
    fills = by_name(spans, "fill")
    assert len(orders) == engine.book.orders_sent
    assert len(fills) == len(engine.book.fills) > 0
    for order in orders.values():  # bar -> decision -> risk -> order
        risk = parent(order, spans, "risk")
        decision = parent(risk, spans, "decision")
        bar = parent(decision, spans, "bar")
        assert bar.parent is None
        assert decision.attributes is not None and decision.attributes["policy"] == "alt"
        assert bar.start_time is not None and decision.start_time is not None
        assert bar.start_time <= decision.start_time
    for fill in fills:
        order = orders[fill.attributes["order_id"]]  # type: ignore[index]
        assert fill.parent is not None
        assert fill.parent.span_id == order.context.span_id
        assert fill.context.trace_id == order.context.trace_id


def test_latency_histogram_counts_every_order_and_fills_trace_to_their_bar(
    tmp_path: Path,
) -> None:
    spans = InMemorySpanExporter()
    obs = Observability(span_exporter=spans)

    async def session() -> Engine:
        engine = make_engine(PaperBroker(), 300, tmp_path / "j.db", obs)
        await engine.start()
        await engine.run_until_idle(timeout=60)
        await engine.stop()
        return engine

    engine = asyncio.run(session())
    assert engine.book.orders_sent == 300  # one per bar
    assert metric(obs, "houseedge_order_latency_seconds_count") == engine.book.orders_sent
    assert metric(obs, "houseedge_order_latency_seconds_sum") > 0
    check_traces(spans.get_finished_spans(), engine)
    # Nothing kept per order once it is answered and done: memory does not grow with orders.
    telemetry = engine._telemetry
    assert telemetry is not None
    assert telemetry.sent == {} and telemetry.submitting == {}
    assert set(obs._open_orders) <= set(engine.book.open_ids)
    assert len(obs._open_orders) <= 1  # the last bar's order never fills


def test_a_fill_booked_while_submit_is_pending_is_still_its_orders_child(tmp_path: Path) -> None:
    spans = InMemorySpanExporter()
    obs = Observability(span_exporter=spans)

    async def session() -> Engine:
        engine = make_engine(FastVenue(), 6, tmp_path / "j.db", obs)
        await engine.start()
        await engine.run_until_idle(timeout=30)
        await engine.stop()
        return engine

    engine = asyncio.run(session())
    assert len(engine.book.fills) == engine.book.orders_sent == 6
    check_traces(spans.get_finished_spans(), engine)


def test_orders_awaiting_a_first_report_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry_module, "_MAX_AWAITED", 5)
    obs = Observability()
    telemetry = telemetry_module.Telemetry(obs)
    for i in range(50):
        telemetry.submitting_order(f"o{i}", "p", "X")
        telemetry.submitted(f"o{i}")
    assert list(telemetry.sent) == [f"o{i}" for i in range(45, 50)]
    assert telemetry.submitting == {}
    telemetry.report("o0")  # forgotten: no latency
    telemetry.report("o49")
    telemetry.report("o49")  # only the first report counts
    assert metric(obs, "houseedge_order_latency_seconds_count") == 1


def test_subscription_is_live_when_subscribe_returns(tmp_path: Path) -> None:
    async def session() -> list[Any]:
        engine = make_engine(PaperBroker(), 0, tmp_path / "j.db", None)
        await engine.start()
        subscription = engine.subscribe()
        await engine.pause(operator="desk")  # published before the first iteration
        await engine.resume(operator="desk")
        async with asyncio.timeout(10):  # an unregistered queue would wait here forever
            seen = [await anext(subscription), await anext(subscription)]
        await engine.stop()
        seen += [event async for event in subscription]  # ends with the engine
        return seen

    seen = asyncio.run(session())
    names = [event.payload["event"] for event in seen]
    assert names[:3] == ["paused", "resumed", "stopped"]
    assert [event.id for event in seen] == sorted(event.id for event in seen)


def test_one_observability_serves_the_engines_latency_on_metrics(tmp_path: Path) -> None:
    obs = Observability(span_exporter=InMemorySpanExporter())

    async def session() -> tuple[str, int]:
        engine = make_engine(PaperBroker(), 20, tmp_path / "j.db", obs)
        await engine.start()
        service = Service(engine, ServiceSettings(port=0), observability=obs,
                          stop_engine=engine.stop)  # fmt: skip
        await service.start()
        await engine.run_until_idle(timeout=30)
        async with aiohttp.ClientSession() as http, http.get(f"{service.url}/metrics") as reply:
            text = await reply.text()
        await service.drain()
        return text, engine.book.orders_sent

    text, orders = asyncio.run(session())
    counts = [float(line.split()[-1]) for line in text.splitlines()
              if line.startswith("houseedge_order_latency_seconds_count{")]  # fmt: skip
    submitted = [float(line.split()[-1]) for line in text.splitlines()
                 if line.startswith("houseedge_orders_submitted_total{")]  # fmt: skip
    assert orders == 20
    assert sum(counts) == sum(submitted) == orders


def test_live_run_hands_one_observability_to_engine_and_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from houseedge import logs
    from houseedge.app import settings as live_settings

    handed: dict[str, Any] = {}
    monkeypatch.setattr(logs, "configure", lambda **kw: None)

    def build(live: Any, *, observability: Any) -> None:
        handed["engine"] = observability

    monkeypatch.setattr(live_settings, "build_engine", build)

    async def serve(engine: Any, settings: Any, drain: float, observability: Any) -> None:
        handed["service"] = observability

    monkeypatch.setattr(cli_live, "_serve", serve)
    cli_live.run_command(config=None, host=None, port=0)
    assert isinstance(handed["engine"], Observability)
    assert handed["service"] is handed["engine"]
