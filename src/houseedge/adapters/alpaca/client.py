"""The Alpaca :class:`~houseedge.core.broker.Broker`: alpaca-py's REST and stream clients.

Orders
    ``TradingClient`` (synchronous, so every call runs in a thread) with our
    ``client_order_id``. A 422 duplicate (the venue has that id; e.g. alpaca-py retried a POST
    whose first attempt committed behind a 504) is resolved by looking the order up by client
    order id, never by submitting again; a submit that timed out or met a 5xx is looked up the
    same way before it is called failed. Market, limit, stop, stop-limit (the order's type) and
    trailing stop (``submit(order, trail=TrailingStop(...))``, a market order trailing by
    ``amount`` dollars or ``percent``); day, gtc, ioc, fok; cancel and
    replace (``PATCH``; the old order ends ``replaced``, reported as cancelled).
Reports
    From the trade_updates WebSocket or the SSE events endpoint (:mod:`.stream`), decoded by
    msgspec (:mod:`.schemas`) and mapped (:mod:`.mapping`). Fills are de-duplicated by execution
    id here (the journal is the backstop); status reports once per kind per order.
Gaps
    No stream replays a gap. After every (re)connect, when the stream is stale (no message or
    heartbeat for ``staleness_seconds``: it is also reconnected) and after a malformed event, the
    REST reconciliation (:mod:`.reconcile`) runs from a margin before the last good message, and
    what the stream missed is reported: each recovered fill once, with a ``reconciliation`` event.
Events
    Anomalies and stream changes are logged (structlog, bound ``broker="alpaca"``) and emitted as
    engine events ``(kind, payload, ts)`` through the sink given to :meth:`AlpacaBroker.bind_events`
    (held until one is bound); ``emitted`` keeps them all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

import msgspec
from alpaca.trading import requests as rq
from alpaca.trading.enums import QueryOrderStatus

from houseedge import logs
from houseedge.adapters.alpaca import mapping
from houseedge.adapters.alpaca._events import AlpacaStats, EventSink, EventSpec, Outbox
from houseedge.adapters.alpaca._rest import ORDER_REQUESTS, make_trading_client, status_report
from houseedge.adapters.alpaca.config import AlpacaConfig
from houseedge.adapters.alpaca.reconcile import Reconciler, call
from houseedge.adapters.alpaca.schemas import (
    OrderMsg,
    decode_event_json,
    decode_order,
    decode_update,
)
from houseedge.adapters.alpaca.stream import SseUpdates, WebSocketUpdates
from houseedge.core.broker import (
    Account,
    BrokerEvent,
    DuplicateOrder,
    OrderNotFound,
    OrderSnapshot,
    TrailingStop,
)
from houseedge.core.execution import OrderStatus
from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderCancelled,
    OrderRejected,
    Position,
)
from houseedge.errors import BrokerError, BrokerUnavailable
from houseedge.errors import OrderRejected as OrderRefused

__all__ = ["AlpacaBroker", "AlpacaStats", "make_trading_client"]

_DONE: Final = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
_ONCE: Final = frozenset({"accepted", "cancelled", "expired", "rejected"})


class AlpacaBroker:
    """A :class:`~houseedge.core.broker.Broker` trading through Alpaca (see the module doc).

    Parameters
    ----------
    config
        Credentials, endpoints and the stream's knobs.
    """

    def __init__(self, config: AlpacaConfig) -> None:
        self.config = config
        self._rest = make_trading_client(config)
        self.venue = Reconciler(make_trading_client(config))  # queries, on their own session
        self.stats = AlpacaStats()
        self.outbox = Outbox("alpaca")
        self.log = logs.get_logger("houseedge.adapters.alpaca", broker="alpaca")
        self._out: asyncio.Queue[BrokerEvent | None] = asyncio.Queue()
        self._seen: set[str] = set()
        self._reported: dict[str, set[str]] = {}
        self._working: dict[str, None] = {}
        self._last_message_ns = time.time_ns()
        self._pending: tuple[int, str] | None = None
        self._wake = asyncio.Event()
        self._stream: WebSocketUpdates | SseUpdates | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def name(self) -> str:
        """Return ``"alpaca"``."""
        return "alpaca"

    # -- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Check the credentials, start the stream, the reconciler and the staleness watchdog."""
        await self.venue.account()  # fails fast (BrokerError) on bad keys or an unreachable host
        self._last_message_ns = time.time_ns()
        kind = SseUpdates if self.config.stream == "sse" else WebSocketUpdates
        self._stream = kind(self.config, self._on_update, self._on_stream)
        await self._stream.start()
        spawn = asyncio.get_running_loop().create_task
        self._tasks = [spawn(self._reconciler()), spawn(self._watchdog())]
        try:
            await asyncio.wait_for(
                self._stream.connected.wait(), self.config.connect_timeout_seconds
            )
        except TimeoutError:
            self._anomaly("stream_not_connected", stream=self.config.stream)

    async def close(self) -> None:
        """Stop the stream and the background tasks; end :meth:`reports`."""
        if self._stream is not None:
            await self._stream.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._out.put_nowait(None)

    def bind_events(self, sink: EventSink) -> None:
        """Send anomaly and stream events to ``sink`` (e.g. the engine's ``book.events``)."""
        self.outbox.bind(sink)

    @property
    def emitted(self) -> list[EventSpec]:
        """Return every engine event the broker reported, bound or held."""
        return self.outbox.emitted

    async def reports(self) -> AsyncIterator[BrokerEvent]:
        """Yield order reports and fills until :meth:`close`."""
        while (report := await self._out.get()) is not None:
            yield report

    # -- orders -----------------------------------------------------------------------------

    async def submit(self, order: Order, *, trail: TrailingStop | None = None) -> None:
        """Submit ``order`` (idempotent on its client order id); see the module doc."""
        cid = order.client_order_id
        try:
            fields = mapping.order_fields(order, trail)
            request = ORDER_REQUESTS[fields.pop("type")](**fields)
        except ValueError as exc:  # includes pydantic's refusal of the request
            self._refused(cid, f"unsupported order: {exc}")
            raise OrderRefused(f"alpaca submit {cid}: {exc}") from exc
        self._working[cid] = None
        try:
            raw = await call("submit", self._rest.submit_order, request)
        except DuplicateOrder:
            raw = await self._resolve_duplicate(cid)
        except OrderRefused as exc:
            self._refused(cid, str(exc))
            raise
        except BrokerUnavailable as exc:  # the outcome is unknown: ask before calling it failed
            self.log.warning("order.submit_unknown", order_id=cid, error=str(exc))
            try:
                found = await self.venue.order_by_client_id(cid)
            except (OrderNotFound, BrokerUnavailable):
                raise exc from None
            raw = msgspec.to_builtins(found)
        self._acknowledged(decode_order(raw))

    async def _resolve_duplicate(self, cid: str) -> Any:
        order = await self.venue.order_by_client_id(cid)
        self.stats.duplicate_submits += 1
        self._anomaly(
            "duplicate_submit_resolved",
            order_id=cid,
            venue_order_id=str(order.id),
            status=order.status,
        )
        return msgspec.to_builtins(order)

    def _refused(self, cid: str, reason: str) -> None:
        self._working.pop(cid, None)
        self._emit(OrderRejected(order_id=cid, ts=time.time_ns(), reason=reason[:200]))

    def _acknowledged(self, order: OrderMsg) -> None:
        self.venue.remember(order)
        report = status_report(mapping.snapshot(order))
        if report is not None and not isinstance(report, OrderRejected | OrderCancelled):
            self._emit(report)  # outcomes come from the stream, in order with their fills

    async def _venue_id(self, cid: str) -> str:
        known = self.venue.venue_ids.get(cid)
        return known if known is not None else str((await self.venue.order_by_client_id(cid)).id)

    async def cancel(self, client_order_id: str) -> None:
        """Ask Alpaca to cancel; a refusal (filled, unknown) is reported as ``cancel_rejected``."""
        try:
            venue_id = await self._venue_id(client_order_id)
            await call("cancel", self._rest.cancel_order_by_id, venue_id)
        except (OrderRefused, OrderNotFound) as exc:
            self._emit(
                CancelRejected(order_id=client_order_id, ts=time.time_ns(), reason=str(exc)[:200])
            )

    async def replace(
        self, client_order_id: str, new: Order, *, trail: TrailingStop | None = None
    ) -> None:
        """Replace a working order by ``new`` (its own client id; quantity, prices, tif)."""
        venue_id = await self._venue_id(client_order_id)
        request = rq.ReplaceOrderRequest(**mapping.replace_fields(new, trail))
        self._working[new.client_order_id] = None
        try:
            raw = await call("replace", self._rest.replace_order_by_id, venue_id, request)
        except DuplicateOrder:
            raw = await self._resolve_duplicate(new.client_order_id)
        except (OrderRefused, OrderNotFound) as exc:
            self._refused(new.client_order_id, str(exc))
            raise
        self._acknowledged(decode_order(raw))

    # -- queries ----------------------------------------------------------------------------

    async def open_orders(self) -> Sequence[OrderSnapshot]:
        """Return the orders working at Alpaca."""
        return await self.venue.snapshots(QueryOrderStatus.OPEN, None)

    async def orders_since(self, since_ts: int) -> Sequence[OrderSnapshot]:
        """Return the orders submitted at or after ``since_ts`` (any status)."""
        return await self.venue.snapshots(QueryOrderStatus.ALL, since_ts - 1)

    async def fills_since(self, since_ts: int) -> Sequence[Fill]:
        """Return the fills at or after ``since_ts`` (FILL activities)."""
        return await self.venue.fills(since_ts - 1)

    async def positions(self) -> dict[str, Position]:
        """Return Alpaca's positions by symbol."""
        return await self.venue.positions()

    async def account(self) -> Account:
        """Return Alpaca's cash and equity."""
        return await self.venue.account()

    # -- the stream -------------------------------------------------------------------------

    async def _on_update(self, raw: Any) -> None:
        try:
            update = decode_event_json(raw) if isinstance(raw, bytes) else decode_update(raw)
            reports = mapping.reports(update)
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            # alpaca-py's own models would have dropped this one silently; the REST
            # reconciliation from just before it finds what it carried.
            self.stats.malformed += 1
            self._anomaly("malformed_event", error=str(exc)[:200])
            self._request_reconcile("malformed_event")
            return
        self._last_message_ns = time.time_ns()
        self.venue.remember(update.order)
        for report in reports:
            self._emit(report)
        if update.order.status in _DONE:
            self._working.pop(update.order.client_order_id, None)

    def _on_stream(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "connected":
            self.stats.connections += 1
            self.log.info("stream.connected", stream=self.config.stream, **payload)
            self._event("broker", {"event": "stream_connected", **payload})
            self._request_reconcile("connected")
        elif kind == "gap":
            self._anomaly("stream_gap", **payload)
            self._request_reconcile("gap")
        else:
            self.log.warning("stream.trouble", kind=kind, **payload)

    def _emit(self, report: BrokerEvent) -> None:
        if isinstance(report, Fill):
            if report.fill_id in self._seen:
                self.stats.duplicate_fills += 1
                return
            self._seen.add(report.fill_id)
            self.stats.fills += 1
        else:
            kind = str(type(report).__struct_config__.tag)
            done = self._reported.setdefault(report.order_id, set())
            if kind in _ONCE and kind in done:
                return
            done.add(kind)
        self._out.put_nowait(report)

    # -- reconciliation and staleness -------------------------------------------------------

    def _request_reconcile(self, reason: str) -> None:
        since = self._last_message_ns - round(self.config.reconcile_margin_seconds * 1e9)
        if self._pending is not None:
            since = min(since, self._pending[0])
        self._pending = (since, reason)
        self._wake.set()

    async def _reconciler(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending is None:
                continue
            (since, reason), self._pending = self._pending, None
            try:
                await self._reconcile(since, reason)
            except BrokerError as exc:  # REST down too: try again shortly from the same point
                self.log.warning("reconciliation.failed", reason=reason, error=str(exc))
                await asyncio.sleep(min(1.0, self.config.staleness_seconds))
                self._pending = (
                    (since, reason)
                    if self._pending is None
                    else (min(since, self._pending[0]), reason)
                )
                self._wake.set()

    async def _reconcile(self, since: int, reason: str) -> None:
        fills, snaps = await self.venue.gap(since, list(self._working))
        self.stats.reconciliations += 1
        if any(f.fill_id not in self._seen for f in fills):
            # A live stream delivers within milliseconds: give it that long before calling a
            # fill missing, so a healthy stream's fills are not reported as recovered.
            await asyncio.sleep(self.config.reconcile_settle_seconds)
        missing = [f for f in sorted(fills, key=lambda f: f.ts) if f.fill_id not in self._seen]
        for fill in missing:
            self.stats.recovered_fills += 1
            self.log.warning(
                "reconciliation.missing_fill",
                fill_id=fill.fill_id,
                order_id=fill.order_id,
                symbol=fill.symbol,
                trigger=reason,
            )
            self._event(
                "reconciliation",
                {"kind": "missing_fill", "trigger": reason, **msgspec.to_builtins(fill)},
            )
            self._emit(fill)
        for snap in snaps:
            report = status_report(snap)
            if report is not None:
                self._emit(report)
            if snap.status in (
                OrderStatus.FILLED,
                OrderStatus.CANCELLED,
                OrderStatus.EXPIRED,
                OrderStatus.REJECTED,
            ):
                self._working.pop(snap.client_order_id, None)
        if missing:
            self._anomaly("stream_missed_fills", count=len(missing), trigger=reason)
        self.log.info(
            "reconciliation.done",
            trigger=reason,
            since=since,
            venue_fills=len(fills),
            recovered=len(missing),
            orders=len(snaps),
        )

    async def _watchdog(self) -> None:
        limit = self.config.staleness_seconds
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            stream = self._stream
            if stream is None or time.monotonic() - stream.last_seen <= limit:
                continue
            self.stats.stale += 1
            age = round(time.monotonic() - stream.last_seen, 3)
            self.log.info("stream.stale", age_s=age, stream=self.config.stream)
            self._event("broker", {"event": "stream_stale", "age_s": age})
            self._request_reconcile("stale")
            await stream.restart()

    # -- events -----------------------------------------------------------------------------

    def _anomaly(self, reason: str, **fields: Any) -> None:
        self.log.warning("anomaly", reason=reason, **fields)
        self._event("anomaly", {"reason": reason, **fields})

    def _event(self, kind: str, payload: dict[str, Any]) -> None:
        self.outbox.event(kind, payload)
