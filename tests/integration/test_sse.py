"""``GET /events`` over real HTTP: retry hint, heartbeats, resume exactly once, slow clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from houseedge.live.service import Service, ServiceSettings
from tests.fakes.fake_engine import FakeEngine
from tests.fakes.sse_client import Frame, frames


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    engine = FakeEngine(tmp_path / "live.db")
    yield engine
    engine.journal.close()


@contextlib.asynccontextmanager
async def serving(engine: FakeEngine, **settings: object) -> AsyncIterator[Service]:
    service = Service(engine, ServiceSettings(port=0, **settings))  # type: ignore[arg-type]
    await service.start()
    try:
        yield service
    finally:
        if not service.draining:
            await service.drain()


async def _read(
    http: aiohttp.ClientSession, url: str, *, until_id: int, headers: dict[str, str] | None = None
) -> list[Frame]:
    got: list[Frame] = []
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        async for frame in frames(response):
            got.append(frame)
            if frame.id is not None and frame.id >= until_id:
                break
    return got


async def test_retry_hint_then_backlog_from_zero(engine: FakeEngine) -> None:
    engine.fill("AAPL", 2.0, 100.0)
    engine.publish("engine", {"event": "started"})
    async with (
        serving(engine, retry_ms=1234) as service,
        aiohttp.ClientSession(service.url) as http,
    ):
        got = await _read(http, "/events", until_id=3, headers={"Last-Event-ID": "0"})
    assert got[0].retry == 1234 and got[0].id is None
    events = [f for f in got if f.id is not None]
    assert [(f.id, f.event) for f in events] == [(1, "fill"), (2, "position"), (3, "engine")]
    fill = events[0].payload
    assert fill["id"] == 1 and fill["kind"] == "fill" and fill["payload"]["symbol"] == "AAPL"


async def test_heartbeats_while_idle(engine: FakeEngine) -> None:
    async with (
        serving(engine, heartbeat=0.05) as service,
        aiohttp.ClientSession(service.url) as http,
        http.get("/events") as response,
    ):
        beats = 0
        async for frame in frames(response):
            beats += frame.comments == ["heartbeat"]
            if beats == 3:
                break
    assert beats == 3


async def _ids_after_publish(
    http: aiohttp.ClientSession, url: str, engine: FakeEngine, *, until_id: int
) -> list[int]:
    """Open a stream, publish once it is open (headers received: its cursor is taken), read."""
    async with http.get(url) as response:
        engine.publish("tick", {"n": until_id})
        ids = []
        async for frame in frames(response):
            if frame.id is not None:
                ids.append(frame.id)
                if frame.id >= until_id:
                    return ids
    raise AssertionError("the stream ended early")


async def test_without_an_id_only_new_events_arrive(engine: FakeEngine) -> None:
    engine.publish("engine", {"event": "old"})
    async with serving(engine) as service, aiohttp.ClientSession(service.url) as http:
        ids = await asyncio.wait_for(_ids_after_publish(http, "/events", engine, until_id=2), 5)
    assert ids == [2]


async def test_query_fallback_and_invalid_ids(engine: FakeEngine) -> None:
    for n in range(5):
        engine.publish("tick", {"n": n})
    async with serving(engine) as service, aiohttp.ClientSession(service.url) as http:
        got = await _read(http, "/events?last_event_id=3", until_id=5)
        assert [f.id for f in got if f.id is not None] == [4, 5]
        for bad in ("-1", "abc"):
            async with http.get("/events", headers={"Last-Event-ID": bad}) as response:
                assert response.status == 400
                assert (await response.json())["field"] == "Last-Event-ID"
        # An id beyond the journal (another journal's) restarts from the newest event.
        url = "/events?last_event_id=99"
        ids = await asyncio.wait_for(_ids_after_publish(http, url, engine, until_id=6), 5)
        assert ids == [6]


async def test_resume_receives_every_event_exactly_once(engine: FakeEngine) -> None:
    """Disconnect mid-stream five times while events keep coming; the union is the journal."""
    total = 600
    async with serving(engine, page_size=7) as service, aiohttp.ClientSession(service.url) as http:
        publishing = asyncio.create_task(_publish(engine, total=total, batch=3))
        seen: list[int] = []
        resumed_while_publishing = 0
        for round_ in range(6):
            # Leave after 60, 80, ... more events; the last round reads to the end.
            leave_at = len(seen) + 60 + 20 * round_ if round_ < 5 else total
            last = seen[-1] if seen else 0
            async with http.get("/events", headers={"Last-Event-ID": str(last)}) as response:
                async for frame in frames(response):
                    if frame.id is not None:
                        seen.append(frame.id)
                        if len(seen) >= leave_at:
                            break
            resumed_while_publishing += not publishing.done()
        await publishing
    assert resumed_while_publishing >= 1
    assert seen == list(range(1, total + 1))
    assert engine.last_event_id == total


async def _publish(engine: FakeEngine, *, total: int, batch: int) -> None:
    for start in range(0, total, batch):
        engine.publish_many([("tick", {"n": n}) for n in range(start, start + batch)])
        await asyncio.sleep(0.001)


async def test_slow_client_is_dropped_with_its_resume_id_and_loses_nothing(
    engine: FakeEngine,
) -> None:
    async with (
        serving(engine, max_lag=50) as service,
        aiohttp.ClientSession(service.url) as http,
    ):
        got: list[Frame] = []
        async with http.get("/events", headers={"Last-Event-ID": "0"}) as response:
            stream = frames(response)
            got.append(await anext(stream))  # the retry hint: the stream is live
            await _until(lambda: service.hub.clients == 1)
            # 200 events arrive while the stream's task cannot run: it is 200 > 50 behind.
            engine.publish_many([("tick", {"n": n}) for n in range(200)])
            got += [frame async for frame in stream]
        farewell = got[-1].comments[0]
        assert farewell.startswith("disconnected: client more than 50 events behind")
        resume = int(farewell.rsplit(" ", 1)[1])
        assert resume == max((f.id for f in got if f.id is not None), default=0)
        rest = await _read(http, "/events", until_id=200, headers={"Last-Event-ID": str(resume)})
    ids = [f.id for f in got + rest if f.id is not None]
    assert ids == list(range(1, 201))


async def test_shutdown_ends_streams_with_a_resume_comment(engine: FakeEngine) -> None:
    engine.publish("tick", {"n": 0})
    service = Service(engine, ServiceSettings(port=0))
    await service.start()
    async with aiohttp.ClientSession(service.url) as http:
        async with http.get("/events", headers={"Last-Event-ID": "0"}) as response:
            stream = frames(response)
            assert (await anext(stream)).retry == 2000
            assert (await anext(stream)).id == 1
            drained = asyncio.create_task(service.drain())
            rest = [frame async for frame in stream]
        counts = await drained
    assert counts["sse_streams"] == 1
    assert rest[-1].comments == [
        "disconnected: server shutting down; reconnect with Last-Event-ID: 1"
    ]


async def test_engine_stop_ends_streams_after_its_last_event(engine: FakeEngine) -> None:
    async with (
        serving(engine) as service,
        aiohttp.ClientSession(service.url) as http,
        http.get("/events") as response,
    ):
        stream = frames(response)
        await anext(stream)
        await _until(lambda: service.hub.clients == 1)
        await engine.stop()
        rest = [frame async for frame in stream]
    assert [(f.event, f.payload["payload"]) for f in rest if f.id] == [
        ("engine", {"state": "stopped"})
    ]
    assert rest[-1].comments[0].startswith("disconnected: server shutting down")


async def _until(check, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 (polling state the server changes: no event to wait on)
            await asyncio.sleep(0.005)
