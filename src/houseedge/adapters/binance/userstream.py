"""The spot user-data stream over python-binance's WebSocket-API subscription, kept alive.

python-binance 1.0.37 subscribes with ``userDataStream.subscribe.signature`` on the shared
WebSocket-API connection, but when that connection drops and reconnects it does **not**
subscribe again: ``recv()`` yields one ``{"e": "error"}`` and then nothing (brokers.md §2.6,
sammchardy/python-binance#1682). A non-JSON frame is worse: it ends the connection's read
loop, so nothing more is read at all. :class:`UserStream` therefore treats

* an ``{"e": "error"}`` message or ``eventStreamTerminated`` as a lost subscription, and
* a quiet stream (no event for ``staleness`` seconds) as suspect: it asks the connection's
  ``session.subscriptions`` and resubscribes when ours is missing,

and recovers with the verified recipe: wait until the WebSocket API streams again (resetting
it when its read loop died), leave the cached socket (``__aexit__``, errors ignored, bounded),
enter ``bm.user_socket()`` again (a fresh subscription), drop the stale error messages still
queued, then call ``on_gap`` so the adapter reconciles over REST. A quiet stream whose
subscription is alive is reconciled too, which catches events the venue never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from houseedge import logs
from houseedge.adapters.binance._lib import (
    BinanceSocketManager,
    WSListenerState,
    is_object,
    receive,
)

__all__ = ["UserStream"]

Handler = Callable[[dict[str, Any]], Awaitable[None]]
GapHandler = Callable[[str], Awaitable[None]]


class UserStream:
    """Read the user stream, detect a lost subscription, resubscribe and report the gap."""

    def __init__(
        self,
        client: Any,
        *,
        on_event: Handler,
        on_gap: GapHandler,
        staleness: float = 30.0,
        timeout: float = 15.0,
    ) -> None:
        self.client, self.on_event, self.on_gap = client, on_event, on_gap
        self.staleness, self.timeout = staleness, timeout
        self.manager = BinanceSocketManager(client)
        self.socket: Any = None
        self.losses = 0
        """Subscriptions found lost (error message, terminated, or missing when probed)."""
        self.resubscribes = 0
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.log = logs.get_logger("houseedge.adapters.binance")

    async def start(self) -> None:
        """Subscribe and start reading."""
        self.socket = self.manager.user_socket()
        await asyncio.wait_for(self.socket.__aenter__(), self.timeout)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop reading and unsubscribe (bounded; errors ignored: the venue may be gone)."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.socket.__aexit__(None, None, None), 2.0)

    async def _run(self) -> None:
        while not self._closing:
            try:
                message = await asyncio.wait_for(receive(self.socket), self.staleness)
            except TimeoutError:
                await self._probe()
                continue
            kind = message.get("e") if is_object(message) else None
            if kind in ("error", "eventStreamTerminated"):
                await self.recover(str(message.get("type", kind)))
                continue
            try:
                await self.on_event(message)
            except Exception as exc:  # a handler bug must not end the stream: reconcile instead
                self.log.error("binance.user_event_failed", error=repr(exc))
                await self.on_gap("handler_error")

    async def _probe(self) -> None:
        """Check a quiet stream's subscription is still held, then reconcile either way."""
        try:
            held = await asyncio.wait_for(
                self.client._ws_api_request("session.subscriptions", signed=False, params={}),
                self.timeout,
            )
            ours = getattr(self.socket, "_subscription_id", None)
            alive = any(entry.get("subscriptionId") == ours for entry in held or ())
        except Exception as exc:  # any failure to ask is as good as "not held"
            self.log.warning("binance.probe_failed", error=repr(exc))
            alive = False
        if alive:
            await self.on_gap("stale")
        else:
            await self.recover("stale_subscription")

    async def recover(self, reason: str) -> None:
        """Resubscribe (retrying with backoff until closed), then report the gap."""
        self.losses += 1
        self.log.warning("binance.user_stream_lost", reason=reason)
        delay = 0.1
        while not self._closing:
            try:
                await self._resubscribe()
                break
            except Exception as exc:  # the venue is still away: wait and try again
                self.log.warning("binance.resubscribe_failed", error=repr(exc), retry_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.resubscribes += 1
        self.log.info("binance.user_stream_resubscribed", reason=reason)
        await self.on_gap(reason)

    async def _resubscribe(self) -> None:
        await self._ws_api_ready()
        with contextlib.suppress(Exception):  # a stale unsubscribe may be refused or hang
            await asyncio.wait_for(self.socket.__aexit__(None, None, None), self.timeout)
        self.socket = self.manager.user_socket()  # the same cached object, re-entered
        await asyncio.wait_for(self.socket.__aenter__(), self.timeout)
        self._drop_stale_errors()

    async def _ws_api_ready(self) -> None:
        """Wait until the WebSocket API streams again; reset it when its read loop is gone."""
        api = self.client.ws_api
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if api._handle_read_loop is None:
                # No read loop: never connected, or it ended (a frame it could not parse,
                # reconnects exhausted) and nothing reads the connection any more. Close it
                # so that the next request opens a new one.
                if api.ws is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(api.close(), self.timeout)
                return
            if api.ws is not None and api.ws_state == WSListenerState.STREAMING:
                return
            await asyncio.sleep(0.05)
        msg = f"the WebSocket API did not reconnect within {self.timeout} s"
        raise TimeoutError(msg)

    def _drop_stale_errors(self) -> None:
        # python-binance queues a second error (BinanceWebsocketClosed) for the old connection;
        # events of the new subscription stay, in order.
        queue = self.socket._queue
        kept = [m for m in _drain(queue) if not (is_object(m) and m.get("e") == "error")]
        for message in kept:
            queue.put_nowait(message)


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    items: list[Any] = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
