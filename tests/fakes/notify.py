"""Loopback fakes of the two notification APIs: a JSON webhook and the Telegram Bot API.

Each is an aiohttp server on 127.0.0.1 that records every request (path, JSON body) and can be
told to fail: answer 5xx for the next ``n`` requests, or hang (never answer) until released.
The Telegram fake serves ``POST /bot<token>/sendMessage`` and answers as the Bot API does:
``{"ok": true, "result": {message}}``, or ``{"ok": false, "error_code", "description"}``; a
wrong token is a 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    """One request the fake received."""

    path: str
    body: Any


@dataclass
class _Behaviour:
    fail_next: int = 0  # answer 5xx to this many requests
    status: int = 503
    hang: asyncio.Event | None = None  # set: requests wait for it (a hanging sink)
    requests: list[Recorded] = field(default_factory=list[Recorded])
    accepted: list[Recorded] = field(default_factory=list[Recorded])


class _Fake:
    def __init__(self) -> None:
        self.behaviour = _Behaviour()
        self.url = ""
        self._runner: web.AppRunner | None = None

    @property
    def requests(self) -> list[Recorded]:
        """Return every request received, failed ones included."""
        return self.behaviour.requests

    @property
    def accepted(self) -> list[Recorded]:
        """Return the requests answered with success, in order."""
        return self.behaviour.accepted

    def fail(self, times: int, status: int = 503) -> None:
        """Answer ``status`` to the next ``times`` requests."""
        self.behaviour.fail_next, self.behaviour.status = times, status

    def hang(self) -> None:
        """Hold every request from now until :meth:`release`."""
        self.behaviour.hang = asyncio.Event()

    def release(self) -> None:
        """Answer held requests (and stop holding new ones)."""
        if self.behaviour.hang is not None:
            self.behaviour.hang.set()
            self.behaviour.hang = None

    async def _gate(self, request: web.Request) -> tuple[Any, web.Response | None]:
        body = await request.json()
        self.behaviour.requests.append(Recorded(request.path, body))
        hang = self.behaviour.hang
        if hang is not None:
            await hang.wait()
        if self.behaviour.fail_next > 0:
            self.behaviour.fail_next -= 1
            return body, web.json_response({"error": "unavailable"}, status=self.behaviour.status)
        return body, None

    async def start(self, app: web.Application) -> None:
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()


class FakeWebhook(_Fake):
    """A webhook receiver at ``{url}/hook``: 204 for each JSON POST it accepts."""

    @property
    def hook(self) -> str:
        """Return the URL to configure."""
        return f"{self.url}/hook"

    async def _post(self, request: web.Request) -> web.Response:
        body, failure = await self._gate(request)
        if failure is not None:
            return failure
        self.accepted.append(Recorded(request.path, body))
        return web.Response(status=204)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._post)
        return app


class FakeTelegram(_Fake):
    """The Bot API's ``sendMessage`` for one bot token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)

    async def _send(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        body, failure = await self._gate(request)
        if failure is not None:
            return web.json_response(
                {"ok": False, "error_code": failure.status, "description": "Bad Gateway"},
                status=failure.status,
            )
        if not isinstance(body, dict) or "chat_id" not in body or not body.get("text"):
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: text is empty"},
                status=400,
            )
        self.accepted.append(Recorded(request.path, body))
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": body["chat_id"], "type": "private"},
            "text": body["text"],
        }
        return web.json_response({"ok": True, "result": message})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", self._send)
        return app

    @property
    def texts(self) -> list[str]:
        """Return the texts of the messages delivered, in order."""
        return [r.body["text"] for r in self.accepted]


@contextlib.asynccontextmanager
async def webhook_server() -> AsyncIterator[FakeWebhook]:
    """Run a :class:`FakeWebhook` on 127.0.0.1 for the block."""
    fake = FakeWebhook()
    await fake.start(fake.app())
    try:
        yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def telegram_server(token: str) -> AsyncIterator[FakeTelegram]:
    """Run a :class:`FakeTelegram` for ``token`` on 127.0.0.1 for the block."""
    fake = FakeTelegram(token)
    await fake.start(fake.app())
    try:
        yield fake
    finally:
        await fake.stop()
