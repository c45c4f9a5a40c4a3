"""The two sources of trade updates: the trade_updates WebSocket and the SSE events endpoint.

Both hand every update's raw ``data`` dict to ``on_update``, call ``on_connected`` after every
(re)connect (the broker reconciles then: neither source replays a gap), and keep
``last_seen`` (monotonic seconds of the last message *or heartbeat*) for the staleness watchdog,
which calls :meth:`restart` when it is too old.

WebSocket (:class:`WebSocketUpdates`)
    alpaca-py's ``TradingStream`` with ``raw_data=True``. Its ``run()`` calls ``asyncio.run`` and
    cannot run inside the engine's loop (alpacahq/alpaca-py#618), so its coroutine
    ``_run_forever`` runs as a task of ours (brokers.md §1.1); stopping is ``stop_ws`` plus a
    close of the socket, so a muted socket stops at once instead of after the 5 s receive poll.
    A subclass hooks ``_start_ws`` (connected) and ``_dispatch`` (every message is a sign of
    life; trade updates are forwarded raw, never through pydantic). alpaca-py reconnects by
    itself with backoff after a close; the hook makes those reconnects visible too.
SSE (:class:`SseUpdates`)
    ``GET /v2/events/trades`` read with aiohttp, not alpaca-py's ``get_trade_events``: that
    generator discards the event ids, hides the ``:heartbeat`` comments a staleness check needs,
    has no read timeout, and its request model rejects ULID ``since_id`` (alpacahq/alpaca-py#587).
    The first request asks ``since`` (RFC 3339) a margin before the start; every later one resumes
    with ``since_id`` = the last event id seen. A ``: ... dropped N messages`` comment is a gap: the
    stream reconnects from its cursor, so the server replays what it dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from alpaca.trading.stream import TradingStream

from houseedge import logs
from houseedge.adapters.alpaca.config import AlpacaConfig
from houseedge.adapters.alpaca.errors import translate
from houseedge.adapters.alpaca.mapping import rfc3339

__all__ = ["SseUpdates", "WebSocketUpdates"]

OnUpdate = Callable[[Any], Awaitable[None]]
OnEvent = Callable[[str, dict[str, Any]], None]

log = logs.get_logger("houseedge.adapters.alpaca.stream")

# websockets logs every frame at DEBUG, the authenticate frame (with the secret key) included:
# the stream's connection logs through a logger of its own that never goes below INFO.
_WS_LOGGER = logging.getLogger("houseedge.adapters.alpaca.websocket")
_WS_LOGGER.setLevel(logging.INFO)
_WS_PARAMS: dict[str, Any] = {
    "ping_interval": 10,
    "ping_timeout": 180,
    "max_queue": 1024,
    "logger": _WS_LOGGER,
}  # alpaca-py's defaults, plus the logger


class _Updates:
    """What both sources share: callbacks, liveness and connection counts."""

    def __init__(self, config: AlpacaConfig, on_update: OnUpdate, on_event: OnEvent) -> None:
        self.config, self._on_update, self._on_event = config, on_update, on_event
        self.last_seen = time.monotonic()
        self.connections = 0
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def touch(self) -> None:
        """Record a sign of life (a message or a heartbeat)."""
        self.last_seen = time.monotonic()

    def _connected(self) -> None:
        self.touch()
        self.connections += 1
        self.connected.set()
        self._on_event("connected", {"connections": self.connections})

    async def restart(self) -> None:
        """Drop the connection and open a new one (the staleness watchdog's remedy)."""
        await self.stop()
        self.touch()  # a fresh grace period, or a slow reconnect would look stale at once
        await self.start()

    async def start(self) -> None:  # pragma: no cover - overridden
        """Open the stream."""
        raise NotImplementedError

    async def stop(self) -> None:  # pragma: no cover - overridden
        """Close the stream."""
        raise NotImplementedError


class _HookedTradingStream(TradingStream):
    """alpaca-py's stream with hooks on connect and on every message."""

    def __init__(
        self,
        key: str,
        secret: str,
        *,
        on_connected: Callable[[], None],
        on_message: Callable[[], None],
        on_update: OnUpdate,
        **kwargs: Any,
    ) -> None:
        # alpaca-py annotates websocket_params as a bare Dict, which strict mode calls unknown.
        super().__init__(key, secret, raw_data=True, **kwargs)  # pyright: ignore[reportUnknownMemberType]
        self._hook_connected = on_connected
        self._hook_message = on_message
        self._hook_update = on_update

    async def _start_ws(self) -> None:
        await super()._start_ws()
        self._hook_connected()

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        self._hook_message()
        if msg.get("stream") == "trade_updates":
            await self._hook_update(msg.get("data"))

    def run_forever(self) -> Coroutine[Any, Any, None]:
        """Return the coroutine that connects, authenticates and listens until stopped."""
        return self._run_forever()

    def subscribe(self, handler: OnUpdate) -> None:
        """Subscribe ``handler`` to trade updates (a bare ``Callable`` in alpaca-py)."""
        self.subscribe_trade_updates(handler)  # pyright: ignore[reportUnknownMemberType]


async def _ignore(_: Any) -> None:
    """Stand in as the subscribed handler: ``_dispatch`` forwards updates itself."""


class WebSocketUpdates(_Updates):
    """Trade updates from alpaca-py's ``TradingStream`` run as a task of the running loop."""

    _stream: _HookedTradingStream | None = None

    async def start(self) -> None:
        """Start ``_run_forever`` as a task (it connects, authenticates and listens)."""
        self.connected.clear()
        config = self.config
        stream = _HookedTradingStream(
            config.api_key.get_secret_value(),
            config.api_secret.get_secret_value(),
            on_connected=self._connected,
            on_message=self.touch,
            on_update=self._on_update,
            paper=config.paper,
            url_override=config.stream_url,
            websocket_params=dict(_WS_PARAMS),
        )
        stream.subscribe(_ignore)  # before the task: it deadlocks once running
        self._stream = stream
        self._task = asyncio.get_running_loop().create_task(stream.run_forever())

    async def stop(self) -> None:
        """Stop the task: signal it, close the socket so ``recv`` returns, then await it."""
        stream, task = self._stream, self._task
        self._stream = self._task = None
        if stream is None or task is None:
            return
        await stream.stop_ws()
        with contextlib.suppress(Exception):
            await stream.close()
        try:
            await asyncio.wait_for(task, 10.0)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


class SseUpdates(_Updates):
    """Trade updates from ``GET /v2/events/trades``, resumed from the last event id."""

    def __init__(self, config: AlpacaConfig, on_update: OnUpdate, on_event: OnEvent) -> None:
        super().__init__(config, on_update, on_event)
        self.cursor: str | None = None
        self.since_ns = time.time_ns() - round(config.reconcile_margin_seconds * 1e9)

    async def start(self) -> None:
        """Start the reading task."""
        self.connected.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the reading task (the cursor is kept for the next start)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _params(self) -> dict[str, str]:
        if self.cursor is not None:
            return {"since_id": self.cursor}
        return {"since": rfc3339(self.since_ns)}

    async def _run(self) -> None:
        config = self.config
        headers = {
            "APCA-API-KEY-ID": config.api_key.get_secret_value(),
            "APCA-API-SECRET-KEY": config.api_secret.get_secret_value(),
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
        }
        url = f"{config.events_base}/v2/events/trades"
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.request_timeout_seconds)
        delay = config.sse_reconnect_seconds
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            while True:
                try:
                    async with session.get(url, params=self._params()) as resp:
                        if resp.status != 200:
                            self._on_event("refused", {"status": resp.status})
                        else:
                            self._connected()
                            delay = config.sse_reconnect_seconds
                            await self._read(resp)
                except Exception as exc:
                    if translate(exc, "events") is None:
                        raise
                    self._on_event("error", {"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _read(self, resp: aiohttp.ClientResponse) -> None:
        data: list[bytes] = []
        event_id: str | None = None
        async for raw in resp.content:
            line = raw.rstrip(b"\r\n")
            if not line:
                if data:
                    await self._on_update(b"\n".join(data))
                    if event_id:
                        self.cursor = event_id
                data, event_id = [], None
                continue
            self.touch()
            if line.startswith(b":"):
                if await self._comment(line[1:].strip().decode(errors="replace")):
                    return
                continue
            name, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if name == b"data":
                data.append(value)
            elif name == b"id" and b"\0" not in value:
                event_id = value.decode() or None

    async def _comment(self, text: str) -> bool:
        """Handle a comment; return True when the stream must be re-opened from the cursor."""
        if "dropped" in text:
            self._on_event("gap", {"comment": text, "cursor": self.cursor or ""})
            return True
        if "internal server error" in text:
            self._on_event("server_error", {"comment": text})
            return True
        return False
