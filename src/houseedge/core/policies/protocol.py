"""Policy protocols: what a strategy must provide to run in a backtest and live.

Two shapes, one per engine path:

* :class:`VectorPolicy` states its **target exposure** per bar as a Polars expression over a
  single-symbol bar frame sorted by time (columns ``ts, open, high, low, close, volume`` and
  ``symbol``/``timeframe``). The exposure is a signed fraction in ``[-1, 1]``: ``1`` is fully
  long, ``-1`` fully short, ``0`` flat; a null means "no opinion yet" (warm-up) and is treated as
  flat. The value on bar *t* may use bars ``<= t`` only; the engines execute it no earlier than
  bar *t + 1*. ``warmup`` is the number of bars the expression needs before its value is
  meaningful, so the live engine can evaluate it on the last ``warmup + 1`` bars and get the same
  value as a full-history evaluation.
* :class:`OrderPolicy` decides orders one event at a time:
  ``decide(portfolio, snapshot, context)`` with a
  :class:`~houseedge.core.types.PortfolioState`, a :class:`~houseedge.core.types.MarketSnapshot`
  and a :class:`PolicyContext`; it runs in the event-driven backtest and live.

A user's class satisfies these without importing houseedge: they are ``typing.Protocol``.

What the engines read
---------------------
Required, as the protocols declare them: ``name`` (run records, order ids, error messages),
``params()`` (run records; a sweep also builds a policy as ``cls(**params)``), and either
``target()`` with ``warmup`` (the live engine keeps at least the last ``warmup + 1`` bars of a
symbol; the backtests read the warm-up's nulls as flat) or ``decide``. The live engine runs a policy
that has both as a vector policy.

Optional, with their defaults; the first two are read only through :func:`allows_short` and
:func:`has_unbounded_state`:

``allow_short`` (default ``True``)
    When false, a negative target is read as flat (0): the policy is long-only in every engine.
``unbounded_state`` (default ``True``)
    When false, ``warmup`` is exact: the target on the last ``warmup + 1`` bars equals the
    full-history target on the last bar, so the live engine may keep a bounded window. When true
    (the safe default for a user's class) the live engine keeps the whole history.
``prepare(bars)`` (order policies; default: not called)
    The event-driven backtest calls it once, before the first ``decide``, with every bar of the
    run (a ``pl.DataFrame`` sorted by ``symbol`` then ``ts``), so a policy can precompute
    per-bar values; it must read at each bar only the values of bars up to it. The live engine
    never calls it: there, ``decide`` reads the past through :meth:`PolicyContext.history`.
``on_fill(fill, portfolio)`` (order policies; default: none)
    Called after each fill of the policy's orders is booked, with the
    :class:`~houseedge.core.types.Fill` and the policy's
    :class:`~houseedge.core.types.PortfolioState` after it: in the event-driven backtest (at the
    bar that filled it) and live (once the fill is journaled), so the same bars give the same
    calls. Its return value is ignored.
``on_risk_breach(breach)`` (order policies; default: none)
    Called live with the :class:`~houseedge.core.risk.monitors.RiskEvent` of each breaker
    transition that concerns the policy (its own breaker, or the account's; not a reset). The
    event-driven backtest has no risk gate, so it never calls it.

The hooks are read only through :func:`policy_hooks`. An exception in a hook fails that
strategy live (as one in ``decide`` does) and propagates out of the backtest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import polars as pl

from houseedge.core.execution import OrderState
from houseedge.core.risk.monitors import RiskEvent
from houseedge.core.types import (
    Fill,
    MarketSnapshot,
    Order,
    OrderType,
    PortfolioState,
    Side,
    TimeInForce,
)
from houseedge.errors import PolicyError

__all__ = [
    "OrderPolicy",
    "PolicyContext",
    "PolicyHooks",
    "VectorPolicy",
    "allows_short",
    "has_unbounded_state",
    "policy_hooks",
]


@runtime_checkable
class VectorPolicy(Protocol):
    """A policy whose target exposure is a Polars expression over a bar frame."""

    @property
    def name(self) -> str:
        """Return a short stable name (``"sma_cross"``) used in run records."""
        ...

    @property
    def warmup(self) -> int:
        """Return the number of past bars the target needs before it is meaningful."""
        ...

    def params(self) -> Mapping[str, Any]:
        """Return the parameters that define this policy (stored with every run)."""
        ...

    def target(self) -> pl.Expr:
        """Return the signed target exposure per bar, in ``[-1, 1]``; null means flat."""
        ...


@runtime_checkable
class PolicyContext(Protocol):
    """What an order policy can see and ask in ``decide``, in the backtest and live alike.

    The event-driven backtest passes an ``EventContext`` (``houseedge.research.events``), the
    live engine a ``LiveContext`` (``houseedge.live.engine``); both provide at least this. The
    backtest's context offers more (``step``, ``row``, ``state``, ``replace``); a policy that
    uses those runs in the backtest only.
    """

    @property
    def ts(self) -> int:
        """Return the decision time: the close of the bars that just closed (UTC ns)."""
        ...

    def new_id(self) -> str:
        """Return a fresh client order id for this policy (``<policy name>-<n>`` or similar)."""
        ...

    def order(
        self,
        symbol: str,
        side: Side | str,
        qty: float,
        *,
        type: OrderType | str = OrderType.MARKET,
        limit_price: float | None = None,
        stop_price: float | None = None,
        tif: TimeInForce | str = TimeInForce.DAY,
        expire_ts: int | None = None,
        tag: str = "",
    ) -> Order:
        """Return a new :class:`~houseedge.core.types.Order` with a fresh id, stamped ``ts``.

        Nothing is submitted until ``decide`` returns the order. The defaults are
        :class:`~houseedge.core.types.Order`'s: a market order, good for the day.
        """
        ...

    def open_orders(self, symbol: str | None = None) -> Sequence[OrderState]:
        """Return this policy's orders that may still fill (of ``symbol``, or all), oldest first."""
        ...

    def cancel(self, order_id: str) -> bool:
        """Ask to cancel a working order once ``decide`` returns; False if it is not open.

        An id the run has never seen is a :class:`~houseedge.errors.PolicyError` in the
        backtest; live, where orders may predate the engine, it is False.
        """
        ...

    def history(self, symbol: str) -> pl.DataFrame:
        """Return ``symbol``'s bars up to the last closed one, oldest first (no look-ahead).

        The backtest returns every bar so far; the live engine the bars it keeps for the
        policy (its ``PolicySpec.window``, 500 by default).
        """
        ...


@runtime_checkable
class OrderPolicy(Protocol):
    """A stateful policy that decides orders from the portfolio and a market snapshot."""

    @property
    def name(self) -> str:
        """Return a short stable name used in run records and order ids."""
        ...

    def params(self) -> Mapping[str, Any]:
        """Return the parameters that define this policy."""
        ...

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: PolicyContext
    ) -> Sequence[Order]:
        """Return the orders to submit after this snapshot (possibly none).

        ``portfolio`` is what the policy holds, marked at the last closes; ``snapshot`` holds
        the bars that just closed and every symbol's last price.
        """
        ...


def _flag(policy: object, attribute: str, default: bool) -> bool:
    value = getattr(policy, attribute, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    name = getattr(policy, "name", type(policy).__name__)
    msg = f"policy {name!r}: attribute {attribute} is {value!r}; expected True or False"
    raise PolicyError(msg)


def allows_short(policy: object) -> bool:
    """Return whether ``policy`` may hold short positions (its ``allow_short``; default True).

    Raises
    ------
    PolicyError
        ``allow_short`` is set to something other than a boolean.

    Examples
    --------
    >>> class LongOnly:
    ...     allow_short = False
    >>> allows_short(LongOnly()), allows_short(object())
    (False, True)
    """
    return _flag(policy, "allow_short", True)


def has_unbounded_state(policy: object) -> bool:
    """Return whether ``policy``'s target depends on unboundedly old bars (default True).

    Raises
    ------
    PolicyError
        ``unbounded_state`` is set to something other than a boolean.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import EmaCross, SmaCross
    >>> has_unbounded_state(SmaCross(5, 20)), has_unbounded_state(EmaCross(5, 20))
    (False, True)
    """
    return _flag(policy, "unbounded_state", True)


class PolicyHooks(NamedTuple):
    """A policy's optional hooks (``None`` where it has none); see the module docstring."""

    on_fill: Callable[[Fill, PortfolioState], object] | None
    on_risk_breach: Callable[[RiskEvent], object] | None


def _hook(policy: object, attribute: str) -> Callable[..., object] | None:
    value: object = getattr(policy, attribute, None)
    if value is None or callable(value):
        return value
    name = getattr(policy, "name", type(policy).__name__)
    msg = f"policy {name!r}: attribute {attribute} is {value!r}; expected a method or None"
    raise PolicyError(msg)


def policy_hooks(policy: object) -> PolicyHooks:
    """Return ``policy``'s ``on_fill`` and ``on_risk_breach`` hooks (``None`` when absent).

    Raises
    ------
    PolicyError
        A hook attribute is set to something that is not callable.

    Examples
    --------
    >>> class Counting:
    ...     fills = 0
    ...     def on_fill(self, fill, portfolio):
    ...         self.fills += 1
    >>> hooks = policy_hooks(Counting())
    >>> hooks.on_fill is not None, hooks.on_risk_breach
    (True, None)
    """
    return PolicyHooks(_hook(policy, "on_fill"), _hook(policy, "on_risk_breach"))
