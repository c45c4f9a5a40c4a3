"""``BinanceBroker``: the live engine's :class:`~houseedge.core.broker.Broker` on python-binance.

Orders go through signed REST with our ``client_order_id`` as ``newClientOrderId``; the symbol
filters are checked first (a breach is an ``OrderRejected`` report naming the filter). The
answer (``FULL``) is reported at once: the ack, and the fills it carries. The user stream
(:mod:`~houseedge.adapters.binance.userstream`) reports the rest; every gap in it is closed by a
REST sweep (:mod:`~houseedge.adapters.binance.reconcile`); every fill, whatever its source,
passes one de-duplication by ``"<symbol>:<trade id>"``.

Idempotency
    ``-2010 Duplicate order sent.`` means the order exists: it is looked up by
    ``origClientOrderId`` and reported, never sent again. A lost answer (timeout, 5xx, -1007)
    means the outcome is unknown: the order is looked up first and sent again (same id) only
    when Binance does not know it.
Endpoints
    ``BinanceConfig.api_url`` / ``ws_api_url`` / ``futures_url`` override python-binance's class
    attributes on a subclass made per broker (they are read in ``__init__``); the REST roles
    switch between spot and USD-M futures through
    :data:`~houseedge.adapters.binance.config.ENDPOINTS`. The USD-M user stream (listenKey,
    ``ORDER_TRADE_UPDATE``) is not implemented: ``connect`` refuses ``market="usdm"``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from houseedge import logs
from houseedge.adapters.binance._lib import client_class, close_client, create_client
from houseedge.adapters.binance._rest import BinanceRest
from houseedge.adapters.binance.config import BinanceConfig
from houseedge.adapters.binance.errors import (
    BinanceAuthError,
    BinanceOrderRejected,
    BinanceUnavailable,
)
from houseedge.adapters.binance.filters import SymbolFilters, parse_exchange_info
from houseedge.adapters.binance.mapping import (
    NANOS_PER_MS,
    fill_from_report,
    fill_id,
    order_params,
    report_from_execution,
    snapshot_from_rest,
    status_report,
)
from houseedge.adapters.binance.ratelimit import RateLimiter
from houseedge.adapters.binance.reconcile import Reconciler
from houseedge.adapters.binance.schemas import (
    ExecutionReport,
    OutboundAccountPosition,
    RestOrder,
    decode_user_event,
)
from houseedge.adapters.binance.userstream import UserStream
from houseedge.core.broker import Account, BrokerEvent, DuplicateOrder, OrderNotFound, OrderSnapshot
from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderCancelled,
    OrderRejected,
    Position,
    Side,
)
from houseedge.errors import ConfigError
from houseedge.live.instruments import Instruments

__all__ = ["BinanceBroker"]


class BinanceBroker:
    """Binance spot through python-binance, with gap-free fills.

    Parameters
    ----------
    config
        Keys, endpoints, symbols and patience (:class:`BinanceConfig`).
    """

    def __init__(self, config: BinanceConfig) -> None:
        self.config = config
        self.symbols = list(config.symbols)
        self.limiter = RateLimiter(
            max_attempts=config.max_attempts, max_backoff=config.backoff_max_seconds
        )
        self.marks: dict[str, float] = {}
        """Last prices (fills and the feed): min-notional checks of market orders, equity."""
        self.client: Any = None
        self.rest: BinanceRest | None = None
        self.filters: dict[str, SymbolFilters] = {}
        self.reconciler: Reconciler | None = None
        self.stream: UserStream | None = None
        self._queue: asyncio.Queue[BrokerEvent | None] = asyncio.Queue()
        self._symbol_of: dict[str, str] = {}
        self.log = logs.get_logger("houseedge.adapters.binance", broker="binance")

    @property
    def name(self) -> str:
        """Return ``"binance"``."""
        return "binance"

    # -- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Create the client, load the filters, set the trade cursors, subscribe."""
        if self.config.market != "spot":
            msg = "binance: the USD-M user stream (listenKey) is not implemented; use spot"
            raise ConfigError(msg)
        session = {"trace_configs": [self.limiter.trace_config()]}
        cfg = self.config
        cls = client_class(cfg)
        key, secret = cfg.api_key.get_secret_value(), cfg.api_secret.get_secret_value()
        self.client = await self.limiter.call(
            lambda: create_client(cls, key, secret, session), what="connect"
        )
        try:
            await self._start()
        except BaseException:
            await close_client(self.client)
            raise
        self.log.info("binance.connected", symbols=self.symbols)

    async def _start(self) -> None:
        cfg = self.config
        self.rest = BinanceRest(self.client, self.limiter, cfg.market)
        known = parse_exchange_info(await self.rest.exchange_info())
        missing = sorted(set(self.symbols) - set(known))
        if missing:
            msg = f"binance: symbols not listed by exchangeInfo: {missing}"
            raise ConfigError(msg)
        self.filters = {s: known[s] for s in self.symbols}
        self.reconciler = Reconciler(self.rest, self.filters)
        await self.reconciler.start(self.symbols)
        self.stream = UserStream(
            self.client,
            on_event=self._on_user_event,
            on_gap=self._on_gap,
            staleness=cfg.staleness_seconds,
            timeout=cfg.resubscribe_timeout_seconds,
        )
        await self.stream.start()

    async def close(self) -> None:
        """Unsubscribe, close the client and end the report stream."""
        if self.stream is not None:
            await self.stream.close()
        if self.client is not None:
            await close_client(self.client)
        self._queue.put_nowait(None)

    def instruments(self) -> Instruments:
        """Return the ledger's instruments (lot step, tick) from the filters (after connect)."""
        return Instruments(f.instrument() for f in self.filters.values())

    # -- orders -----------------------------------------------------------------------------

    async def submit(self, order: Order) -> None:
        """Send ``order``; a breach of a filter or a refusal is reported as ``rejected``."""
        cid = order.client_order_id
        try:
            filters = self.filters.get(order.symbol)
            if filters is None:
                msg = f"order {cid}: symbol {order.symbol} is not traded by this broker"
                raise BinanceOrderRejected(msg)
            filters.check(order, last_price=self.marks.get(order.symbol))
            params = order_params(order)
        except BinanceOrderRejected as exc:
            self.log.warning("binance.order_refused", order_id=cid, reason=str(exc))
            self._emit(OrderRejected(order_id=cid, ts=self._now(), reason=str(exc)))
            return
        self._symbol_of[cid] = order.symbol
        await self._send(order, params)

    async def _send(self, order: Order, params: dict[str, Any]) -> None:
        cid = order.client_order_id
        for attempt in range(1, self.config.max_attempts + 1):
            try:
                answer = await self._rest.create_order(params)
            except DuplicateOrder:
                self.log.info("binance.duplicate_order", order_id=cid)
                await self._resolve(order.symbol, cid)
                return
            except BinanceAuthError as exc:  # refused before it was processed: not placed
                if exc.code == -1021 and attempt < self.config.max_attempts:
                    await self.resync_clock()
                    continue
                self.log.error("binance.order_auth_refused", order_id=cid, code=exc.code)
                self._emit(OrderRejected(order_id=cid, ts=self._now(), reason=str(exc)))
                return
            except BinanceOrderRejected as exc:
                self._emit(OrderRejected(order_id=cid, ts=self._now(), reason=str(exc)))
                return
            except BinanceUnavailable as exc:  # the order may or may not exist: ask first
                self.log.warning(
                    "binance.submit_unknown", order_id=cid, attempt=attempt, error=str(exc)
                )
                if await self._resolve(order.symbol, cid):
                    return
                if attempt == self.config.max_attempts:
                    raise
                continue
            self._on_order_answer(answer)
            return

    async def resync_clock(self) -> None:
        """Measure the offset to Binance's clock again (after -1021, a stale timestamp)."""
        answer = await self._rest.call("server_time")
        self.client.timestamp_offset = answer["serverTime"] - time.time_ns() // NANOS_PER_MS
        self.log.info("binance.clock_resynced", offset_ms=self.client.timestamp_offset)

    async def _resolve(self, symbol: str, cid: str) -> bool:
        """Report an order found by our id, with its trades; False when Binance lacks it."""
        found = await self._rest.get_order(symbol, cid)
        if found is None:
            return False
        self._note(found)
        trades = await self._rest.my_trades(symbol, order_id=found.order_id)
        fills = await self._reconciler.fills_of(symbol, trades)
        for fill in fills:
            self._emit_fill(fill)
        report = status_report(found)
        if report is not None:
            self._emit(report)
        return True

    def _on_order_answer(self, answer: dict[str, Any]) -> None:
        order = msgspec.convert(answer, RestOrder)
        self._note(order)
        report = status_report(order)
        filters = self.filters[order.symbol]
        ts = order.transact_time * NANOS_PER_MS
        if report is not None:
            self._emit(report)
        for part in answer.get("fills", []):
            price = Decimal(part["price"])
            commission = Decimal(part["commission"])
            fee = commission if part.get("commissionAsset") == filters.quote_asset else Decimal(0)
            self._emit_fill(
                Fill(
                    fill_id=fill_id(order.symbol, int(part["tradeId"])),
                    order_id=order.client_order_id,
                    symbol=order.symbol,
                    side=Side(order.side.lower()),
                    qty=float(Decimal(part["qty"])),
                    price=float(price),
                    fee=float(fee),
                    ts=ts,
                )
            )

    def _note(self, order: RestOrder) -> None:
        self._reconciler.remember(order.symbol, order.order_id, order.client_order_id, order.status)

    async def cancel(self, client_order_id: str) -> None:
        """Ask Binance to cancel; the outcome is a ``cancelled`` or ``cancel_rejected`` report."""
        symbol = self._symbol_of.get(client_order_id) or self._reconciler.open.get(client_order_id)
        now = self._now()
        if symbol is None:
            self._emit(CancelRejected(order_id=client_order_id, ts=now, reason="unknown order"))
            return
        try:
            await self._rest.cancel(symbol, client_order_id)
        except OrderNotFound as exc:
            self._emit(CancelRejected(order_id=client_order_id, ts=now, reason=str(exc)))
            return
        except BinanceUnavailable as exc:  # the sweep after the next gap settles it
            self._emit(CancelRejected(order_id=client_order_id, ts=now, reason=str(exc)))
            return
        self._reconciler.open.pop(client_order_id, None)
        self._emit(OrderCancelled(order_id=client_order_id, ts=self._now()))

    async def replace(self, client_order_id: str, new: Order) -> None:
        """Cancel ``client_order_id``, then send ``new`` (Binance spot has no atomic amend)."""
        await self.cancel(client_order_id)
        await self.submit(new)

    # -- the report stream ------------------------------------------------------------------

    def reports(self) -> AsyncIterator[BrokerEvent]:
        """Return the reports and fills, each fill once (ends after :meth:`close`)."""
        return self._stream()

    async def _stream(self) -> AsyncIterator[BrokerEvent]:
        while (report := await self._queue.get()) is not None:
            yield report

    def _emit(self, report: BrokerEvent) -> None:
        self._queue.put_nowait(report)

    def _emit_fill(self, fill: Fill) -> None:
        if self._reconciler.accept(fill):
            self.marks[fill.symbol] = fill.price
            self._emit(fill)

    async def _on_user_event(self, message: dict[str, Any]) -> None:
        try:
            event = decode_user_event(message)
        except msgspec.ValidationError as exc:  # whatever it said is recovered over REST
            self.log.warning("binance.malformed_event", kind=str(message.get("e")), error=str(exc))
            await self._on_gap("malformed_event")
            return
        if isinstance(event, ExecutionReport):
            self._on_execution(event)
        elif isinstance(event, OutboundAccountPosition):
            self.log.debug("binance.balances", assets=[b.asset for b in event.balances])

    def _on_execution(self, event: ExecutionReport) -> None:
        if event.symbol not in self.filters:
            return
        self._reconciler.remember(
            event.symbol,
            event.order_id,
            event.orig_client_order_id or event.client_order_id,
            event.status,
        )
        if event.execution_type == "TRADE":
            f = self.filters[event.symbol]
            self._emit_fill(fill_from_report(event, base=f.base_asset, quote=f.quote_asset))
            return
        report = report_from_execution(event)
        if report is not None:
            self._emit(report)

    async def _on_gap(self, reason: str) -> None:
        self.log.info("binance.sweep", reason=reason)
        for event in await self._reconciler.sweep(self.symbols):
            self._emit(event)

    # -- state ------------------------------------------------------------------------------

    async def open_orders(self) -> Sequence[OrderSnapshot]:
        """Return the orders working at Binance in the broker's symbols."""
        out: list[OrderSnapshot] = []
        for symbol in self.symbols:
            out += [snapshot_from_rest(o) for o in await self._rest.open_orders(symbol)]
        return out

    async def positions(self) -> dict[str, Position]:
        """Return each symbol's base-asset balance (free + locked) as its position."""
        balances = {b.asset: b.free + b.locked for b in (await self._rest.account()).balances}
        out: dict[str, Position] = {}
        for symbol, f in self.filters.items():
            qty = balances.get(f.base_asset, Decimal(0))
            if qty != 0:
                out[symbol] = Position(symbol=symbol, qty=float(qty))
        return out

    async def account(self) -> Account:
        """Return the quote-asset cash and the equity at the last known prices."""
        balances = {b.asset: b.free + b.locked for b in (await self._rest.account()).balances}
        quote = self.config.quote_asset
        cash = float(balances.get(quote, Decimal(0)))
        held = sum(
            float(balances.get(f.base_asset, 0)) * self.marks.get(s, 0.0)
            for s, f in self.filters.items()
        )
        return Account(cash=cash, equity=cash + held, currency=quote)

    async def orders_since(self, since_ts: int) -> Sequence[OrderSnapshot]:
        """Return every order created or updated at or after ``since_ts`` (``allOrders``)."""
        return await self._reconciler.orders_since(self.symbols, since_ts)

    async def fills_since(self, since_ts: int) -> Sequence[Fill]:
        """Return every fill at or after ``since_ts`` (``myTrades``)."""
        return await self._reconciler.fills_since(self.symbols, since_ts)

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _rest(self) -> BinanceRest:
        if self.rest is None:
            msg = "the Binance broker is not connected"
            raise RuntimeError(msg)
        return self.rest

    @property
    def _reconciler(self) -> Reconciler:
        if self.reconciler is None:
            msg = "the Binance broker is not connected"
            raise RuntimeError(msg)
        return self.reconciler

    def _now(self) -> int:
        """Return Binance's clock (ours corrected by the offset measured at connect), in ns."""
        offset = int(getattr(self.client, "timestamp_offset", 0) or 0)
        return (time.time_ns() // NANOS_PER_MS + offset) * NANOS_PER_MS
