"""The Interactive Brokers :class:`~houseedge.core.broker.Broker` on ib-async.

Reports
    Order state comes from ``openOrder``/``orderStatus`` (accepted, cancelled, rejected: each
    once per order); fills from ``execDetails`` completed by their ``commissionReport`` (the
    fee), each once per ``execId``. A rejection (error 201) arrives as a Cancelled status whose
    log entry carries the code, and is reported as a rejection.
Connection
    ib-async neither reconnects nor replays: on a loss its trades and fills are wiped. The
    adapter reconnects with backoff (:mod:`~houseedge.adapters.ib.reconnect`) and reconciles
    after every reconnect, after TWS regains IB (1101/1102), periodically, and when an order's
    reported filled quantity runs ahead of the fills seen (a lost execDetails).
Idempotency
    IB has none: an order's ``orderRef`` carries our client order id, and a submit whose outcome
    is unknown (the socket dropped before TWS echoed it) is looked up by ``orderRef`` in open
    orders, completed orders and executions before it is sent again.
Logging
    structlog events under ``houseedge.adapters.ib``; the account id is masked everywhere,
    including ib-async's own log records (:class:`~houseedge.adapters.ib.mapping.AccountMask`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import ib_async

from houseedge import logs
from houseedge.adapters.ib import reconcile as _reconcile
from houseedge.adapters.ib._events import TwsEvents
from houseedge.adapters.ib._state import Reports, Tracked
from houseedge.adapters.ib.config import IbConfig
from houseedge.adapters.ib.contracts import ContractBook
from houseedge.adapters.ib.errors import ContractNotFound, translated
from houseedge.adapters.ib.mapping import (
    AccountMask,
    account_from,
    mask_account,
    order_ref,
    position_from,
)
from houseedge.adapters.ib.orders import modified, to_ib_order
from houseedge.adapters.ib.reconnect import Backoff, open_connection, reconnect
from houseedge.core.broker import Account, BrokerEvent, OrderNotFound, OrderSnapshot, TrailingStop
from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderCancelled,
    OrderRejected,
    OrderSubmitted,
    Position,
)
from houseedge.errors import BrokerError, BrokerUnavailable

__all__ = ["IbBroker"]

_LOGGERS = (
    "ib_async",
    "ib_async.client",
    "ib_async.wrapper",
    "ib_async.ib",
    "ib_async.Decoder",
    "ib_async.connection",
)


class IbBroker(TwsEvents):
    """A :class:`~houseedge.core.broker.Broker` trading through TWS or IB Gateway.

    Parameters
    ----------
    config
        Where TWS listens and how to keep the connection (:class:`IbConfig`).
    ib
        The ib-async client (a fresh ``IB()`` when None).
    """

    name = "ib"

    def __init__(self, config: IbConfig, *, ib: ib_async.IB | None = None) -> None:
        self.config = config
        self.ib = ib or ib_async.IB()
        self.contracts = ContractBook(config.contracts)
        self.orders: dict[str, Tracked] = {}
        self.reports_ = Reports()
        self.client_id = config.client_id
        self.account_id = config.account
        self.link_up = True
        self.reconnects = self.reconciliations = 0
        self.log = logs.get_logger("houseedge.adapters.ib")
        self._mask = AccountMask([config.account] if config.account else [])
        self._closing = False
        self._backoff = Backoff(
            config.backoff_initial_seconds, config.backoff_max_seconds, jitter=config.backoff_jitter
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnecting: asyncio.Task[None] | None = None
        self._reconcile_lock = asyncio.Lock()
        self._connected = asyncio.Event()

    # -- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect (``connect_attempts`` tries with backoff), wire events, reconcile."""
        for name in _LOGGERS:
            logging.getLogger(name).addFilter(self._mask)
        ib = self.ib
        ib.openOrderEvent += self._on_trade
        ib.orderStatusEvent += self._on_trade
        ib.execDetailsEvent += self._on_exec
        ib.commissionReportEvent += self._on_commission
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected
        client_id = await reconnect(
            self._open,
            self._backoff,
            closing=lambda: self._closing,
            log=self.log,
            attempts=self.config.connect_attempts,
        )
        self.log.info("ib.connected", client_id=client_id, account=mask_account(self.account_id))
        await self.reconcile("connect")
        if self.config.reconcile_interval_seconds > 0:
            self._spawn(self._periodic())

    async def _open(self) -> int:
        self._connected.clear()
        self.client_id = await open_connection(self.ib, self.config, self.log)
        accounts = self.ib.managedAccounts()
        self.account_id = self.config.account or (accounts[0] if accounts else "")
        self._mask.accounts.update(accounts)
        self.link_up = True
        self._connected.set()
        return self.client_id

    async def close(self) -> None:
        """Stop reconnecting and reconciling, disconnect, end the report stream."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.ib.disconnect()
        self.reports_.close()
        for name in _LOGGERS:
            logging.getLogger(name).removeFilter(self._mask)
        self.log.info("ib.closed", fills=self.reports_.fills, reconnects=self.reconnects)

    @property
    def connected(self) -> bool:
        """Return whether the API socket is up and ready."""
        return self.ib.isConnected() and self._connected.is_set()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_disconnected(self) -> None:
        self._connected.clear()
        for tracked in self.orders.values():
            if tracked.phase == "sent":
                tracked.phase = "unknown"
        if self._closing or (self._reconnecting and not self._reconnecting.done()):
            return
        self.log.warning("ib.disconnected", client_id=self.client_id)
        self._reconnecting = self._spawn(self._recover())

    async def _recover(self) -> None:
        # Loops: a loss while reconnecting or reconciling is this task's to handle (the
        # disconnect callback does not start a second one).
        while not self._closing:
            client_id = await reconnect(
                self._open, self._backoff, closing=lambda: self._closing, log=self.log
            )
            if client_id is None:
                return
            self.reconnects += 1
            self.log.info("ib.reconnected", client_id=client_id, reconnects=self.reconnects)
            await self.reconcile("reconnect")
            if self.connected:
                return

    async def _periodic(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.config.reconcile_interval_seconds)
            if self.connected:
                await self.reconcile("periodic")

    async def reconcile(self, reason: str) -> dict[str, int]:
        """Bring the report stream up to date with TWS (see :mod:`.reconcile`)."""
        async with self._reconcile_lock:
            if not self.connected:
                return {}
            try:
                summary = await _reconcile.run(self)
            except BrokerError as exc:  # the connection went mid-way: the next one reconciles
                self.log.warning("ib.reconcile_failed", reason=reason, error=str(exc))
                return {}
            self.reconciliations += 1
            self.log.info("ib.reconciled", reason=reason, **summary)
            return summary

    # -- orders -----------------------------------------------------------------------------

    async def submit(self, order: Order, *, trail: TrailingStop | None = None) -> None:
        """Send an order tagged ``orderRef = prefix + client_order_id``; idempotent on the id."""
        cid = order.client_order_id
        tracked = self.orders.get(cid)
        if tracked is not None and tracked.phase in ("sent", "placed"):
            return  # the venue has it (or will echo it): its reports are on the way
        if tracked is not None and tracked.phase == "unknown":
            await self.reconcile("unknown_submit")  # resolves it by orderRef, resending if absent
            return
        tracked = self.orders[cid] = Tracked(order=order, trail=trail)
        try:
            tracked.contract = await self.contracts.qualify(self.ib, order.symbol)
        except ContractNotFound as exc:
            self.reports_.status(OrderRejected(order_id=cid, reason=str(exc)), tracked, "rejected")
            return
        except BrokerUnavailable:
            return  # left unsent: sent after the reconnect's reconciliation
        ref = order_ref(self.config.order_ref_prefix, cid)
        tracked.ib_order = to_ib_order(order, ref, account=self.account_id, trail=trail)
        self.place(tracked)

    def place(self, tracked: Tracked) -> None:
        """Write a tracked order to the socket (left ``unsent`` when the socket is down)."""
        if not self.connected or tracked.ib_order is None or tracked.contract is None:
            return
        tracked.ib_order.orderId = 0  # a fresh id: one used before is refused (error 103)
        tracked.ib_order.permId = 0
        try:
            self.ib.placeOrder(tracked.contract, tracked.ib_order)
        except ConnectionError:
            tracked.phase = "unknown"  # maybe written: never resend without a lookup
            return
        tracked.phase = "sent"
        cid = tracked.order.client_order_id
        self.reports_.status(OrderSubmitted(order_id=cid), tracked, "submitted")
        self.log.info(
            "ib.order_sent",
            order_id=cid,
            symbol=tracked.order.symbol,
            ib_order_id=tracked.ib_order.orderId,
        )

    async def cancel(self, client_order_id: str) -> None:
        """Ask TWS to cancel one of our orders; the outcome arrives as a report."""
        tracked = self.orders.get(client_order_id)
        if tracked is None:  # not ours, or unknown: nothing to cancel
            reason = "unknown order"
            self.reports_.queue.put_nowait(CancelRejected(order_id=client_order_id, reason=reason))
            return
        if tracked.ib_order is None or tracked.phase == "unsent":
            tracked.phase = "cancelled_unsent"
            self.reports_.status(OrderCancelled(order_id=client_order_id), tracked, "cancelled")
            return
        with translated("cancel"):
            self.ib.cancelOrder(tracked.ib_order)

    async def modify(
        self,
        client_order_id: str,
        *,
        qty: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> None:
        """Change a working order in place (same orderId and orderRef): IB's modify."""
        tracked = self.orders.get(client_order_id)
        if tracked is None or tracked.ib_order is None or tracked.contract is None:
            msg = f"ib modify: order {client_order_id} is not at the venue"
            raise OrderNotFound(msg)
        new = modified(tracked.ib_order, qty=qty, limit_price=limit_price, stop_price=stop_price)
        with translated("modify"):
            self.ib.placeOrder(tracked.contract, new)
        tracked.ib_order = new

    async def replace(self, client_order_id: str, new: Order) -> None:
        """Cancel ``client_order_id`` and, once TWS confirms, submit ``new``.

        When the old order filled first, ``new`` is rejected (``replaced_order_closed``).
        """
        await self.cancel(client_order_id)
        self._spawn(self._replace_after(client_order_id, new))

    async def _replace_after(self, old_id: str, new: Order) -> None:
        tracked = self.orders.get(old_id)
        for _ in range(200):
            if tracked is None or {"cancelled", "rejected"} & tracked.reported:
                await self.submit(new)
                return
            if tracked.booked_qty >= float(tracked.order.qty):
                break
            await asyncio.sleep(0.05)
        fresh = self.orders[new.client_order_id] = Tracked(order=new, phase="closed")
        closed = OrderRejected(order_id=new.client_order_id, reason="replaced_order_closed")
        self.reports_.status(closed, fresh, "rejected")

    def reports(self) -> AsyncIterator[BrokerEvent]:
        """Return the stream of order reports and fills."""
        return self.reports_.stream()

    # -- queries ----------------------------------------------------------------------------

    async def open_orders(self) -> Sequence[OrderSnapshot]:
        """Return our orders still working at TWS."""
        snapshots = await self.orders_since(0)
        return [
            s
            for s in snapshots
            if s.status.value in ("accepted", "partially_filled", "submitted", "cancel_requested")
        ]

    async def orders_since(self, since_ts: int) -> Sequence[OrderSnapshot]:
        """Return our open and completed orders TWS knows (it keeps the current day's)."""
        async with self._reconcile_lock:  # ib-async keys these requests by name, not id
            return await _reconcile.snapshots(self)

    async def fills_since(self, since_ts: int) -> Sequence[Fill]:
        """Return our executions at or after ``since_ts`` with their commissions."""
        async with self._reconcile_lock:
            fills = await _reconcile.executions(self, since_ts)
        return [f for f in fills if f.ts >= since_ts]

    async def positions(self) -> dict[str, Position]:
        """Return TWS's positions by our symbol."""
        with translated("positions"):
            items = await self.ib.reqPositionsAsync()
        out: dict[str, Position] = {}
        for item in items:
            if item.position and (not self.account_id or item.account == self.account_id):
                symbol = self.contracts.symbol_of(item.contract)
                out[symbol] = position_from(item, symbol)
        return out

    async def account(self) -> Account:
        """Return cash, equity and buying power of the account."""
        with translated("account"):
            await self.ib.reqAccountUpdatesAsync(self.account_id)
        return account_from(self.ib.accountValues(self.account_id), self.account_id)
