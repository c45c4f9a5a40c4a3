"""ib-async's event callbacks, turned into the broker's reports (a base of the IB broker).

``openOrder``/``orderStatus`` become order reports (accepted, cancelled, rejected: each once per
order), ``execDetails`` completed by its ``commissionReport`` a fill (once per ``execId``), and
TWS ``error`` messages are classified (:func:`~houseedge.adapters.ib.errors.classify`): a
restored link reconciles, a refused cancel is reported, the rest is logged with the account
masked. Split out of :mod:`.client`, which holds the connection, the orders and the queries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from houseedge.adapters.ib._state import Reports, Tracked
from houseedge.adapters.ib.config import IbConfig
from houseedge.adapters.ib.errors import classify
from houseedge.adapters.ib.mapping import AccountMask, client_order_id, fill_from, mask_text
from houseedge.core.types import CancelRejected, OrderAccepted, OrderCancelled, OrderRejected

__all__ = ["TwsEvents"]


class TwsEvents:
    """The handlers :class:`~houseedge.adapters.ib.client.IbBroker` wires to ib-async's events.

    The broker provides the state (``config``, ``orders``, ``reports_``, ``log``, ``link_up``,
    ``_mask``) and two actions: ``_spawn`` (run a coroutine as a task of its own) and
    ``reconcile``.
    """

    config: IbConfig
    orders: dict[str, Tracked]
    reports_: Reports
    log: Any
    link_up: bool
    _mask: AccountMask

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        raise NotImplementedError

    async def reconcile(self, reason: str) -> dict[str, int]:
        """Bring the report stream up to date with TWS (the broker's)."""
        raise NotImplementedError

    def _ours(self, ref: str) -> Tracked | None:
        cid = client_order_id(self.config.order_ref_prefix, ref)
        return None if cid is None else self.orders.get(cid)

    def _on_trade(self, trade: Any) -> None:
        tracked = self._ours(trade.order.orderRef)
        if tracked is None:
            return
        if tracked.phase in ("sent", "unknown", "unsent"):
            tracked.phase = "placed"
        if trade.order.orderId and tracked.ib_order is not None:
            tracked.ib_order.orderId = trade.order.orderId
            tracked.ib_order.permId = trade.order.permId
        self.on_status(tracked, trade)

    def on_status(self, tracked: Tracked, trade: Any) -> None:
        """Report what a status means for our order (each kind once)."""
        status, cid = trade.orderStatus.status, tracked.order.client_order_id
        if status in ("PreSubmitted", "Submitted"):
            venue_id = str(trade.order.permId or "")
            self.reports_.status(
                OrderAccepted(order_id=cid, venue_order_id=venue_id), tracked, "accepted"
            )
        elif status in ("Cancelled", "ApiCancelled", "Inactive"):
            code = trade.log[-1].errorCode if trade.log else 0
            if status == "Inactive" or classify(code) == "order_rejected":
                reason = trade.log[-1].message if trade.log else status
                self.reports_.status(
                    OrderRejected(order_id=cid, reason=reason), tracked, "rejected"
                )
            elif "rejected" not in tracked.reported:
                self.reports_.status(OrderCancelled(order_id=cid), tracked, "cancelled")
        filled = float(trade.orderStatus.filled or 0)
        if filled > tracked.booked_qty + 1e-9 and status in ("Filled", "Cancelled"):
            self._spawn(self._check_fills(tracked, filled))

    async def _check_fills(self, tracked: Tracked, filled: float) -> None:
        await asyncio.sleep(0.2)  # the commission report follows the status
        if filled > tracked.booked_qty + 1e-9:
            self.log.warning(
                "ib.fills_behind",
                order_id=tracked.order.client_order_id,
                venue=filled,
                ours=tracked.booked_qty,
            )
            await self.reconcile("fills_behind")

    def _on_exec(self, trade: Any, fill: Any) -> None:
        # Booked on the commission report, which carries the fee; reconciliation catches a
        # report that never comes.
        self._on_trade(trade)

    def _on_commission(self, trade: Any, fill: Any, report: Any) -> None:
        tracked = self._ours(fill.execution.orderRef)
        if tracked is not None:
            self.emit_fill(tracked, fill)

    def emit_fill(self, tracked: Tracked, fill: Any) -> bool:
        """Report an ib-async fill (once per execId)."""
        ours = fill_from(fill, tracked.order.symbol, tracked.order.client_order_id)
        return self.reports_.fill(ours, tracked)

    def _on_error(self, req_id: int, code: int, message: str, contract: Any = None) -> None:
        kind = classify(code)
        if kind == "link_lost":
            self.link_up = False
            self.log.warning("ib.link_lost", code=code)
        elif kind == "link_restored":
            self.link_up = True
            self.log.warning("ib.link_restored", code=code, data_lost=code == 1101)
            self._spawn(self.reconcile(f"restored_{code}"))
        elif kind == "farm_down":
            self.log.warning("ib.farm_down", code=code, farm=message.rpartition(":")[2])
        elif kind == "cancel_rejected":
            self._cancel_rejected(req_id, message)
        elif kind in ("farm_ok", "warning", "order_cancelled"):
            self.log.debug("ib.notice", code=code, req_id=req_id)
        else:
            self.log.warning("ib.error", code=code, req_id=req_id, message=self._mask_text(message))

    def _cancel_rejected(self, ib_order_id: int, message: str) -> None:
        for tracked in self.orders.values():
            if tracked.ib_order is not None and tracked.ib_order.orderId == ib_order_id:
                cid = tracked.order.client_order_id
                self.reports_.queue.put_nowait(CancelRejected(order_id=cid, reason=message))
                return

    def _mask_text(self, text: str) -> str:
        return mask_text(text, self._mask.accounts)
