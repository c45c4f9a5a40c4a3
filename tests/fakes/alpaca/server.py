"""A loopback Alpaca server the real alpaca-py clients talk to (brokers.md §1.3 to §1.7).

One aiohttp app on ``127.0.0.1``: WS ``/stream`` (authenticate, listen, trade_updates as binary
frames), the Trading REST API under ``/v2`` (orders, by client order id, account, positions, FILL
activities), SSE ``/v2/events/trades`` (chunked, ``:heartbeat`` comments, ``since``/``since_id``/
``Last-Event-ID``) and historical bars ``/v2/stocks/bars``. The book is :class:`Venue`.

Fault knobs (:class:`Faults`, changed at any time by a test):

``drop_ws_after``      close every trade_updates socket after it pushed N events
``muted``              push nothing (events and SSE heartbeats withheld and lost), REST stays up
``outage``             close the streams and refuse new ones (503); events meanwhile are lost
``malformed``          the next fill events go out broken: ``"timestamp"`` (missing),
                       ``"execution_id"`` or ``"order_id"`` (not UUIDs)
``commit_then_504``    the next N order submits are committed, then answered 504
``single_stream``      a second concurrent trade_updates socket gets HTTP 429
``sse_drop_next``      the SSE stream skips N events and says ``: ... dropped N messages``
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.alpaca.bars import bars_response
from tests.fakes.alpaca.venue import Venue, VenueError, parse_rfc3339

_WS_ONLY_KEYS = ("account_id", "at", "event_id")


@dataclass
class Faults:
    """What the fake does wrong; see the module doc."""

    drop_ws_after: int | None = None
    muted: bool = False
    outage: bool = False
    malformed: list[str] = field(default_factory=list)
    commit_then_504: int = 0
    single_stream: bool = True
    sse_drop_next: int = 0
    heartbeat_s: float = 0.5
    bars_page: int = 100


@dataclass
class Stats:
    """What the fake saw (tests assert on it)."""

    ws_connects: int = 0
    ws_refused_429: int = 0
    ws_refused_503: int = 0
    ws_dropped: int = 0
    pushed: int = 0
    withheld: int = 0
    malformed_sent: int = 0
    posts: int = 0
    gateway_timeouts: int = 0
    sse_connects: int = 0
    bar_pages: int = 0
    sse_queries: list[dict[str, str]] = field(default_factory=list)


class FakeAlpaca:
    """The server; ``async with FakeAlpaca() as fake`` listens on a free loopback port."""

    def __init__(
        self,
        *,
        key: str = "fake-key",
        secret: str = "fake-secret",  # noqa: S107 (a fake's loopback credential)
        venue: Venue | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.key, self.secret = key, secret
        self.venue = venue or Venue()
        self.faults = faults or Faults()
        self.stats = Stats()
        self._sockets: set[web.WebSocketResponse] = set()
        self._sse: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._runner: web.AppRunner | None = None
        self._sse_dropped = 0
        self.port = 0

    @property
    def base_url(self) -> str:
        """Return the REST base URL (alpaca-py adds ``/v2``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def stream_url(self) -> str:
        """Return the trade_updates WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}/stream"

    async def __aenter__(self) -> FakeAlpaca:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/stream", self._ws)
        app.router.add_get("/v2/account", self._account)
        app.router.add_get("/v2/positions", self._positions)
        app.router.add_post("/v2/orders", self._submit)
        app.router.add_get("/v2/orders", self._orders)
        app.router.add_get("/v2/orders:by_client_order_id", self._by_client)
        app.router.add_get("/v2/orders/{id}", self._order)
        app.router.add_patch("/v2/orders/{id}", self._replace)
        app.router.add_delete("/v2/orders/{id}", self._cancel)
        app.router.add_get("/v2/account/activities/FILL", self._activities)
        app.router.add_get("/v2/events/trades", self._events)
        app.router.add_get("/v2/stocks/bars", self._bars)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect_streams()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def streams(self) -> int:
        """Return how many WS and SSE streams are open."""
        return len(self._sockets) + len(self._sse)

    async def disconnect_streams(self) -> None:
        """Close every WS and SSE stream (the clients see the server go away)."""
        for ws in list(self._sockets):
            await ws.close(code=1011, message=b"going away")
        for queue in list(self._sse):
            queue.put_nowait(None)

    async def set_outage(self, on: bool) -> None:
        """Start (close the streams, refuse new ones) or end an outage."""
        self.faults.outage = on
        if on:
            await self.disconnect_streams()

    # -- plumbing ---------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/stream":
            return await handler(request)
        key = request.headers.get("APCA-API-KEY-ID")
        secret = request.headers.get("APCA-API-SECRET-KEY")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            key, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if (key, secret) != (self.key, self.secret):
            return _error(401, 40110000, "request is not authorized")
        try:
            return await handler(request)
        except VenueError as exc:
            return _error(exc.status, exc.code, exc.message)

    def _broken(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.faults.malformed or data["event"] not in ("fill", "partial_fill"):
            return data
        kind = self.faults.malformed.pop(0)
        self.stats.malformed_sent += 1
        data = {**data, "order": dict(data["order"])}
        if kind == "timestamp":
            del data["timestamp"]
        elif kind == "execution_id":
            data["execution_id"] = "exec-" + data["execution_id"][:8]
        else:
            data["order"]["id"] = "order-" + data["order"]["id"][:8]
        return data

    # -- the trade_updates WebSocket --------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self.faults.outage:
            self.stats.ws_refused_503 += 1
            return web.Response(status=503, text="service unavailable")
        if self.faults.single_stream and self._sockets:
            self.stats.ws_refused_429 += 1
            return web.Response(status=429, text="connection limit exceeded")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.stats.ws_connects += 1
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sender = asyncio.get_running_loop().create_task(self._push(ws, queue))
        try:
            await self._converse(ws, queue)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._drop_listener(queue)
            self._sockets.discard(ws)
        return ws

    async def _converse(self, ws: web.WebSocketResponse, queue: asyncio.Queue[Any]) -> None:
        authorized = False
        async for message in ws:
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            body = json.loads(message.data)
            action = body.get("action")
            if action in ("authenticate", "auth"):
                data = body.get("data") or {}
                key = data.get("key_id", body.get("key"))
                secret = data.get("secret_key", body.get("secret"))
                authorized = (key, secret) == (self.key, self.secret)
                status = "authorized" if authorized else "unauthorized"
                await ws.send_str(
                    json.dumps(
                        {
                            "stream": "authorization",
                            "data": {"status": status, "action": "authenticate"},
                        }
                    )
                )
            elif action == "listen" and not authorized:
                await ws.send_str(
                    json.dumps(
                        {
                            "stream": "authorization",
                            "data": {"status": "unauthorized", "action": "listen"},
                        }
                    )
                )
            elif action == "listen":
                self.venue.listeners.append(queue.put_nowait)
                await ws.send_str(
                    json.dumps({"stream": "listening", "data": {"streams": ["trade_updates"]}})
                )

    def _drop_listener(self, queue: asyncio.Queue[Any]) -> None:
        with contextlib.suppress(ValueError):
            self.venue.listeners.remove(queue.put_nowait)

    async def _push(self, ws: web.WebSocketResponse, queue: asyncio.Queue[Any]) -> None:
        sent = 0
        while True:
            data = await queue.get()
            if self.faults.muted:
                self.stats.withheld += 1
                continue
            data = self._broken({k: v for k, v in data.items() if k not in _WS_ONLY_KEYS})
            frame = json.dumps({"stream": "trade_updates", "data": data}).encode()
            await ws.send_bytes(frame)  # production sends binary frames of UTF-8 JSON
            sent += 1
            self.stats.pushed += 1
            limit = self.faults.drop_ws_after
            if limit is not None and sent >= limit:
                self._drop_listener(queue)
                self.stats.ws_dropped += 1
                await ws.close(code=1011, message=b"dropped by fault knob")
                return

    # -- REST -------------------------------------------------------------------------------

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(self.venue.account_json())

    async def _positions(self, request: web.Request) -> web.Response:
        return web.json_response(self.venue.positions_json())

    async def _submit(self, request: web.Request) -> web.Response:
        self.stats.posts += 1
        order = self.venue.submit(await request.json())
        if self.faults.commit_then_504 > 0:
            self.faults.commit_then_504 -= 1
            self.stats.gateway_timeouts += 1
            return web.Response(status=504, text="upstream request timeout")
        return web.json_response(order)

    async def _orders(self, request: web.Request) -> web.Response:
        q = request.query
        status = q.get("status", "open")
        after = parse_rfc3339(q["after"]) if "after" in q else None
        until = parse_rfc3339(q["until"]) if "until" in q else None
        symbols = set(q["symbols"].split(",")) if q.get("symbols") else None
        rows = []
        for order in self.venue.orders.values():
            is_open = order["status"] in ("new", "accepted", "partially_filled", "pending_new")
            if (status == "open" and not is_open) or (status == "closed" and is_open):
                continue
            at = parse_rfc3339(order["submitted_at"])
            if (after is not None and at <= after) or (until is not None and at >= until):
                continue
            if symbols is None or order["symbol"] in symbols:
                rows.append(order)
        rows.sort(key=lambda o: o["submitted_at"], reverse=q.get("direction", "desc") == "desc")
        return web.json_response(rows[: min(int(q.get("limit", 50)), 500)])

    async def _by_client(self, request: web.Request) -> web.Response:
        return web.json_response(self.venue.by_client_id(request.query["client_order_id"]))

    async def _order(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.venue._get(request.match_info["id"])))

    async def _replace(self, request: web.Request) -> web.Response:
        return web.json_response(self.venue.replace(request.match_info["id"], await request.json()))

    async def _cancel(self, request: web.Request) -> web.Response:
        self.venue.cancel(request.match_info["id"])
        return web.Response(status=204)

    async def _activities(self, request: web.Request) -> web.Response:
        q = request.query
        after = parse_rfc3339(q["after"]) if "after" in q else None
        until = parse_rfc3339(q["until"]) if "until" in q else None
        rows = [
            a
            for a in self.venue.executions
            if (after is None or a["_ns"] > after) and (until is None or a["_ns"] < until)
        ]
        if q.get("direction", "desc") == "desc":
            rows.reverse()
        if "page_token" in q:
            ids = [a["id"] for a in rows]
            rows = rows[ids.index(q["page_token"]) + 1 :] if q["page_token"] in ids else []
        size = min(int(q.get("page_size", 100)), 100)
        return web.json_response([{k: v for k, v in a.items() if k != "_ns"} for a in rows[:size]])

    async def _bars(self, request: web.Request) -> web.Response:
        self.stats.bar_pages += 1
        return web.json_response(bars_response(dict(request.query), self.faults.bars_page))

    # -- SSE --------------------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        q = dict(request.query)
        self.stats.sse_queries.append(q)
        since_id = q.get("since_id") or request.headers.get("Last-Event-ID")
        if "since" in q and since_id:
            return _error(400, 40010000, "since and since_id cannot be combined")
        if self.faults.outage:
            return web.Response(status=503, text="service unavailable")
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.venue.listeners.append(queue.put_nowait)
        self._sse.add(queue)
        self.stats.sse_connects += 1
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            since = parse_rfc3339(q["since"]) if "since" in q else None
            history = [
                e
                for e in self.venue.log
                if (since is not None and parse_rfc3339(e["at"]) >= since)
                or (since_id is not None and e["event_id"] > since_id)
            ]
            for event in history:
                await self._sse_write(resp, event)
            await self._sse_live(resp, queue)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(ValueError):
                self.venue.listeners.remove(queue.put_nowait)
            self._sse.discard(queue)
        return resp

    async def _sse_live(self, resp: web.StreamResponse, queue: asyncio.Queue[Any]) -> None:
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), self.faults.heartbeat_s)
            except TimeoutError:
                if not self.faults.muted:
                    await resp.write(b":heartbeat\n\n")
                continue
            if event is None:
                return
            await self._sse_write(resp, event)

    async def _sse_write(self, resp: web.StreamResponse, event: dict[str, Any]) -> None:
        if self.faults.muted:
            self.stats.withheld += 1
            return
        if self.faults.sse_drop_next > 0:
            self.faults.sse_drop_next -= 1
            self._sse_dropped += 1
            if self.faults.sse_drop_next == 0:
                note = f": you are reading too slowly, dropped {self._sse_dropped} messages\n\n"
                self._sse_dropped = 0
                await resp.write(note.encode())
            return
        data = self._broken(event)
        self.stats.pushed += 1
        await resp.write(f"id: {event['event_id']}\ndata: {json.dumps(data)}\n\n".encode())


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
