"""The live service over real HTTP on 127.0.0.1, against a journal-backed fake engine."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from houseedge import logs
from houseedge.live.service import Service, ServiceSettings
from tests.fakes.fake_engine import FakeEngine
from tests.fakes.sse_client import frames

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-3f9c1e7a-never-print-me"  # noqa: S105 (a test token, grepped for)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MUTATIONS = ["/kill", "/reset", "/pause", "/resume", "/flatten", "/orders"]
ORDER = {"symbol": "AAPL", "side": "buy", "qty": 5}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    engine = FakeEngine(tmp_path / "live.db")
    yield engine
    engine.journal.close()


async def _serve(
    engine: FakeEngine, **settings: object
) -> AsyncIterator[tuple[Service, aiohttp.ClientSession]]:
    service = Service(engine, ServiceSettings(port=0, **settings))  # type: ignore[arg-type]
    await service.start()
    async with aiohttp.ClientSession(service.url) as http:
        yield service, http
    if not service.draining:
        await service.drain()


@pytest.fixture
async def served(engine: FakeEngine) -> AsyncIterator[tuple[Service, aiohttp.ClientSession]]:
    async for pair in _serve(engine, token=SecretStr(TOKEN), operator="desk"):
        yield pair


@pytest.fixture
async def http(served: tuple[Service, aiohttp.ClientSession]) -> aiohttp.ClientSession:
    return served[1]


async def _json(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: object
) -> tuple[int, dict]:
    async with http.request(method, path, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.json()


async def test_health_and_ready(engine: FakeEngine, http: aiohttp.ClientSession) -> None:
    status, body = await _json(http, "GET", "/health")
    assert status == 200 and body["status"] == "ok" and body["engine"]["state"] == "running"
    assert await _json(http, "GET", "/ready") == (200, {"ready": True})
    engine.is_ready = False
    assert await _json(http, "GET", "/ready") == (503, {"ready": False})
    status, body = await _json(http, "GET", "/health")
    assert status == 200  # liveness holds while the engine is not ready


async def test_health_survives_a_failing_engine(
    engine: FakeEngine, http: aiohttp.ClientSession
) -> None:
    def broken() -> dict:
        raise RuntimeError("feed exploded")

    engine.health = broken  # type: ignore[method-assign]
    status, body = await _json(http, "GET", "/health")
    assert status == 200 and body["status"] == "degraded" and body["engine_error"] == "RuntimeError"
    async with http.get("/metrics") as response:
        assert response.status == 200


async def test_state_reads(engine: FakeEngine, http: aiohttp.ClientSession) -> None:
    engine.fill("AAPL", 3.0, 101.5)
    engine.fill("MSFT", -2.0, 300.0)
    status, body = await _json(http, "GET", "/positions")
    assert status == 200
    assert {p["symbol"]: p["qty"] for p in body["positions"]} == {"AAPL": 3.0, "MSFT": -2.0}
    _, fills = await _json(http, "GET", "/fills")
    assert [f["fill_id"] for f in fills["fills"]] == ["f1", "f2"]
    since = fills["fills"][1]["ts"]
    _, later = await _json(http, "GET", f"/fills?since={since}&limit=5")
    assert [f["fill_id"] for f in later["fills"]] == ["f2"]
    _, first = await _json(http, "GET", "/fills?limit=1")
    assert [f["fill_id"] for f in first["fills"]] == ["f1"]
    _, risk = await _json(http, "GET", "/risk")
    assert risk["breaker"] == "normal"


async def test_orders_and_open_filter(engine: FakeEngine, http: aiohttp.ClientSession) -> None:
    assert await _json(http, "POST", "/orders", json=ORDER, headers=AUTH) == (
        200,
        {"command": "manual_order", "state": "running", "order_id": "manual-1"},
    )
    engine._orders["manual-1"]["status"] = "filled"
    await _json(http, "POST", "/orders", json=ORDER, headers=AUTH)
    _, every = await _json(http, "GET", "/orders")
    _, working = await _json(http, "GET", "/orders?open=true")
    assert [o["client_order_id"] for o in every["orders"]] == ["manual-1", "manual-2"]
    assert [o["client_order_id"] for o in working["orders"]] == ["manual-2"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/fills?since=yesterday", "since"),
        ("/fills?limit=0", "limit"),
        ("/fills?limit=10001", "limit"),
        ("/orders?open=maybe", "open"),
    ],
)
async def test_bad_queries_name_the_parameter(
    http: aiohttp.ClientSession, path: str, field: str
) -> None:
    status, body = await _json(http, "GET", path)
    assert status == 400 and body["field"] == field and body["expected"]


@pytest.mark.parametrize("path", MUTATIONS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
async def test_mutations_without_the_token_change_nothing(
    engine: FakeEngine, http: aiohttp.ClientSession, path: str, headers: dict[str, str]
) -> None:
    before = engine.last_event_id
    status, body = await _json(http, "POST", path, json=ORDER, headers=headers)
    assert status == 401 and "bearer" in body["error"]
    assert engine.commands == [] and engine.state == "running"
    assert engine.last_event_id == before and engine.orders() == []


async def test_unauthorised_carries_the_challenge(http: aiohttp.ClientSession) -> None:
    async with http.post("/pause") as response:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_mutations_are_disabled_without_a_configured_token(engine: FakeEngine) -> None:
    async for _, http in _serve(engine):
        for path in MUTATIONS:
            status, body = await _json(http, "POST", path, json=ORDER, headers=AUTH)
            assert status == 403 and "HOUSEEDGE_SERVICE_TOKEN" in body["expected"]
    assert engine.commands == [] and engine.state == "running"


async def test_operator_commands(engine: FakeEngine, http: aiohttp.ClientSession) -> None:
    engine.fill("AAPL", 3.0, 100.0)
    status, body = await _json(http, "POST", "/pause", headers=AUTH)
    assert (status, body["state"], engine.state) == (200, "paused", "paused")
    assert (await _json(http, "POST", "/resume", headers=AUTH))[1]["state"] == "running"
    await _json(http, "POST", "/flatten", headers=AUTH)
    assert engine.positions()[0]["qty"] == 0.0
    status, body = await _json(http, "POST", "/kill", json={"flatten": True}, headers=AUTH)
    assert (status, body["flatten"], engine.state) == (200, True, "halted")
    status, body = await _json(http, "POST", "/kill", headers=AUTH)  # an empty body: no flatten
    assert body["flatten"] is False
    assert [(c, op) for c, op, _ in engine.commands] == [
        ("pause", "desk"), ("resume", "desk"), ("flatten", "desk"),
        ("kill", "desk"), ("kill", "desk"),
    ]  # fmt: skip
    kinds = [e.kind for e in engine.events_after(0)]
    assert kinds.count("engine") == 5


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/orders", {"symbol": "AAPL", "side": "buy", "qty": "five"}, "qty"),
        ("/orders", {"side": "buy", "qty": 1}, "symbol"),
        ("/orders", {"symbol": "AAPL", "side": "hold", "qty": 1}, "side"),
        ("/orders", {"symbol": "AAPL", "side": "buy", "qty": -1}, "qty"),
        ("/orders", {"symbol": "AAPL", "side": "buy", "qty": 1, "venue": "x"}, "venue"),
        ("/orders", [1, 2], None),
        ("/kill", {"flatten": "yes"}, "flatten"),
        ("/kill", {"flaten": True}, "flaten"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    engine: FakeEngine, http: aiohttp.ClientSession, path: str, body: object, field: str | None
) -> None:
    status, error = await _json(http, "POST", path, json=body, headers=AUTH)
    assert status == 400 and error.get("field") == field and error["expected"]
    assert engine.commands == [] and engine.state == "running"


async def test_malformed_json_is_400(engine: FakeEngine, http: aiohttp.ClientSession) -> None:
    status, error = await _json(http, "POST", "/orders", data=b"{symbol:", headers=AUTH)
    assert status == 400 and error["expected"] == "a JSON object"
    assert engine.commands == []


async def test_risk_rejection_is_422_with_the_check(
    engine: FakeEngine, http: aiohttp.ClientSession
) -> None:
    engine.reject_with = "max_position"
    status, body = await _json(http, "POST", "/orders", json=ORDER, headers=AUTH)
    assert status == 422 and body["check"] == "max_position"
    assert engine.orders() == []


async def test_metrics_parse_and_count(
    engine: FakeEngine, served: tuple[Service, aiohttp.ClientSession]
) -> None:
    service, http = served
    engine.fill("AAPL", 1.0, 10.0)
    await _json(http, "POST", "/orders", json=ORDER, headers=AUTH)
    engine.publish("risk", {"type": "rejected", "check": "price_band", "symbol": "AAPL"})
    service.observability.order_latency(0.002, policy="manual", symbol="AAPL")  # as the engine does
    published = engine.last_event_id
    await _eventually(lambda: service.hub.published == published)
    async with http.get("/events") as stream:
        await _eventually(lambda: service.hub.clients == 1)
        async with http.get("/metrics") as response:
            assert response.status == 200 and response.content_type == "text/plain"
            text = await response.text()
        stream.close()
    samples = {
        (
            s.name,
            tuple(sorted((k, v) for k, v in s.labels.items() if not k.startswith("otel"))),
        ): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("houseedge_fills_total", (("policy", "p"), ("symbol", "AAPL")))] == 1
    assert (
        samples[("houseedge_orders_submitted_total", (("policy", "manual"), ("symbol", "AAPL")))]
        == 1
    )
    rejects = ("houseedge_rejects_total", (("policy", ""), ("reason", "price_band")))
    assert samples[rejects] == 1  # no policy in the event: the label is empty
    assert samples[("houseedge_events_published_total", (("kind", "engine"),))] == 1
    assert samples[("houseedge_sse_clients", ())] == 1
    assert samples[("houseedge_feed_staleness_seconds", ())] == 0.25
    assert ("houseedge_journal_lag", ()) in samples
    latency = (("policy", "manual"), ("symbol", "AAPL"))
    assert samples[("houseedge_order_latency_seconds_count", latency)] == 1
    assert samples[("houseedge_order_latency_seconds_bucket", (("le", "0.0025"), *latency))] == 1


async def test_secrets_never_leave_the_process(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broker_key, broker_secret = "PKFAKEKEY0123456789", "sk-fake-broker-secret-abcdef"
    monkeypatch.setenv("HOUSEEDGE_SERVICE_TOKEN", TOKEN)
    monkeypatch.setenv("HOUSEEDGE_ALPACA_API_KEY", broker_key)
    monkeypatch.setenv("HOUSEEDGE_ALPACA_API_SECRET", broker_secret)
    captured = io.StringIO()
    previous = structlog.get_config()
    logs.configure(level="DEBUG", json=True, stream=captured)
    seen: list[str] = []
    try:
        settings = ServiceSettings(port=0)
        assert settings.token is not None and TOKEN not in repr(settings)
        service = Service(engine, settings)
        await service.start()
        async with aiohttp.ClientSession(service.url) as http:
            seen += await _exercise_everything(http, engine)
            async with http.get("/events", headers={"Last-Event-ID": "0"}) as stream:
                async for frame in frames(stream):
                    seen.append(frame.data or "")
                    if frame.id == engine.last_event_id:
                        break
            async with http.get("/metrics") as response:
                seen.append(await response.text())
        await service.drain()
    finally:
        structlog.configure(**previous)
    seen.append(captured.getvalue())
    everything = "\n".join(seen)
    assert "operator_command" in everything and "service_drained" in everything
    for secret in (TOKEN, broker_key, broker_secret):
        assert secret not in everything


async def _exercise_everything(http: aiohttp.ClientSession, engine: FakeEngine) -> list[str]:
    bodies: list[str] = []
    wrong = {"Authorization": f"Bearer {TOKEN[:-1]}"}
    requests = [
        ("GET", p, {})
        for p in ["/health", "/ready", "/positions", "/orders", "/fills", "/risk", "/fills?since=x"]
    ]
    for path in MUTATIONS:
        requests += [
            ("POST", path, {"json": ORDER}),
            ("POST", path, {"json": ORDER, "headers": wrong}),
        ]
        requests += [
            ("POST", path, {"json": ORDER, "headers": AUTH}),
            ("POST", path, {"data": b"{", "headers": AUTH}),
        ]
    engine.fill("AAPL", 1.0, 10.0)
    for method, path, kwargs in requests:
        async with http.request(method, path, **kwargs) as response:  # type: ignore[arg-type]
            bodies.append(await response.text())
            bodies.append(json.dumps(dict(response.headers)))
    engine.reject_with = "max_order_notional"
    async with http.post("/orders", json=ORDER, headers=AUTH) as response:
        assert response.status == 422
        bodies.append(await response.text())
    return bodies


async def _eventually(check, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    """A real process: SIGTERM closes the SSE stream with a comment, logs counts, exits 0."""
    env = {**os.environ, "HOUSEEDGE_SERVICE_TOKEN": TOKEN}
    command = [sys.executable, "-m", "tests.fakes.fake_engine", "--journal", str(tmp_path / "j.db")]
    with subprocess.Popen(
        [*command, "--rate", "200"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            started = _log_line(process, "service_started")
            last, comment = asyncio.run(_stream_until_sigterm(process, started["port"]))
            rc = process.wait(timeout=10)
            elapsed = time.monotonic() - last["signalled"]
            drained = _log_line(process, "service_drained")
        finally:
            if process.poll() is None:
                process.kill()
    assert rc == 0 and elapsed < 5.0
    assert drained["engine_stopped"] is True and drained["sse_streams"] == 1
    assert drained["events_published"] >= last["id"] > 0
    assert comment.startswith("disconnected: server shutting down; reconnect with Last-Event-ID: ")
    assert int(comment.rsplit(" ", 1)[1]) >= last["id"]


async def _stream_until_sigterm(process: subprocess.Popen[str], port: int) -> tuple[dict, str]:
    last: dict = {"id": 0}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/events") as response,
    ):
        async for frame in frames(response):
            if frame.id is not None:
                last["id"] = frame.id
            if last["id"] and "signalled" not in last:
                process.send_signal(signal.SIGTERM)
                last["signalled"] = time.monotonic()
            if frame.comments and frame.comments[0].startswith("disconnected"):
                return last, frame.comments[0]
    raise AssertionError("the stream ended without its final comment")


def _log_line(process: subprocess.Popen[str], event: str) -> dict:
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("{") and json.loads(line).get("event") == event:
            return json.loads(line)
    raise AssertionError(f"no {event} log line")


def _live_config(tmp_path: Path) -> Path:
    from houseedge.data.store import Store
    from houseedge.data.synthetic import synthetic_bars

    Store(tmp_path / "store").write("bars", synthetic_bars(["SYNA"], periods=120, timeframe="1d"))
    config = tmp_path / "live.toml"
    config.write_text(
        f'store = "{tmp_path / "store"}"\njournal = "{tmp_path / "journal.db"}"\n'
        'symbols = ["SYNA"]\nport = 0\n[service]\nheartbeat = 1\n'
        '[[policies]]\nname = "sma"\nkind = "sma_cross"\nparams = { fast = 3, slow = 10 }\n'
    )
    return config


def test_live_run_serves_the_paper_engine_then_drains_and_exports(tmp_path: Path) -> None:
    """`houseedge live run` on a small store: fills over HTTP and SSE, SIGTERM, exit 0, export."""
    from typer.testing import CliRunner

    from houseedge.cli._app import app

    config = _live_config(tmp_path)
    env = {**os.environ, "HOUSEEDGE_SERVICE_TOKEN": TOKEN}
    command = [sys.executable, "-m", "houseedge", "live", "run", "--config", str(config)]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            port = _log_line(process, "service_started")["port"]
            fills, first_fill = asyncio.run(_watch_live(port))
            process.send_signal(signal.SIGTERM)
            rc = process.wait(timeout=15)
            drained = _log_line(process, "service_drained")
        finally:
            if process.poll() is None:
                process.kill()
    assert rc == 0 and drained["engine_stopped"] is True
    assert fills and first_fill["payload"]["fill_id"] == fills[0]["fill_id"]
    result = CliRunner().invoke(app, ["live", "export", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"live_fills: +{len(fills)} rows" in result.output


async def _watch_live(port: int) -> tuple[list[dict], dict]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
        status, _ = await _json(http, "GET", "/ready")
        assert status == 200
        async with http.get("/events", headers={"Last-Event-ID": "0"}) as response:
            async for frame in frames(response):
                if frame.event == "fill":
                    first_fill = frame.payload
                    break
        # The replay runs as fast as it can: wait until it is done, then read every fill.
        for _ in range(500):
            _, health = await _json(http, "GET", "/health")
            if health["engine"]["feed"]["done"] and health["engine"]["orders_in_flight"] == 0:
                break
            await asyncio.sleep(0.02)
        _, body = await _json(http, "GET", "/fills?limit=10000")
        return body["fills"], first_fill


def test_the_documented_example_config_loads() -> None:
    from houseedge.app.settings import LiveSettings
    from houseedge.cli.live import service_settings

    path = ROOT / "examples" / "live.toml"
    live = LiveSettings.load(path)
    settings = service_settings(live, path)
    assert (live.broker, settings.host, settings.port) == ("paper", "127.0.0.1", 8787)
    assert (settings.heartbeat, settings.retry_ms, settings.token) == (15.0, 2000, None)
    assert [p.kind for p in live.policies] == ["sma_cross"]


def test_a_token_in_the_service_table_is_refused(tmp_path: Path) -> None:
    from houseedge.app.settings import LiveSettings
    from houseedge.cli.live import service_settings
    from houseedge.errors import ConfigError

    path = tmp_path / "live.toml"
    path.write_text('[service]\ntoken = "oops"\n')
    with pytest.raises(ConfigError, match="HOUSEEDGE_SERVICE_TOKEN"):
        service_settings(LiveSettings.load(path), path)
