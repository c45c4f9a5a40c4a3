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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import polars as pl


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
