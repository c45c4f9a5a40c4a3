"""The pre-trade risk gate every order passes, and the circuit breaker behind it.

Pure and synchronous (no I/O, no clock): the engine passes the time and the book's figures.

What the engine calls, and when
-------------------------------
``gate = RiskGate(RiskLimits.from_config(table), policies=RiskLimits.policies_from_config(table))``
    once, from the ``[risk]`` config table (per-policy tables under ``policies.<name>``).
``gate.check(order, now_ns=..., position=..., last_price=..., gross_notional=...,
open_orders=..., symbol_open_orders=..., pending_buy=..., pending_sell=..., policy=...)``
    for every order (policy, manual, flatten, replacement) before it is journaled and sent. It
    returns a :class:`RiskDecision` and never raises for a rejection; an accepted order is
    counted in the order-rate window at ``now_ns`` (``record=False`` for a dry run). The figures
    are those of the book the limits govern — the policy's own book when ``policy`` is given
    (each policy has its own budget), else the account's: signed filled ``position`` in
    ``order.symbol``, ``gross_notional`` = sum of ``|qty| * last`` over the book's positions,
    the count of working orders in the book and in the symbol, and the unfilled quantity of
    working buy and sell orders in the symbol.
``gate.on_fill(fill, policy=...)``
    for every booked fill (counters for ``snapshot``).
``gate.on_mark(equity, now_ns, policy_pnl={policy: pnl})``
    whenever equity is re-marked (every bar or price update): feeds the monitors and returns
    the breaker transitions as :class:`RiskEvent` (publish and journal them). On a transition to
    ``halted`` the engine cancels the open orders of the account (or of the policy).
``gate.kill(flatten)`` / ``gate.reset(operator)``
    from the service's ``POST /kill`` and an operator's reset. After ``kill`` the engine cancels
    every open order (``gate.kill_requested``) and, when ``gate.flatten_requested``, submits
    orders that flatten every position — through ``check``, which lets reducing orders pass
    while halted only in that case.
``gate.snapshot()``
    for ``GET /risk``: limits, usage, breaker states, reject counts by check.

Checks, in order (the first that fails names the rejection)
------------------------------------------------------------
``halted``
    the breaker (the account's or the policy's) is halted; only reducing orders pass, and only
    after ``kill(flatten=True)`` when ``flatten_when_halted``.
``reduce_only``
    the breaker is in reduce-only and the order does not reduce ``|position|``.
``no_last_price`` / ``price_band``
    no positive last price is known, or the order's price (limit, else stop, else last) is more
    than ``price_band`` (a fraction) away from the last price: the fat-finger guard.
``max_order_qty`` / ``max_order_notional``
    the order's quantity, or quantity times its price, is over the per-order limit.
``max_open_orders`` / ``max_open_orders_symbol``
    the book (or the symbol) already has the maximum number of working orders.
``max_position`` / ``max_position_notional`` / ``max_gross_notional``
    for an order that does not reduce exposure: the worst-case position after it (position plus
    every working order on the same side plus this one) would exceed the symbol's long or short
    limit in units or in notional at the last price, or the book's gross notional would exceed
    its limit. A reducing order always passes these, so a breached limit (lowered limit, price
    move) leaves exactly reduce-only for that symbol or book.
``max_concentration``
    for an order that does not reduce exposure: the symbol's notional after it would be more
    than ``max_concentration`` of the book's gross notional after it (once that gross is over
    ``concentration_floor``).
``order_rate``
    ``max_orders_per_window`` orders were already accepted in the window ``(now - window, now]``
    (the account's window, from the default table, and the policy's own window).

"Reducing" means on the opposite side to the position and, with the working orders on that
side, not crossing through zero. Quantities compare with the tolerance described in
:mod:`houseedge.core.risk.limits`.

Examples
--------
>>> from houseedge.core.types import Order, Side
>>> gate = RiskGate(RiskLimits(max_long=10, price_band=0.05))
>>> buy = Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=8)
>>> gate.check(buy, now_ns=0, position=0.0, last_price=100.0).accepted
True
>>> decision = gate.check(buy, now_ns=1, position=8.0, last_price=100.0)
>>> decision.check, decision.detail
('max_position', 'X: buy 8 would take the position to 16 (worst case), max_long is 10')
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Final

from houseedge.core.risk.checks import (
    ACCEPTED,
    RiskDecision,
    breaker_rejection,
    concentration_ok,
    diagnose,
)
from houseedge.core.risk.limits import CompiledLimits, RateWindow, RiskLimits, SymbolLimits
from houseedge.core.risk.monitors import RANK, BreakerState, Monitors, RiskEvent
from houseedge.core.risk.snapshot import RiskSnapshot
from houseedge.core.types import Fill, Order, Side

__all__ = [
    "BreakerState",
    "RiskDecision",
    "RiskEvent",
    "RiskGate",
    "RiskLimits",
    "RiskSnapshot",
    "SymbolLimits",
]

_BUY: Final = Side.BUY
_INF: Final = math.inf
_HALTED: Final = RANK[BreakerState.HALTED]


class RiskGate:
    """Pre-trade checks, post-trade monitors, breaker and kill switch (see the module doc).

    Parameters
    ----------
    limits
        The default (account) limits; its rate limit applies to every order.
    policies
        Merged limits per policy name (:meth:`RiskLimits.policies_from_config`); orders of a
        policy not listed use ``limits``.

    Examples
    --------
    >>> gate = RiskGate(RiskLimits(drawdown_soft=0.02, drawdown_hard=0.05))
    >>> gate.on_mark(1000.0, 0), gate.state
    ((), <BreakerState.NORMAL: 'normal'>)
    >>> [e.state for e in gate.on_mark(940.0, 1)]
    [<BreakerState.HALTED: 'halted'>]
    >>> gate.reset("alice").state
    <BreakerState.NORMAL: 'normal'>
    """

    def __init__(self, limits: RiskLimits, *, policies: Mapping[str, RiskLimits] | None = None):
        self.limits = limits
        self.policy_limits = dict(policies or {})
        self._account = RateWindow(limits.max_orders_per_window, limits.order_window_s)
        self._default = CompiledLimits(limits, (self._account,))
        self._scopes = {
            name: CompiledLimits(
                lim, (RateWindow(lim.max_orders_per_window, lim.order_window_s), self._account)
            )
            for name, lim in self.policy_limits.items()
        }
        self._monitors = Monitors(limits, lambda p: self.policy_limits.get(p, limits))
        self.kill_requested = False
        self.flatten_requested = False
        self._accepted = self._fills = 0
        self._rejected: dict[str, int] = {}
        self._traded: dict[str, float] = {}
        self._events: deque[RiskEvent] = deque(maxlen=50)

    @property
    def state(self) -> BreakerState:
        """Return the account-wide breaker state."""
        return self._monitors.state

    def policy_state(self, policy: str) -> BreakerState:
        """Return the breaker state that applies to ``policy``'s orders.

        Examples
        --------
        >>> RiskGate(RiskLimits()).policy_state("p")
        <BreakerState.NORMAL: 'normal'>
        """
        return self._monitors.policy_state(policy)

    def check(
        self,
        order: Order,
        *,
        now_ns: int,
        position: float,
        last_price: float | None,
        gross_notional: float = 0.0,
        open_orders: int = 0,
        symbol_open_orders: int = 0,
        pending_buy: float = 0.0,
        pending_sell: float = 0.0,
        policy: str | None = None,
        record: bool = True,
    ) -> RiskDecision:
        """Return whether ``order`` may be sent now (see the module docstring for each check).

        Examples
        --------
        >>> from houseedge.core.types import Order, Side
        >>> gate = RiskGate(RiskLimits(price_band=0.05))
        >>> order = Order(client_order_id="o1", symbol="X", side="buy", qty=1, type="limit",
        ...     limit_price=120.0)
        >>> gate.check(order, now_ns=0, position=0.0, last_price=100.0).check
        'price_band'
        """
        scope = self._default if policy is None else self._scopes.get(policy, self._default)
        sym = scope.symbols.get(order.symbol, scope.fallback)
        qty, tol = order.qty, sym[5]
        after = (
            position + pending_buy + qty if order.side is _BUY else position - pending_sell - qty
        )
        reducing = (position > 0 and -tol <= after <= position + tol) or (
            position < 0 and position - tol <= after <= tol
        )
        monitors = self._monitors
        rank = monitors.rank
        if policy is not None and monitors.policy_rank:
            rank = max(rank, monitors.policy_rank.get(policy, 0))
        if rank and not (reducing and (rank == 1 or (self.flatten_requested and scope.flatten))):
            return self._count(breaker_rejection(order, rank == _HALTED, self.flatten_requested))
        # Fast path: every comparison inline, no allocation. The check_* functions (which name
        # the failing check) run only when this says no; a test pins that both agree.
        last = last_price or 0.0
        price = order.limit_price or order.stop_price or last
        ok = (
            0.0 < last < _INF
            and abs(price - last) <= scope.band * last
            and qty <= scope.order_qty + tol
            and qty * price <= scope.order_notional
            and open_orders < scope.open
            and symbol_open_orders < sym[4]
        )
        if ok and not reducing:
            ok = (
                after <= sym[0]
                and -after <= sym[1]
                and after * last <= sym[2]
                and -after * last <= sym[3]
                and gross_notional + (abs(after) - abs(position)) * last <= scope.gross
                and concentration_ok(scope, position, after, last, gross_notional)
            )
        if ok:
            for window in scope.windows:
                if window.full(now_ns):
                    ok = False
        if not ok:
            figures = (position, after, reducing, gross_notional, open_orders, symbol_open_orders)
            return self._count(diagnose(order, scope, sym, last_price, now_ns, figures))
        if record:
            for window in scope.windows:
                window.times.append(now_ns)
            self._accepted += 1
        return ACCEPTED

    def _count(self, rejection: RiskDecision) -> RiskDecision:
        self._rejected[rejection.check] = self._rejected.get(rejection.check, 0) + 1
        return rejection

    def on_fill(self, fill: Fill, *, policy: str | None = None) -> None:
        """Count a booked fill (for :meth:`snapshot`); exposure is re-checked on the next order.

        Examples
        --------
        >>> gate = RiskGate(RiskLimits())
        >>> gate.on_fill(Fill(fill_id="f1", order_id="o1", symbol="X", side="buy", qty=2,
        ...     price=5.0), policy="p")
        >>> gate.snapshot().traded_notional
        {'p': 10.0}
        """
        self._fills += 1
        key = policy or ""
        self._traded[key] = self._traded.get(key, 0.0) + fill.qty * fill.price

    def on_mark(
        self, equity: float, now_ns: int, *, policy_pnl: Mapping[str, float] | None = None
    ) -> tuple[RiskEvent, ...]:
        """Feed the monitors an equity mark; return the breaker transitions it caused.

        ``policy_pnl`` maps each policy to its cumulative PnL (realised plus unrealised, after
        fees) in account currency; its loss since the session-day open drives its own breaker.

        Examples
        --------
        >>> gate = RiskGate(RiskLimits(policy_loss_hard=50.0))
        >>> gate.on_mark(1000.0, 0, policy_pnl={"p": 0.0})
        ()
        >>> (event,) = gate.on_mark(950.0, 1, policy_pnl={"p": -60.0})
        >>> event.kind, event.policy, gate.policy_state("p"), gate.state
        ('policy_loss', 'p', <BreakerState.HALTED: 'halted'>, <BreakerState.NORMAL: 'normal'>)
        """
        events = self._monitors.mark(equity, now_ns, policy_pnl)
        self._events.extend(events)
        return events

    def kill(self, flatten: bool = False, *, now_ns: int = 0, reason: str = "") -> RiskEvent:
        """Halt trading now: the engine cancels every open order (and flattens if asked).

        Examples
        --------
        >>> gate = RiskGate(RiskLimits())
        >>> event = gate.kill(flatten=True, reason="operator")
        >>> event.state, gate.kill_requested, gate.flatten_requested
        (<BreakerState.HALTED: 'halted'>, True, True)
        """
        self._monitors.escalate_to(RANK[BreakerState.HALTED])
        self.kill_requested = True
        self.flatten_requested = self.flatten_requested or flatten
        detail = f"kill switch{' with flatten' if flatten else ''}{f': {reason}' if reason else ''}"
        event = RiskEvent(kind="kill", state=BreakerState.HALTED, detail=detail, ts=now_ns)
        self._events.append(event)
        return event

    def restore(
        self,
        state: BreakerState,
        policy_states: Mapping[str, BreakerState] | None = None,
        *,
        killed: bool = False,
        flatten: bool = False,
    ) -> None:
        """Put the breakers and the kill switch back as journaled (a restart; no event).

        Examples
        --------
        >>> gate = RiskGate(RiskLimits())
        >>> gate.restore(BreakerState.HALTED, {"p": BreakerState.REDUCE_ONLY}, killed=True)
        >>> gate.state, gate.policy_state("q"), gate.kill_requested
        (<BreakerState.HALTED: 'halted'>, <BreakerState.HALTED: 'halted'>, True)
        """
        self._monitors.escalate_to(RANK[state])
        for policy, level in (policy_states or {}).items():
            ranks = self._monitors.policy_rank
            ranks[policy] = max(ranks.get(policy, 0), RANK[level])
        self.kill_requested = self.kill_requested or killed
        self.flatten_requested = self.flatten_requested or flatten

    def reset(self, operator: str, *, now_ns: int = 0, reason: str = "") -> RiskEvent:
        """Return every breaker to normal and clear the kill; only an operator calls this.

        The monitors are re-based at the last equity mark (peak, day open, rapid-loss window
        and policy PnL), so the losses so far are accepted and not counted twice.

        Examples
        --------
        >>> RiskGate(RiskLimits()).reset("")
        Traceback (most recent call last):
        ...
        ValueError: reset needs the operator's name
        """
        if not operator.strip():
            msg = "reset needs the operator's name"
            raise ValueError(msg)
        self._monitors.reset()
        self.kill_requested = self.flatten_requested = False
        detail = f"reset by {operator}{f': {reason}' if reason else ''}"
        event = RiskEvent(kind="reset", state=BreakerState.NORMAL, detail=detail, ts=now_ns)
        self._events.append(event)
        return event

    def snapshot(self, now_ns: int | None = None) -> RiskSnapshot:
        """Return limits, usage, breaker states and counters (``now_ns`` ages the rate window).

        Examples
        --------
        >>> snap = RiskGate(RiskLimits()).snapshot()
        >>> snap.state, snap.accepted, snap.rejected, snap.monitors["drawdown"]
        (<BreakerState.NORMAL: 'normal'>, 0, {}, None)
        """
        m = self._monitors
        if now_ns is not None:
            self._account.full(now_ns)
        return RiskSnapshot(
            state=m.state,
            policy_states={p: m.policy_state(p) for p in m.policy_rank},
            kill_requested=self.kill_requested,
            flatten_requested=self.flatten_requested,
            equity=_finite(m.equity),
            equity_peak=_finite(m.peak),
            day_open_equity=_finite(m.day_open),
            monitors={k: _finite(v) for k, v in m.figures().items()},
            policy_losses=m.policy_losses(),
            tripped=dict(m.tripped),
            orders_in_window=len(self._account.times),
            accepted=self._accepted,
            rejected=dict(self._rejected),
            fills=self._fills,
            traded_notional=dict(self._traded),
            events=list(self._events),
            limits=self.limits,
            policy_limits=dict(self.policy_limits),
        )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
