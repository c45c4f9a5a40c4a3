"""Reconciliation after every reconnect: what TWS did while the adapter was not listening.

ib-async wipes its trades and fills on a disconnect and replays nothing, and ``execDetails``
can be lost while TWS is cut off from IB. So the adapter asks TWS directly:

1. ``reqExecutions`` (with commission reports): every execution of ours (by ``orderRef``) whose
   ``execId`` was not reported yet is reported now; the fee comes from its commission report.
   An execution whose commission report has not arrived waits for the next pass.
2. ``reqAllOpenOrders`` and ``reqCompletedOrders``: the state of each of our orders (accepted,
   cancelled, rejected), after the fills.
3. Submits whose outcome is unknown (sent, then the socket dropped) or that were never sent are
   looked up by ``orderRef`` in 1 and 2; only those TWS does not know are sent (again).

De-duplication is by ``execId`` in :class:`~houseedge.adapters.ib._state.Reports`, so running
this any number of times reports each fill exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import ib_async

from houseedge.adapters.ib._state import Reports, Tracked
from houseedge.adapters.ib.config import IbConfig
from houseedge.adapters.ib.contracts import ContractBook
from houseedge.adapters.ib.errors import BrokerError, translated
from houseedge.adapters.ib.mapping import client_order_id, fill_from, order_ref, snapshot_from
from houseedge.adapters.ib.orders import to_ib_order
from houseedge.core.broker import OrderSnapshot
from houseedge.core.types import Fill

__all__ = ["IbSession", "executions", "run", "snapshots"]


class IbSession(Protocol):
    """What reconciliation reads and calls of the broker (:class:`~.client.IbBroker` is one).

    A protocol rather than an import of the client: the client calls this module, so this
    module must not import the client (no import circle).
    """

    ib: ib_async.IB
    config: IbConfig
    contracts: ContractBook
    orders: dict[str, Tracked]
    reports_: Reports
    account_id: str
    log: Any

    @property
    def connected(self) -> bool:
        """Return whether the API socket is up and ready."""
        ...

    def emit_fill(self, tracked: Tracked, fill: Any) -> bool:
        """Report an ib-async fill (once per execId)."""
        ...

    def on_status(self, tracked: Tracked, trade: Any) -> None:
        """Report what a status means for our order."""
        ...

    def place(self, tracked: Tracked) -> None:
        """Write a tracked order to the socket."""
        ...


async def _raw_executions(broker: IbSession, since_ts: int) -> list[tuple[str, Any]]:
    """Return (our client order id, ib-async fill with its commission) of TWS's executions."""
    ib, prefix = broker.ib, broker.config.order_ref_prefix
    since = ""
    if since_ts > 0:
        since = datetime.fromtimestamp(since_ts // 1_000_000_000, UTC).strftime("%Y%m%d %H:%M:%S")
        since += " UTC"
    with translated("executions"):
        results = await ib.reqExecutionsAsync(ib_async.ExecutionFilter(time=since))
    found: list[tuple[str, Any]] = []
    for fill in results:
        cid = client_order_id(prefix, fill.execution.orderRef)
        if cid is None:
            continue
        stored = ib.wrapper.fills.get(fill.execution.execId, fill)  # the one the fee updated
        found.append((cid, stored))
    return found


def _symbol(broker: IbSession, cid: str, fill: Any) -> str:
    tracked = broker.orders.get(cid)
    return tracked.order.symbol if tracked else broker.contracts.symbol_of(fill.contract)


async def executions(broker: IbSession, since_ts: int = 0) -> list[Fill]:
    """Return our executions TWS reports (those with a commission report)."""
    return [
        fill_from(f, _symbol(broker, cid, f), cid)
        for cid, f in await _raw_executions(broker, since_ts)
        if f.commissionReport.execId
    ]


async def _trades(broker: IbSession) -> list[tuple[str, Any]]:
    ib, prefix = broker.ib, broker.config.order_ref_prefix
    with translated("open_orders"):
        trades = list(await ib.reqAllOpenOrdersAsync())
    with translated("completed_orders"):
        trades += list(await ib.reqCompletedOrdersAsync(False))
    ours = [(client_order_id(prefix, t.order.orderRef), t) for t in trades]
    return [(cid, t) for cid, t in ours if cid is not None]


async def snapshots(broker: IbSession) -> list[OrderSnapshot]:
    """Return snapshots of our open and completed orders at TWS."""
    if not broker.connected:
        msg = "ib: not connected"
        raise BrokerError(msg)
    return [
        snapshot_from(t, _symbol_of_trade(broker, cid, t), cid) for cid, t in await _trades(broker)
    ]


def _symbol_of_trade(broker: IbSession, cid: str, trade: Any) -> str:
    tracked = broker.orders.get(cid)
    return tracked.order.symbol if tracked else broker.contracts.symbol_of(trade.contract)


async def run(broker: IbSession) -> dict[str, int]:
    """Reconcile once (see the module doc); return counts of what changed."""
    raw = await _raw_executions(broker, 0)
    new_fills = pending = 0
    for cid, fill in raw:
        if not fill.commissionReport.execId:
            pending += 1
            continue
        tracked = broker.orders.get(cid)
        if tracked is not None:
            new_fills += broker.emit_fill(tracked, fill)
        else:  # an order of an earlier session: the engine's journal knows it (or not)
            new_fills += broker.reports_.fill(
                fill_from(fill, _symbol(broker, cid, fill), cid), None
            )
    known = {cid for cid, _ in raw}
    for cid, trade in await _trades(broker):
        known.add(cid)
        tracked = broker.orders.get(cid)
        if tracked is None:
            continue
        if tracked.phase in ("sent", "unknown", "unsent"):
            tracked.phase = "placed"
        if trade.order.orderId and tracked.ib_order is not None:
            tracked.ib_order.orderId, tracked.ib_order.permId = (
                trade.order.orderId,
                trade.order.permId,
            )
        broker.on_status(tracked, trade)
    resent = await _resolve_unknown(broker, known)
    return {
        "new_fills": new_fills,
        "pending_fees": pending,
        "resent": resent,
        "venue_fills": len(raw),
    }


async def _resolve_unknown(broker: IbSession, known: set[str]) -> int:
    resent = 0
    for cid, tracked in list(broker.orders.items()):
        if tracked.phase not in ("unknown", "unsent"):
            continue
        if cid in known:
            tracked.phase = "placed"
            broker.log.info("ib.submit_resolved", order_id=cid, found=True)
            continue
        if tracked.contract is None:
            tracked.contract = await broker.contracts.qualify(broker.ib, tracked.order.symbol)
        if tracked.ib_order is None:
            ref = order_ref(broker.config.order_ref_prefix, cid)
            tracked.ib_order = to_ib_order(
                tracked.order, ref, account=broker.account_id, trail=tracked.trail
            )
        broker.log.info("ib.submit_resolved", order_id=cid, found=False, phase=tracked.phase)
        broker.place(tracked)
        resent += 1
    return resent
