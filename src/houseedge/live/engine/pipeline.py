"""From a closed bar to orders: each policy's history window, target, sizing and live context.

A :class:`PolicySpec` names a policy, the symbols it trades, its sizer and its own risk limits.
The engine keeps one runner per spec:

Vector policies (:class:`~houseedge.core.policies.protocol.VectorPolicy`)
    The built-in policies are followed bar by bar by a stepper
    (:mod:`houseedge.live.engine.steppers`)
    that gives the target's value on the newest bar, bit for bit, from a little state. Other
    policies (and a symbol whose stepper met an input it cannot follow exactly) have their
    target evaluated on the last ``max(warmup + 1, window)`` bars of the symbol (every bar seen
    when the policy's ``unbounded_state`` is true, or when it does not say), read from the
    symbol's column ring (:mod:`houseedge.live.history`); its value
    on the newest bar is the decision. As in the backtest, a symbol trades only when that value
    changes: a change of sign or to flat closes what the policy holds (filled plus working), then
    the sizer's quantity for the new target, less what is held, is ordered — GTC market orders,
    filled by the venue from the next bar on. Sizing uses the account's equity and cash and the
    bar's close moved by the cost model (the best estimate of the fill a decision can make).
Order policies (:class:`~houseedge.core.policies.protocol.OrderPolicy`)
    ``decide(portfolio, snapshot, context)`` with the policy's own positions (account cash and
    equity), a :class:`~houseedge.core.types.MarketSnapshot` of the bar and every last price, and
    a :class:`LiveContext` (fresh order ids, working orders, cancels, history).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from houseedge.core.costs import CostModel
from houseedge.core.execution import OrderState
from houseedge.core.policies.protocol import (
    PolicyContext,
    VectorPolicy,
    allows_short,
    has_unbounded_state,
)
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.sizing.sizers import FixedUnits, Sizer, SizingRequest
from houseedge.core.types import (
    Bar,
    MarketSnapshot,
    Order,
    PortfolioState,
    Position,
    Side,
    TimeInForce,
)
from houseedge.errors import PolicyError
from houseedge.live.engine.steppers import Stepper, stepper_factory
from houseedge.live.history import History

__all__ = [
    "History",
    "LiveContext",
    "OrderRunner",
    "PolicySpec",
    "VectorRunner",
    "make_runner",
    "strategy_portfolio",
]


@dataclass
class PolicySpec:
    """One policy the engine runs: what it trades, how it sizes, and its own risk budget.

    Parameters
    ----------
    name
        Unique name: order attribution, the ledger's per-policy books, risk limits and logs.
    policy
        A :class:`~houseedge.core.policies.protocol.VectorPolicy` or an ``OrderPolicy``.
    symbols
        The symbols it trades (a vector policy decides per symbol).
    sizer
        Turns a vector policy's target into units (``FixedUnits(1)`` by default).
    limits
        The policy's risk limits (its own budget); the engine's default limits when None.
    allow_short
        Whether negative targets go short; None reads the policy's ``allow_short`` (else True).
    window
        Bars of history a vector policy (or its sizer's inputs) needs beyond ``warmup + 1``.
    budget
        Seconds one decision may take before the strategy fails; the engine's default when None.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> spec = PolicySpec("sma", SmaCross(5, 20), ["SYNA"], sizer=FixedUnits(10))
    >>> from houseedge.core.costs import NO_COSTS
    >>> make_runner(spec, NO_COSTS).window
    20
    """

    name: str
    policy: Any
    symbols: Sequence[str]
    sizer: Sizer = field(default_factory=FixedUnits)
    limits: RiskLimits | None = None
    allow_short: bool | None = None
    window: int = 0
    budget: float | None = None


class Desk(Protocol):
    """What a runner reads from the engine's book."""

    def position(self, symbol: str, policy: str | None = None) -> float: ...
    def open_orders(
        self, policy: str | None = None, symbol: str | None = None
    ) -> list[OrderState]: ...
    def new_id(self, policy: str) -> str: ...
    def account(self) -> tuple[float, float]: ...  # (cash, equity)
    def request_cancel(self, order_id: str) -> None: ...


class LiveContext:
    """The third argument of ``decide`` in the live engine.

    ``ts`` is the decision time (the bar's close, UTC ns). Orders made with :meth:`order` get
    fresh client ids; :meth:`cancel` asks the engine to cancel a working order once ``decide``
    returns.
    """

    def __init__(self, desk: Desk, policy: str, history: History, ts: int) -> None:
        self._desk, self._policy, self._history, self.ts = desk, policy, history, ts

    def new_id(self) -> str:
        """Return a fresh client order id for this policy."""
        return self._desk.new_id(self._policy)

    def order(self, symbol: str, side: Side | str, qty: float, **fields: Any) -> Order:
        """Return a new order with a fresh id, stamped now (submit it by returning it)."""
        return Order(
            client_order_id=self.new_id(),
            symbol=symbol,
            side=Side(side),
            qty=qty,
            ts=self.ts,
            **fields,
        )

    def open_orders(self, symbol: str | None = None) -> list[OrderState]:
        """Return this policy's working orders (of ``symbol``), oldest first."""
        return self._desk.open_orders(self._policy, symbol)

    def cancel(self, order_id: str) -> bool:
        """Ask to cancel one of this policy's working orders; False if it is not open."""
        if not any(s.order.client_order_id == order_id for s in self.open_orders()):
            return False
        self._desk.request_cancel(order_id)
        return True

    def history(self, symbol: str) -> pl.DataFrame:
        """Return the bars of ``symbol`` the engine keeps for this policy, oldest first."""
        return self._history.frame(symbol)


class VectorRunner:
    """Turns a vector policy's target on each new bar into orders (see the module doc)."""

    def __init__(self, spec: PolicySpec, costs: CostModel) -> None:
        policy: VectorPolicy = spec.policy
        self.spec, self.costs = spec, costs
        self.window = max(int(policy.warmup) + 1, spec.window)
        unbounded = has_unbounded_state(policy)
        self.history = History(None if unbounded else self.window)
        self._target = policy.target()
        self._inputs = dict(spec.sizer.inputs())
        shorts = spec.allow_short
        self.allow_short = allows_short(policy) if shorts is None else shorts
        self.last: dict[str, float] = {}
        self._make_stepper = stepper_factory(policy)
        self._steppers: dict[str, Stepper | None] = {}  # None: this symbol is on the Polars path
        self._stepped: dict[str, float | None] = {}

    def append(self, bar: Bar) -> None:
        """Add a closed bar to the history (and step the policy's incremental target)."""
        self.history.append(bar)
        symbol = bar.symbol
        stepper = self._steppers.get(symbol)
        if stepper is None:
            if self._make_stepper is None or symbol in self._steppers:
                return
            stepper = self._steppers[symbol] = self._make_stepper(symbol)
        try:
            self._stepped[symbol] = stepper.step(bar)
        except ArithmeticError:  # an input it cannot follow exactly: Polars from now on
            self._steppers[symbol] = None

    def decide(self, bar: Bar, ts: int, desk: Desk, marks: Mapping[str, float]) -> list[Order]:
        """Return the orders moving ``bar.symbol`` to the new target (none if it is unchanged)."""
        if self._steppers.get(bar.symbol) is not None:
            target = self._stepped[bar.symbol]
            values: dict[str, Any] = {}
            if self._inputs:
                frame = self.history.frame(bar.symbol)
                values = frame.select(**self._inputs).row(-1, named=True)
        else:
            frame = self.history.frame(bar.symbol)
            values = frame.select(self._target.alias("target"), **self._inputs).row(-1, named=True)
            target = values.pop("target")
        wanted = _clean(target, self.spec.name, bar)
        if not self.allow_short:
            wanted = max(wanted, 0.0)
        if wanted == self.last.get(bar.symbol, 0.0):
            return []
        self.last[bar.symbol] = wanted
        return self._orders(bar, ts, wanted, desk, marks, values)

    def _orders(
        self,
        bar: Bar,
        ts: int,
        wanted: float,
        desk: Desk,
        marks: Mapping[str, float],
        inputs: dict[str, Any],
    ) -> list[Order]:
        name, symbol = self.spec.name, bar.symbol
        working = desk.open_orders(name, symbol)
        held = desk.position(symbol, name) + math.fsum(
            s.order.side.sign * s.remaining for s in working
        )
        orders: list[Order] = []
        if held != 0 and (wanted == 0 or wanted * held < 0):
            orders.append(self._market(desk, symbol, -held, ts, "close"))
            held = 0.0
        if wanted == 0:
            return orders
        estimate = self.costs.fill_price(bar.close, 1 if wanted > 0 else -1, {})
        cash, equity = desk.account()
        request = SizingRequest(
            symbol=symbol,
            target=wanted,
            price=estimate,
            equity=equity,
            cash=cash,
            position=held,
            fee_rate=self.costs.fee_rate(estimate),
            n_symbols=len(self.spec.symbols),
            inputs={k: float(v) for k, v in inputs.items() if v is not None},
        )
        delta = float(self.spec.sizer.quantity(request)) - held
        if delta != 0 and math.isfinite(delta):
            orders.append(self._market(desk, symbol, delta, ts, "open" if held == 0 else "resize"))
        return orders

    def _market(self, desk: Desk, symbol: str, signed: float, ts: int, tag: str) -> Order:
        return Order(
            client_order_id=desk.new_id(self.spec.name),
            symbol=symbol,
            side=Side.BUY if signed > 0 else Side.SELL,
            qty=abs(signed),
            tif=TimeInForce.GTC,
            ts=ts,
            tag=tag,
        )


class OrderRunner:
    """Calls an order policy's ``decide`` on each new bar of its symbols."""

    def __init__(self, spec: PolicySpec, window: int = 500) -> None:
        self.spec = spec
        self.window = max(window, spec.window)
        self.history = History(self.window)

    def append(self, bar: Bar) -> None:
        """Add a closed bar to the history ``decide`` can read."""
        self.history.append(bar)

    def decide(self, bar: Bar, ts: int, desk: Desk, marks: Mapping[str, float]) -> list[Order]:
        """Return what ``decide`` returned (it must be :class:`Order` values)."""
        name = self.spec.name
        portfolio = strategy_portfolio(desk, self.spec, ts)
        snapshot = MarketSnapshot(ts=ts, bars={bar.symbol: bar}, last=dict(marks))
        context: PolicyContext = LiveContext(desk, name, self.history, ts)  # checked by pyright
        orders = list(self.spec.policy.decide(portfolio, snapshot, context))
        bad = [o for o in orders if not isinstance(o, Order)]
        if bad:
            msg = f"policy {name!r} returned {type(bad[0]).__name__}, not Order"
            raise PolicyError(msg)
        return orders


def strategy_portfolio(desk: Desk, spec: PolicySpec, ts: int) -> PortfolioState:
    """Return what ``spec``'s strategy holds, with the account's cash and equity, at ``ts``."""
    cash, equity = desk.account()
    held = {s: desk.position(s, spec.name) for s in spec.symbols}
    positions = {s: Position(symbol=s, qty=q) for s, q in held.items() if q}
    return PortfolioState(ts=ts, cash=cash, equity=equity, positions=positions)


def make_runner(spec: PolicySpec, costs: CostModel) -> VectorRunner | OrderRunner:
    """Return the runner for a spec: vector policies have ``target``, order policies ``decide``."""
    if callable(getattr(spec.policy, "target", None)):
        return VectorRunner(spec, costs)
    if callable(getattr(spec.policy, "decide", None)):
        return OrderRunner(spec)
    msg = f"policy {spec.name!r} has neither target() nor decide()"
    raise PolicyError(msg)


def _clean(value: Any, name: str, bar: Bar) -> float:
    """Return a target as a float: null and NaN are flat, as in the backtest; ±inf, |t| > 1 raise.

    NaN means "no opinion" in every engine (the backtest's target cleaning reads it as flat), so
    a policy whose expression yields NaN (a zero-variance window, say) trades the same live as in
    its backtest; a value outside [-1, 1] is an error in both.
    """
    target = 0.0 if value is None else float(value)
    if target != target:  # NaN
        return 0.0
    if not -1.0 <= target <= 1.0:
        msg = (
            f"policy {name!r} produced target {target} on {bar.symbol} at {bar.ts}"
            " (expected a number in [-1, 1], or null/NaN for flat)"
        )
        raise PolicyError(msg)
    return target
