"""The live engine's HTTP face: health, state, metrics, operator commands and the event stream.

The endpoints, their auth, errors and the drain are documented on :mod:`houseedge.live.service`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import msgspec
from aiohttp import web

from houseedge import logs
from houseedge.errors import HouseEdgeError, RiskRejected
from houseedge.live.control import EngineHandle, ManualOrder
from houseedge.live.notify import NotificationRelay
from houseedge.live.observability import CONTENT_TYPE, Observability
from houseedge.live.service._auth import BearerAuth
from houseedge.live.service._http import BodyError, decode_body, json_error, json_response
from houseedge.live.service._manage import add_strategy_routes
from houseedge.live.service._orders import add_order_routes
from houseedge.live.service._sse import EventHub, stream_events
from houseedge.live.service.settings import ServiceSettings

__all__ = ["KillRequest", "Service", "ServiceSettings", "run_service"]

log = logs.get_logger("houseedge.live.service")

StopEngine = Callable[[], Awaitable[object]]
_MAX_FILLS: Final = 10_000


class KillRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /kill`` (an empty body means ``{"flatten": false}``)."""

    flatten: bool = False


_kill_decoder: Final = msgspec.json.Decoder(KillRequest)
_order_decoder: Final = msgspec.json.Decoder(ManualOrder)
_SERVICE: Final = web.AppKey("service", object)


class Service:
    """The HTTP service around one engine.

    Parameters
    ----------
    engine
        The running engine.
    settings
        Host, port, token and stream settings.
    observability
        Metrics and traces (a fresh :class:`Observability` when omitted).
    stop_engine
        Awaited (bounded by ``drain_timeout``) when the service drains: it should stop the
        engine taking decisions, wait for orders in flight and close the journal.
    notifications
        Where the engine's events go as notifications (default: the ``settings.notify`` sinks).

    Examples
    --------
    >>> import asyncio, aiohttp
    >>> class QuietEngine:  # publishes nothing: just enough of an EngineHandle for /ready
    ...     ready = True
    ...     async def subscribe(self):
    ...         await asyncio.Event().wait()
    ...         yield
    ...     def orders(self, *, open_only=False):
    ...         return []
    >>> async def main():
    ...     service = Service(QuietEngine(), ServiceSettings(port=0))
    ...     await service.start()
    ...     async with aiohttp.ClientSession() as http:
    ...         async with http.get(f"{service.url}/ready") as response:
    ...             status = response.status
    ...     counts = await service.drain()
    ...     return status, counts["open_orders"]
    >>> asyncio.run(main())
    (200, 0)
    """

    def __init__(
        self,
        engine: EngineHandle,
        settings: ServiceSettings | None = None,
        *,
        observability: Observability | None = None,
        stop_engine: StopEngine | None = None,
        notifications: NotificationRelay | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or ServiceSettings()
        self.notifications = notifications or NotificationRelay.from_configs(self.settings.notify)
        self.observability = observability or Observability()
        self.auth = BearerAuth(self.settings.token, operator=self.settings.operator)
        self.hub = EventHub(max_lag=self.settings.max_lag, observability=self.observability)
        self.draining = False
        self.counts: dict[str, int] = {"mutations": 0, "refused": 0, "sse_streams": 0}
        self._stop_engine = stop_engine
        self._runner: web.AppRunner | None = None
        self._streams: set[asyncio.Task[Any]] = set()
        self._started = time.monotonic()
        self.port = 0
        self.app = self._build_app()

    @property
    def url(self) -> str:
        """Return the base URL the service listens on (after :meth:`start`)."""
        return f"http://{self.settings.host}:{self.port}"

    def _build_app(self) -> web.Application:
        app = web.Application()
        app[_SERVICE] = self
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/positions", self._positions)
        app.router.add_get("/orders", self._orders)
        app.router.add_get("/fills", self._fills)
        app.router.add_get("/risk", self._risk)
        app.router.add_get("/strategies", self._strategies)
        app.router.add_get("/events", self._events)
        app.router.add_post("/kill", self._kill)
        app.router.add_post("/reset", self._reset)
        app.router.add_post("/pause", self._pause)
        app.router.add_post("/resume", self._resume)
        app.router.add_post("/flatten", self._flatten)
        app.router.add_post("/orders", self._submit)
        add_order_routes(app, self)
        add_strategy_routes(app, self._mutate, lambda: self.engine)
        return app

    async def start(self) -> None:
        """Subscribe to the engine's events, then listen (the subscription comes first)."""
        await self.hub.start(self.engine)
        if self.notifications is not None:
            self.notifications.start(self.engine)
        # Access logs are off: request lines are not secrets, but headers would be one
        # misconfigured format away from logging the bearer token.
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self.settings.drain_timeout,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])
        log.info("service_started", host=self.settings.host, port=self.port, auth=self.auth.enabled)

    async def drain(self) -> dict[str, Any]:
        """Stop decisions, end the streams, stop listening; return (and log) the counts."""
        self.draining = True
        engine_stopped = await self._stop_engine_bounded()
        streams = self.hub.clients
        await self.hub.close()
        if self.notifications is not None:  # after the engine stopped: its last events go too
            await self.notifications.stop(timeout=self.settings.drain_timeout)
        if self._streams:
            await asyncio.wait(self._streams, timeout=self.settings.drain_timeout)
        open_orders = _safe_len(lambda: self.engine.orders(open_only=True))
        if self._runner is not None:
            await self._runner.cleanup()
        counts: dict[str, Any] = {
            "engine_stopped": engine_stopped,
            "sse_streams": streams,
            "sse_streams_served": self.counts["sse_streams"],
            "events_published": self.hub.published,
            "mutations": self.counts["mutations"],
            "mutations_refused": self.counts["refused"],
            "open_orders": open_orders,
        }
        log.info("service_drained", **counts)
        self.observability.shutdown()
        return counts

    async def _stop_engine_bounded(self) -> bool:
        if self._stop_engine is None:
            return False
        try:
            async with asyncio.timeout(self.settings.drain_timeout):
                await self._stop_engine()
        except TimeoutError:
            log.warning("engine_stop_timed_out", timeout=self.settings.drain_timeout)
            return False
        return True

    # -- reads -------------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {
            "status": "draining" if self.draining else "ok",
            "uptime_s": round(time.monotonic() - self._started, 3),
            "sse_clients": self.hub.clients,
        }
        try:
            body["engine"] = self.engine.health()
        except Exception as exc:  # liveness answers whatever state the engine is in
            body["status"] = "degraded"
            body["engine_error"] = type(exc).__name__
        return json_response(body)

    async def _ready(self, request: web.Request) -> web.Response:
        ready = bool(self.engine.ready) and not self.draining
        return json_response({"ready": ready}, status=200 if ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        with contextlib.suppress(Exception):  # a scrape must not fail with the engine
            self.observability.observe_health(self.engine.health())
        response = web.Response(body=self.observability.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    async def _positions(self, request: web.Request) -> web.Response:
        return json_response({"positions": self.engine.positions()})

    async def _orders(self, request: web.Request) -> web.Response:
        text = request.query.get("open", "false").lower()
        if text not in {"true", "false", "1", "0"}:
            return json_error(400, "invalid query", field="open", expected="true or false")
        return json_response({"orders": self.engine.orders(open_only=text in {"true", "1"})})

    async def _fills(self, request: web.Request) -> web.Response:
        try:
            since = _int_query(request, "since")
            limit = _int_query(request, "limit", low=1, high=_MAX_FILLS)
        except BodyError as exc:
            return json_error(400, str(exc), field=exc.field, expected=exc.expected)
        fills = self.engine.fills(since_ts=since, limit=1000 if limit is None else limit)
        return json_response({"fills": fills})

    async def _risk(self, request: web.Request) -> web.Response:
        return json_response(self.engine.risk())

    async def _strategies(self, request: web.Request) -> web.Response:
        listing = getattr(self.engine, "list_strategies", None)  # not every handle has them
        return json_response({"strategies": [] if listing is None else listing()})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        self.counts["sse_streams"] += 1
        try:
            return await stream_events(
                request, self.engine, self.hub, self.settings.stream_settings()
            )
        finally:
            if task is not None:
                self._streams.discard(task)

    # -- mutations ---------------------------------------------------------------------------

    async def _kill(self, request: web.Request) -> web.Response:
        async def act(operator: str, body: bytes) -> Mapping[str, Any]:
            kill = decode_body(_kill_decoder, body or b"{}", what="kill request")
            return await self.engine.kill(operator=operator, flatten=kill.flatten)

        return await self._mutate(request, "kill", act)

    async def _reset(self, request: web.Request) -> web.Response:
        return await self._mutate(
            request, "reset", lambda operator, _: self.engine.reset(operator=operator)
        )

    async def _pause(self, request: web.Request) -> web.Response:
        return await self._mutate(
            request, "pause", lambda operator, _: self.engine.pause(operator=operator)
        )

    async def _resume(self, request: web.Request) -> web.Response:
        return await self._mutate(
            request, "resume", lambda operator, _: self.engine.resume(operator=operator)
        )

    async def _flatten(self, request: web.Request) -> web.Response:
        return await self._mutate(
            request, "flatten", lambda operator, _: self.engine.flatten(operator=operator)
        )

    async def _submit(self, request: web.Request) -> web.Response:
        async def act(operator: str, body: bytes) -> Mapping[str, Any]:
            order = decode_body(_order_decoder, body, what="order")
            return await self.engine.submit_manual(order, operator=operator)

        return await self._mutate(request, "manual_order", act)

    async def _mutate(
        self,
        request: web.Request,
        command: str,
        act: Callable[[str, bytes], Awaitable[Mapping[str, Any]]],
    ) -> web.Response:
        """Authenticate, then decode and act: a refused request never reads its body."""
        if self.draining:
            self.counts["refused"] += 1
            return json_error(503, "the service is draining", expected="a running service")
        operator = self.auth.operator_for(request)
        if isinstance(operator, web.Response):
            self.counts["refused"] += 1
            log.warning("operator_command_refused", command=command, status=operator.status)
            return operator
        try:
            result = await act(operator, await request.read())
        except BodyError as exc:
            return json_error(400, str(exc), field=exc.field, expected=exc.expected)
        except RiskRejected as exc:
            log.info("operator_command_rejected", command=command, check=exc.check)
            return json_response(
                {"error": "rejected by the risk gate", "check": exc.check, "detail": exc.detail},
                status=422,
            )
        except HouseEdgeError as exc:
            log.warning("operator_command_failed", command=command, error=type(exc).__name__)
            return json_error(409, f"{type(exc).__name__}: {exc}")
        self.counts["mutations"] += 1
        if result.get("accepted") is False:
            # The engine answers a refused manual order with its outcome instead of raising.
            log.info("operator_command_rejected", command=command, check=result.get("check"))
            return json_response({"error": "rejected by the risk gate", **result}, status=422)
        log.info("operator_command", command=command, operator=operator)
        return json_response(result)

    mutate = _mutate  # the routes of sibling modules authenticate through the same path


def _int_query(
    request: web.Request, name: str, *, low: int = -(2**63), high: int = 2**63 - 1
) -> int | None:
    """Return an integer query parameter (None when absent); raise BodyError if invalid."""
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        expected = f"an integer from {low} to {high}"
        raise BodyError(f"invalid query parameter {name}", field=name, expected=expected)
    return value


def _safe_len(read: Callable[[], Any]) -> int | None:
    try:
        return len(read())
    except Exception:  # a count in a log line must not stop the drain
        return None


async def run_service(
    engine: EngineHandle,
    settings: ServiceSettings | None = None,
    *,
    observability: Observability | None = None,
    stop_engine: StopEngine | None = None,
    stop: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Serve ``engine`` until SIGTERM or SIGINT (or ``stop`` is set), then drain.

    Returns the drain counts; the caller exits 0 after a drain.
    """
    service = Service(engine, settings, observability=observability, stop_engine=stop_engine)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await service.start()
        await stop.wait()
        log.info("service_stopping")
        return await service.drain()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
