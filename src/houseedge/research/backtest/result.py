"""What a backtest returns: :class:`BacktestResult`, whose frames may be built on first read.

A run is saved with :func:`houseedge.research.runs.save_run` and reported with
:func:`houseedge.research.report.write_report`: functions of those subpackages that take a
result, so this module needs neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

import polars as pl

from houseedge.research.metrics import summary
from houseedge.research.metrics.trades import trade_summary

T = TypeVar("T")


@dataclass(frozen=True)
class BacktestResult:
    """The outcome of a backtest: fills, round trips, equity and metrics.

    Attributes
    ----------
    orders
        Every fill: ``ts, symbol, side, qty, price, fee, reason, decision_ts, row,
        position_after, cash_after``. ``reason`` is ``open``, ``close``, ``resize`` or
        ``finalize``; ``decision_ts`` is the bar whose close decided it; ``row`` the fill bar's
        index within its symbol; the last two are the symbol's position and the trading cash
        (before borrow) after the fill.
    trades
        Closed FIFO round trips: ``symbol, direction, qty, entry_ts, exit_ts, entry_price,
        exit_price, entry_row, exit_row, fees, pnl, return_pct, mae, mfe, bars_held,
        r_multiple`` (``pnl / (qty * initial risk)``; null without a stop-loss).
    open_trades
        Lots still open at the end (same columns; exit, pnl and excursions null).
    equity
        One row per time: ``ts, cash, position_value, gross_exposure, fees, borrow, in_market,
        equity, returns, exposure`` (``in_market``: a position was held at some point of the bar).
    positions
        One row per bar and symbol: ``symbol, ts, close, flow, fee, position, value, gross,
        borrow, in_market``.
    metrics
        Scalar metrics, computed on first access (the full return summary costs more than the
        backtest itself on long histories): the return summary of
        :func:`houseedge.research.metrics.summary`, the trade summary of
        :func:`houseedge.research.metrics.trades.trade_summary`, and
        ``final_equity, equity_peak, exposure_time, total_fees, total_borrow, orders``.
    params
        What defined the run: policy, costs, sizing, execution, cash, finalize.
    """

    orders: pl.DataFrame
    trades: pl.DataFrame
    open_trades: pl.DataFrame
    equity: pl.DataFrame
    positions: pl.DataFrame
    params: dict[str, Any]

    def __getattribute__(self, name: str) -> Any:
        # A field given as a Deferred is built on first access and then kept.
        value = object.__getattribute__(self, name)
        if type(value) is Deferred:
            # The check narrows to Deferred[Unknown] (a type check cannot see T); lazy() and
            # backtest() defer only frames.
            value = cast("Deferred[pl.DataFrame]", value).get()
            object.__setattr__(self, name, value)
        return value

    @classmethod
    def lazy(
        cls,
        orders: pl.DataFrame | Deferred[pl.DataFrame],
        trades: pl.DataFrame | Deferred[pl.DataFrame],
        open_trades: pl.DataFrame | Deferred[pl.DataFrame],
        equity: pl.DataFrame,
        positions: pl.DataFrame | Deferred[pl.DataFrame],
        params: dict[str, Any],
    ) -> BacktestResult:
        """Return a result whose frames given as a :class:`Deferred` are built on first access.

        Examples
        --------
        >>> empty = pl.DataFrame()
        >>> built = []
        >>> later = Deferred(lambda: built.append(1) or pl.DataFrame({"x": [1]}))
        >>> result = BacktestResult.lazy(empty, later, empty, empty, empty, {})
        >>> len(built), result.trades.height, result.trades.height, len(built)
        (0, 1, 1, 1)
        """
        # The fields declare what a reader gets (__getattribute__ resolves a Deferred on its
        # first read), so the Deferred values are stored past the typed __init__.
        result = cls.__new__(cls)
        fields = {"orders": orders, "trades": trades, "open_trades": open_trades}
        fields |= {"equity": equity, "positions": positions, "params": params}
        for name, value in fields.items():
            object.__setattr__(result, name, value)
        return result

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Return the scalar metrics (see the class docstring)."""
        return _scalar_metrics(
            self.equity, self.trades, self.orders, self.params["periods_per_year"]
        )


class Deferred(Generic[T]):
    """A frame built on first access (see :meth:`BacktestResult.lazy`)."""

    __slots__ = ("_build", "_value")

    _value: T  # set by the first get()

    def __init__(self, build: Callable[[], T]) -> None:
        self._build: Callable[[], T] | None = build

    def get(self) -> T:
        """Return the value, building it once."""
        if self._build is not None:
            self._value, self._build = self._build(), None
        return self._value


def _scalar_metrics(
    equity: pl.DataFrame, trades: pl.DataFrame, orders: pl.DataFrame, periods_per_year: float
) -> dict[str, Any]:
    """Return a run's scalar metrics from its equity, trades and orders (see BacktestResult)."""
    values: dict[str, Any] = summary(equity, "returns", periods_per_year=periods_per_year).row(
        0, named=True
    )
    values |= trade_summary(trades).row(0, named=True)
    curve = equity.get_column("equity")
    values |= {
        "final_equity": curve[-1] if curve.len() else None,
        "equity_peak": curve.max(),
        "exposure_time": equity.get_column("in_market").mean(),
        "total_fees": orders.get_column("fee").sum(),
        "total_borrow": equity.get_column("borrow").sum(),
        "orders": orders.height,
    }
    return values
