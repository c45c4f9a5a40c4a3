"""The engine's side of an :class:`~houseedge.live.observability.Observability`.

Order latency (submit to the first broker report) and the spans of orders and fills, kept
bounded so a venue that never answers cannot grow the engine's memory. Spans cost tens of
microseconds each, so none is made between a bar and its orders' ``submit``: an order's
submission is timed, and its span made once its decision's orders are all sent
(:meth:`Telemetry.hold` … :meth:`Telemetry.release`), with explicit start and end times.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from houseedge.core.types import Fill
    from houseedge.live.observability import Observability

__all__ = ["Telemetry"]

# Orders sent whose first report has not arrived yet: a venue that never answers must not
# grow this without bound (the oldest are forgotten; their latency is then not recorded).
_MAX_AWAITED: Final = 10_000


class SentOrder(NamedTuple):
    """An order's submission, timed (wall clock, ns) until its span is made."""

    order_id: str
    policy: str
    symbol: str
    start_ns: int
    end_ns: int
    failed: bool


class Telemetry:
    """The engine's side of an Observability: order latency and the spans of fills.

    ``sent`` maps an order id to (submit time, policy, symbol) until its first report;
    ``submitting`` holds the fills that arrive while their order's ``submit`` (and so its span)
    is still open, so they become that span's children once it ends.
    """

    def __init__(self, observability: Observability) -> None:
        self.obs = observability
        self.sent: dict[str, tuple[float, str, str]] = {}
        self.submitting: dict[str, list[tuple[str, bool]]] = {}
        self.held: list[SentOrder] | None = None

    def hold(self) -> None:
        """Keep the spans of the orders sent from now until :meth:`release`."""
        self.held = []

    def release(self) -> None:
        """Trace the orders held (children of the current span), then their early fills."""
        held, self.held = self.held or [], None
        for sent in held:
            self.obs.order_sent(
                sent.order_id,
                policy=sent.policy,
                symbol=sent.symbol,
                start_ns=sent.start_ns,
                end_ns=sent.end_ns,
                failed=sent.failed,
            )
            self.submitted(sent.order_id)

    def order_sent(self, order_id: str, policy: str, symbol: str, start_ns: int, ok: bool) -> None:
        """Note an order's submission (from ``start_ns`` to now); trace it unless held."""
        sent = SentOrder(order_id, policy, symbol, start_ns, time.time_ns(), not ok)
        if self.held is not None:
            self.held.append(sent)
            return
        self.held = [sent]
        self.release()

    def submitting_order(self, order_id: str, policy: str, symbol: str) -> None:
        """Note that ``order_id`` is being sent now (its latency clock starts)."""
        if len(self.sent) >= _MAX_AWAITED:
            self.sent.pop(next(iter(self.sent)))
        self.sent[order_id] = (time.perf_counter(), policy, symbol)
        self.submitting[order_id] = []

    def submitted(self, order_id: str) -> None:
        """Trace the fills that arrived while ``order_id`` was being submitted."""
        for fill_id, final in self.submitting.pop(order_id, ()):
            self.obs.fill_span(order_id, fill_id=fill_id, final=final)

    def report(self, order_id: str) -> None:
        """Record the latency of ``order_id`` at its first broker report."""
        entry = self.sent.pop(order_id, None)
        if entry is not None:
            began, policy, symbol = entry
            self.obs.order_latency(time.perf_counter() - began, policy=policy, symbol=symbol)

    def fill(self, fill: Fill, final: bool) -> None:
        """Trace a booked fill as a child of its order's span (held while it is submitted)."""
        early = self.submitting.get(fill.order_id)
        if early is not None:
            early.append((fill.fill_id, final))
        else:
            self.obs.fill_span(fill.order_id, fill_id=fill.fill_id, final=final)
