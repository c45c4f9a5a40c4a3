"""Operator figures on ``GET /metrics`` and traces over OTLP: the real engine, paper broker,
journal and service on 127.0.0.1, a loopback OTLP/HTTP receiver."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from houseedge.core.broker import Trade
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Order
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.journal import Journal
from houseedge.live.observability import Observability
from houseedge.live.paper import PaperBroker
from houseedge.live.service import Service, ServiceSettings
from tests.integration.test_engine import SEC, bars
from tests.integration.test_engine_observability import parent

TOKEN = "tok-operator-figures"  # noqa: S105 (a test token)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLOSES = [10.0, 10.0, 10.0, 10.0, 9.0, 8.0, 8.0, 8.0]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Script:
    """Trades ``plan[call]`` = (side, qty) on its n-th decision; raises on call ``boom_at``."""

    def __init__(self, plan: dict[int, tuple[str, float]], boom_at: int | None = None) -> None:
        self.plan, self.boom_at, self.calls = plan, boom_at, 0

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
        (symbol,) = snapshot.bars
        self.calls += 1
        if self.calls == self.boom_at:
            raise RuntimeError("scripted failure")
        step = self.plan.get(self.calls)
        return [] if step is None else [context.order(symbol, step[0], step[1])]


def _engine(path: Path, obs: Observability) -> Engine:
    specs = [
        # Buys 10 at 10 (bar 3's open), sells them at 8 (bar 6's open): a realised loss of 20.
        PolicySpec("loser", Script({3: ("buy", 10), 6: ("sell", 10)}), ["X"]),
        # Buys 5 at 10 and holds (marked at 8: -10); its second buy breaks its max_long.
        PolicySpec(
            "holder",
            Script({1: ("buy", 5), 3: ("buy", 5)}),
            ["X"],
            limits=RiskLimits(max_long=5, max_orders_per_window=100),
        ),
        PolicySpec("boom", Script({}, boom_at=4), ["X"]),
    ]
    return Engine(broker=PaperBroker(), feed=IterableFeed(bars(CLOSES)), policies=specs,
                  journal=path, observability=obs,
                  risk=RiskLimits(max_orders_per_window=100))  # fmt: skip


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if not k.startswith("otel")))): (
            s.value
        )
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _per_policy(samples: Samples, name: str, policy: str) -> float:
    """Return a counter's total for ``policy`` over its other labels."""
    return sum(
        v for (n, labels), v in samples.items() if n == name and ("policy", policy) in labels
    )


async def _scrape(http: aiohttp.ClientSession) -> Samples:
    async with http.get("/metrics") as response:
        assert response.status == 200
        return _samples(await response.text())


def test_metrics_show_the_ledgers_figures_states_counts_and_decision_latency(
    tmp_path: Path,
) -> None:
    spans = InMemorySpanExporter()
    obs = Observability(span_exporter=spans)

    async def session() -> tuple[Samples, Samples, Engine, Any]:
        engine = _engine(tmp_path / "j.db", obs)
        await engine.start()
        service = Service(engine, ServiceSettings(port=0, token=SecretStr(TOKEN)),
                          observability=obs, stop_engine=engine.stop)  # fmt: skip
        await service.start()
        await engine.run_until_idle(timeout=30)
        snap = engine.book.state.ledger.snapshot()
        async with aiohttp.ClientSession(service.url) as http:
            before = await _scrape(http)
            async with http.post("/kill", json={}, headers=AUTH) as response:
                assert response.status == 200
            after = await _scrape(http)
        await service.drain()
        return before, after, engine, snap

    samples, killed, engine, snap = asyncio.run(session())
    usd = lambda name, **labels: samples[(name, tuple(sorted(labels.items())))]  # noqa: E731

    # The journal's fills: the loser's round trip realised (8 - 10) x 10.
    journal = Journal(tmp_path / "j.db", readonly=True)
    owners = journal.fill_policies()
    flows = [(f.side.sign * f.qty * f.price, f.fee) for f in journal.fills()
             if owners[f.fill_id] == "loser"]  # fmt: skip
    journal.close()
    assert len(flows) == 2 and sum(fee for _, fee in flows) == 0
    assert usd("houseedge_strategy_realised_pnl_USD", policy="loser") == -sum(f for f, _ in flows)
    assert usd("houseedge_strategy_realised_pnl_USD", policy="loser") == -20.0
    assert usd("houseedge_strategy_unrealised_pnl_USD", policy="holder") == 5 * (8 - 10)
    assert usd("houseedge_strategy_equity_USD", policy="holder") == -10.0
    # Drawdowns from the running peaks: the account's 100,000, each strategy's 0.
    assert usd("houseedge_account_equity_USD") == float(snap.equity) == 100_000 - 30
    assert usd("houseedge_account_realised_pnl_USD") == float(snap.realised) == -20.0
    assert usd("houseedge_account_unrealised_pnl_USD") == float(snap.unrealised) == -10.0
    assert usd("houseedge_account_fees_USD") == 0.0
    assert usd("houseedge_account_drawdown_USD") == 30.0
    assert usd("houseedge_account_drawdown_ratio") == 30.0 / 100_000
    assert usd("houseedge_strategy_drawdown_USD", policy="loser") == 20.0
    assert usd("houseedge_strategy_drawdown_USD", policy="holder") == 10.0
    assert usd("houseedge_strategy_drawdown_USD", policy="boom") == 0.0
    # Exposure: the holder's 5 at the mark of 8; the loser is flat.
    assert usd("houseedge_account_gross_exposure_USD") == 40.0
    assert usd("houseedge_account_net_exposure_USD") == 40.0
    assert usd("houseedge_strategy_net_exposure_USD", policy="holder") == 40.0
    assert usd("houseedge_strategy_gross_exposure_USD", policy="loser") == 0.0

    # Counts per strategy; the holder's second buy refused by its own limit.
    assert _per_policy(samples, "houseedge_orders_submitted_total", "loser") == 2
    assert _per_policy(samples, "houseedge_fills_total", "loser") == 2
    assert _per_policy(samples, "houseedge_orders_submitted_total", "holder") == 1
    assert _per_policy(samples, "houseedge_rejects_total", "holder") == 1
    assert _per_policy(samples, "houseedge_rejects_total", "loser") == 0

    # States: one-hot per strategy; the breaker normal, then halted by the kill.
    assert usd("houseedge_strategy_state", policy="boom", state="failed") == 1
    assert usd("houseedge_strategy_state", policy="loser", state="running") == 1
    for policy in ("loser", "holder", "boom"):
        assert _per_policy(samples, "houseedge_strategy_state", policy) == 1
        assert usd("houseedge_strategy_breaker_state", policy=policy, state="normal") == 1
    assert usd("houseedge_breaker_state", state="normal") == 1
    assert killed[("houseedge_breaker_state", (("state", "halted"),))] == 1
    assert killed[("houseedge_breaker_state", (("state", "normal"),))] == 0

    # One decision latency sample per decision (the failing one is not a decision).
    for policy, decisions in (("loser", 8), ("holder", 8), ("boom", 3)):
        assert engine.strategies[policy].decisions == decisions
        count = usd("houseedge_decision_latency_seconds_count", policy=policy)
        assert count == decisions
        assert usd("houseedge_decision_latency_seconds_bucket", le="+Inf", policy=policy) == count
    assert usd("houseedge_decision_latency_seconds_sum", policy="loser") > 0

    # bar -> decision -> risk -> order -> fill, every order and fill.
    finished = spans.get_finished_spans()
    orders = [s for s in finished if s.name == "order"]
    assert len(orders) == engine.book.orders_sent == 3
    for order in orders:
        parent(parent(parent(order, finished, "risk"), finished, "decision"), finished, "bar")
    fills = [s for s in finished if s.name == "fill"]
    assert len(fills) == 3
    for fill in fills:
        parent(fill, finished, "order")


async def _receiver() -> tuple[web.AppRunner, str, list[ExportTraceServiceRequest]]:
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", received


def test_spans_are_exported_over_otlp_to_the_configured_endpoint(tmp_path: Path) -> None:
    async def session() -> tuple[list[Any], Engine]:
        runner, url, received = await _receiver()
        obs = Observability.from_environment(environ={"HOUSEEDGE_OTLP_ENDPOINT": url})
        assert obs.exporting
        engine = _engine(tmp_path / "j.db", obs)
        await engine.start()
        await engine.run_until_idle(timeout=30)
        await engine.stop()
        await asyncio.to_thread(obs.shutdown)  # flushes the batch; the loop serves the POSTs
        await runner.cleanup()
        spans = [
            span
            for request in received
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        return spans, engine

    spans, engine = asyncio.run(session())
    by_id = {span.span_id: span for span in spans}
    names = [span.name for span in spans]
    assert names.count("order") == engine.book.orders_sent == 3
    assert names.count("fill") == 3
    for span in spans:
        if span.name in ("order", "fill"):
            chain = [span.name]
            while span.parent_span_id:
                span = by_id[span.parent_span_id]
                chain.append(span.name)
            expected = ["order", "risk", "decision", "bar"]
            assert chain == (["fill", *expected] if chain[0] == "fill" else expected)
    assert len({span.trace_id for span in spans if span.name == "order"}) == 3


def test_a_fill_booked_after_the_last_bar_is_in_the_next_scrape(tmp_path: Path) -> None:
    obs = Observability()
    spec = PolicySpec("late", Script({len(CLOSES): ("buy", 2)}), ["X"])  # on the last bar

    async def session() -> tuple[Samples, Samples]:
        engine = Engine(broker=PaperBroker(), feed=IterableFeed(bars(CLOSES)), policies=[spec],
                        journal=tmp_path / "j.db", observability=obs)  # fmt: skip
        await engine.start()
        await engine.run_until_idle(timeout=30)
        service = Service(engine, ServiceSettings(port=0), observability=obs)
        await service.start()
        async with aiohttp.ClientSession(service.url) as http:
            working = await _scrape(http)
            # The venue fills the working order with no bar after it: no mark moves.
            assert isinstance(engine.broker, PaperBroker)
            engine.broker.on_market(Trade(symbol="X", ts=len(CLOSES) * SEC, price=7.5, size=1e6))
            await engine.run_until_idle(timeout=10)  # the fill is journaled and booked
            assert len(engine.book.fills) == 1
            filled = await _scrape(http)
        await service.drain()
        await engine.stop()
        return working, filled

    working, filled = asyncio.run(session())
    key = lambda name: (name, (("policy", "late"),))  # noqa: E731
    assert working[key("houseedge_strategy_net_exposure_USD")] == 0.0
    assert working[key("houseedge_strategy_equity_USD")] == 0.0
    assert filled[key("houseedge_strategy_net_exposure_USD")] == 2 * 8.0  # at the last mark
    assert filled[key("houseedge_strategy_unrealised_pnl_USD")] == 2 * (8.0 - 7.5)
    assert filled[("houseedge_account_equity_USD", ())] == 100_000 + 1.0
    assert _per_policy(filled, "houseedge_fills_total", "late") == 1
