"""``GET /events``: the engine's journaled events as a resumable Server-Sent Events stream.

Fan-out
    The service subscribes to the engine *once* (:class:`EventHub`); each event is encoded once
    into its SSE frame and appended to a shared ring of the last ``2 * max_lag`` frames. A
    stream keeps only a cursor into the ring, so publishing costs the same with 1 client or
    100, and the hub never waits for a client: the engine is never blocked by a slow reader.
    That ring is each client's bounded queue: a client more than ``max_lag`` events behind is
    disconnected with a final comment naming the id to resume from (its frames are still in
    the journal, so a reconnect with ``Last-Event-ID`` loses nothing).
Resume without a gap or a duplicate
    A stream takes its ring cursor *before* it reads the backlog from the journal
    (``engine.events_after``). An event is journaled before it is published, so every event
    is either already in the journal when the backlog is read, or published to the ring after
    the cursor was taken — or both. The stream sends the backlog, then the ring from its cursor,
    dropping every ring event with an id at or below the last id it sent: both sets together
    cover everything (no gap) and the id filter removes the overlap (no duplicate). This needs
    the engine to publish in id order and to have its subscription live when ``subscribe()``
    returns (the hub subscribes before the service accepts connections).
Frames
    ``retry: <ms>`` once on connect; then per event ``id: <journal id>``, ``event: <kind>`` and
    ``data: {"id", "kind", "ts", "payload"}`` (one line of JSON); ``: heartbeat`` after
    ``heartbeat`` seconds without an event; a final ``: ...`` comment when the server drops the
    stream (slow client, shutdown).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import msgspec
from aiohttp import web

from houseedge import logs
from houseedge.live.control import EngineHandle, PublishedEvent
from houseedge.live.observability import Observability
from houseedge.live.service._http import json_error

__all__ = ["EventHub", "StreamSettings", "encode_frame", "stream_events"]

log = logs.get_logger("houseedge.live.service")

_encoder: Final = msgspec.json.Encoder(enc_hook=str)
_HEADERS: Final = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # a reverse proxy must not buffer the stream
}


@dataclass(frozen=True, kw_only=True)
class StreamSettings:
    """How ``GET /events`` streams behave."""

    heartbeat: float = 15.0  # seconds without an event before ": heartbeat"
    retry_ms: int = 2000  # the reconnection delay a client's EventSource should use
    max_lag: int = 10_000  # events a client may fall behind before it is disconnected
    page_size: int = 500  # events per journal read while replaying a backlog
    # A pause after each write lets frames coalesce: at 5,000 events/s and 100 streams, one
    # write per event would be 500,000 writes/s; at 20 ms it is at most 5,000, for <= 20 ms lag.
    batch_interval: float = 0.02
    write_timeout: float = 30.0  # a write stuck this long means a dead reader


def encode_frame(event: PublishedEvent) -> bytes:
    r"""Return the SSE frame of one event.

    Examples
    --------
    >>> encode_frame(PublishedEvent(id=7, kind="fill", ts=1, payload={"qty": 2}))
    b'id: 7\nevent: fill\ndata: {"id":7,"kind":"fill","ts":1,"payload":{"qty":2}}\n\n'
    """
    # A newline in a kind would end the field early; JSON data never holds a raw newline.
    kind = event.kind.replace("\n", " ").replace("\r", " ")
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id, kind.encode(), _encoder.encode(event))


class EventHub:
    """The service's one subscription to the engine, shared by every SSE stream.

    Examples
    --------
    >>> hub = EventHub(max_lag=2)
    >>> for i in range(1, 6):
    ...     hub.append(PublishedEvent(id=i, kind="engine", ts=0, payload={}))
    >>> data, cursor, newest = hub.frames_after(3, last_id=3)
    >>> hub.head, cursor, newest, data.count(b"event: engine")
    (5, 5, 5, 2)
    >>> hub.frames_after(0, last_id=0) is None  # trimmed: this cursor fell too far behind
    True
    """

    def __init__(self, *, max_lag: int = 10_000, observability: Observability | None = None):
        self.max_lag = max_lag
        self.observability = observability
        self.closed = False
        self.clients = 0
        self.published = 0
        # The ring: ids and frames in parallel lists, so a stream's batch is one slice and
        # one bytes.join (C loops), not a Python loop over its events.
        self._ids: list[int] = []
        self._frames: list[bytes] = []
        self._base = 0  # ring position of the first element
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def head(self) -> int:
        """Return the ring position after the newest frame (a new stream's cursor)."""
        return self._base + len(self._ids)

    async def start(self, engine: EngineHandle) -> None:
        """Subscribe to ``engine`` and relay its events until it stops or :meth:`close`."""
        self._task = asyncio.get_running_loop().create_task(self._relay(engine.subscribe()))
        # subscribe() may be an async generator, which registers its queue only when first
        # iterated: one turn of the loop runs the relay up to its first wait, so the
        # subscription is live before any stream takes a cursor (the no-gap argument).
        await asyncio.sleep(0)

    async def _relay(self, events: AsyncIterator[PublishedEvent]) -> None:
        try:
            async for event in events:
                self.append(event)
        finally:
            self.closed = True
            self._new.set()

    def append(self, event: PublishedEvent) -> None:
        """Add one published event to the ring and wake the streams."""
        if self.observability is not None:
            self.observability.observe_event(event)
        self.published += 1
        self._ids.append(event.id)
        self._frames.append(encode_frame(event))
        if len(self._ids) > 2 * self.max_lag:
            # Amortised trim: one list shift per max_lag events keeps append O(1).
            drop = len(self._ids) - self.max_lag
            del self._ids[:drop]
            del self._frames[:drop]
            self._base += drop
        self._new.set()
        # Waiters already woken keep their result; clearing arms the event for the next one.
        self._new.clear()

    def holds(self, cursor: int) -> bool:
        """Return whether the frames after ``cursor`` are all still in the ring."""
        return cursor >= self._base

    def frames_after(self, cursor: int, last_id: int) -> tuple[bytes, int, int] | None:
        """Return the frames after ``cursor`` with ids above ``last_id``, joined.

        Returns ``(data, new cursor, newest id)``, or None when the frames after ``cursor``
        were trimmed (the stream fell too far behind).
        """
        if cursor < self._base:
            return None
        start, end = cursor - self._base, len(self._ids)
        if start == end:
            return b"", cursor, last_id
        # Ids increase along the ring: only a prefix can be at or below last_id.
        skip = bisect.bisect_right(self._ids, last_id, start, end)
        data = b"".join(self._frames[skip:end])
        return data, self._base + end, max(last_id, self._ids[end - 1])

    async def wait(self, cursor: int, seconds: float) -> bool:
        """Wait until there is a frame after ``cursor`` (or the hub closed); False on timeout."""
        if self.head > cursor or self.closed:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._new.wait()
                return True
        return self.head > cursor or self.closed

    async def close(self) -> None:
        """Stop relaying and end every stream (each gets its final comment)."""
        self.closed = True
        self._new.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class _Gone(Exception):
    """The client went away, or a write was stuck past the write timeout."""


async def stream_events(
    request: web.Request, engine: EngineHandle, hub: EventHub, settings: StreamSettings
) -> web.StreamResponse:
    """Serve one ``GET /events`` stream until the client leaves, lags or the server drains."""
    last = _requested_id(request)
    if isinstance(last, web.Response):
        return last
    # The cursor is taken before anything is read from the journal (see the module docstring).
    cursor = hub.head
    newest = engine.last_event_id
    response = web.StreamResponse(headers=_HEADERS)
    await response.prepare(request)
    hub.clients += 1
    if hub.observability is not None:
        hub.observability.sse_clients(1)
    stream = _Stream(response, settings)
    outcome = "client_closed"
    try:
        await stream.write(b"retry: %d\n\n" % settings.retry_ms)
        # No id: events from now on. An id ahead of the journal (a wiped or other journal)
        # would silently filter out every new event, so restart from the journal's newest.
        stream.last = newest if last is None or last > newest else last
        outcome = await _pump(stream, engine, hub, cursor)
        await stream.write(_farewell(outcome, stream.last, settings.max_lag))
    except _Gone:
        outcome = "client_closed"
    finally:
        hub.clients -= 1
        if hub.observability is not None:
            hub.observability.sse_clients(-1)
        log.info("sse_stream_closed", outcome=outcome, last_event_id=stream.last)
    return response


async def _pump(stream: _Stream, engine: EngineHandle, hub: EventHub, cursor: int) -> str:
    """Send the backlog, then live frames; return why the stream ends (``stream.last`` set)."""
    await _replay(stream, engine, hub)
    while not hub.holds(cursor):
        # The backlog took so long that live frames we needed left the ring: take a new
        # cursor and read the journal again (the same argument as on connect applies).
        cursor = hub.head
        await _replay(stream, engine, hub)
    settings = stream.settings
    while True:
        if not await hub.wait(cursor, settings.heartbeat):
            await stream.write(b": heartbeat\n\n")
            continue
        if hub.head - cursor > hub.max_lag:
            return "too_slow"
        batch = hub.frames_after(cursor, stream.last)
        if batch is None:
            return "too_slow"
        data, cursor, newest = batch
        if data:
            await stream.write(data)
        stream.last = newest
        if hub.closed and cursor == hub.head:
            return "shutdown"
        await asyncio.sleep(settings.batch_interval)


async def _replay(stream: _Stream, engine: EngineHandle, hub: EventHub) -> None:
    """Send the journal's events after ``stream.last`` in pages."""
    while not hub.closed:
        page = engine.events_after(stream.last, stream.settings.page_size)
        if not page:
            return
        await stream.write(b"".join(encode_frame(event) for event in page))
        stream.last = page[-1].id


class _Stream:
    def __init__(self, response: web.StreamResponse, settings: StreamSettings) -> None:
        self.response = response
        self.settings = settings
        self.last = 0  # the id of the last event written: where the client resumes

    async def write(self, data: bytes) -> None:
        try:
            async with asyncio.timeout(self.settings.write_timeout):
                await self.response.write(data)
        except (ConnectionError, TimeoutError) as exc:
            raise _Gone from exc


def _farewell(outcome: str, last: int, max_lag: int) -> bytes:
    if outcome == "too_slow":
        reason = f"client more than {max_lag} events behind"
    else:
        reason = "server shutting down"
    return f": disconnected: {reason}; reconnect with Last-Event-ID: {last}\n\n".encode()


def _requested_id(request: web.Request) -> int | web.Response | None:
    """Return the id to resume after (header first, then ``?last_event_id=``), or a 400."""
    text = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if text is None or not text.strip():
        return None
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if value < 0:
        return json_error(
            400,
            "invalid Last-Event-ID",
            field="Last-Event-ID",
            expected="a non-negative integer event id",
        )
    return value
