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
* :class:`OrderPolicy` decides orders one event at a time from the portfolio and the market
  (``decide(portfolio, snapshot, context)``); it runs in the event-driven backtest and live.

A user's class satisfies these without importing houseedge: they are ``typing.Protocol``.

Optional attributes
-------------------
An engine also reads two attributes a policy may define; the engines read them only through
:func:`allows_short` and :func:`has_unbounded_state`, which give the defaults below:

``allow_short`` (default ``True``)
    When false, a negative target is read as flat (0): the policy is long-only in every engine.
``unbounded_state`` (default ``True``)
    When false, ``warmup`` is exact: the target on the last ``warmup + 1`` bars equals the
    full-history target on the last bar, so the live engine may keep a bounded window. When true
    (the safe default for a user's class) the live engine keeps the whole history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import polars as pl

from houseedge.errors import PolicyError

__all__ = ["OrderPolicy", "VectorPolicy", "allows_short", "has_unbounded_state"]


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
class OrderPolicy(Protocol):
    """A stateful policy that decides orders from the portfolio and a market snapshot."""

    @property
    def name(self) -> str:
        """Return a short stable name used in run records."""
        ...

    def params(self) -> Mapping[str, Any]:
        """Return the parameters that define this policy."""
        ...

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> Sequence[Any]:
        """Return the orders to submit after this snapshot (possibly none)."""
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
