"""Vectorised backtest of a :class:`~houseedge.core.policies.protocol.VectorPolicy` over bars.

Conventions (each one a parameter, not a special case):

* **Execution** (``execution``): a target decided on bar *t*'s close fills at bar *t + 1*'s open
  (``"next_open"``, default) or close (``"next_close"``). A decision on the last bar never fills.
* **Trading only on change**: a symbol trades only on bars where its wanted exposure differs from
  the previous bar's; between changes the quantity is held (no rebalancing drift).
* **Reversal**: a change of sign first closes the position, then sizes the new one from the
  equity that close realised. At one time, every symbol's closing legs fill before any entry.
* **Sizing** (``sizing``): a :class:`~houseedge.core.sizing.sizers.Sizer` turns the target into
units,
  from equity marked at the fill. Default: :class:`~houseedge.core.sizing.sizers.FixedFraction` of
  1.0
  with fractional units. backtesting.py's all-in, whole-unit order is
  ``FixedFraction(1 - sys.float_info.epsilon, whole_units=True)``; backtrader's stake of 1 is
  ``FixedUnits(1)``.
* **Costs** (``costs``): a :class:`~houseedge.core.costs.CostModel`; spread and slippage move the
  fill price, fees reduce cash, shorts pay borrow on every bar close they are held (reported in
  the equity frame, not in trade pnl).
* **End of data** (``finalize``): ``None`` leaves open positions open, marked on the last close
  (backtrader); ``"open"``/``"close"`` closes them on each symbol's last bar at that price
  (backtesting.py's ``finalize_trades=True`` is ``"open"``).
* **Shorts** (``allow_short``): ``False`` turns negative targets into flat; ``None`` reads the
  policy's ``allow_short`` attribute when it has one, else allows shorts.
* **Exits** (``exits``): stops, targets, trailing stops, break-even moves and partial exits,
  path-dependent and without look-ahead; see :mod:`houseedge.research.backtest.exits` for the
  intra-bar
  conventions. After an exit the symbol stays flat until its target changes again.
* **Rebalancing** (``rebalance``): ``"on_change"`` (default) trades only on changes;
  ``"every_bar"`` or a calendar period (``"1d"``, ``"1w"``, ``"1mo"``) also resizes every held
  position back to its target (the sizer's quantity at that bar) on those bars, so fixed
  weights across symbols stay fixed. A rebalance never reopens a position an exit closed.

Speed: a one-symbol run with fractional :class:`~houseedge.core.sizing.sizers.FixedFraction` sizing
and
proportional costs is computed in closed form (equity compounds by one factor per round trip);
every other run walks only its events. ``trades``, ``open_trades`` and ``positions`` are built on
first access.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import polars as pl

from houseedge.core.costs import NO_COSTS, CostModel
from houseedge.core.policies.protocol import VectorPolicy, allows_short
from houseedge.core.sizing.sizers import FixedFraction, Sizer
from houseedge.research.backtest import equity as _equity
from houseedge.research.backtest.exits import EXIT_REASONS, Exits
from houseedge.research.backtest.vectorized import (
    Execution,
    Finalize,
    Rebalance,
    block_starts,
    prepare,
    simulate,
)
from houseedge.research.metrics import summary
from houseedge.research.metrics.trades import trade_summary

if TYPE_CHECKING:
    from houseedge.data.store import Store

__all__ = ["BacktestResult", "backtest"]

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
        return _metrics(self.equity, self.trades, self.orders, self.params["periods_per_year"])

    def save(self, store: Store, **run: Any) -> str:
        """Write this run into the store's run datasets and return its run id.

        See :func:`houseedge.research.runs.save_run` for the keyword arguments.
        """
        from houseedge.research.runs import save_run  # runs imports this module

        return save_run(self, store, **run)

    def report(self, path: str | Path, **options: Any) -> Path:
        """Write the HTML tearsheet and its PNG charts; see :func:`write_report`."""
        from houseedge.research.report import write_report  # report imports this module

        return write_report(self, path, **options)


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


def backtest(
    bars: pl.DataFrame | pl.LazyFrame,
    policy: VectorPolicy,
    *,
    cash: float = 100_000.0,
    costs: CostModel | None = None,
    sizing: Sizer | None = None,
    execution: Execution = "next_open",
    allow_short: bool | None = None,
    finalize: Finalize = None,
    periods_per_year: float = 252,
    exits: Exits | None = None,
    rebalance: Rebalance = "on_change",
) -> BacktestResult:
    """Run ``policy`` over ``bars`` and return fills, trades, equity and metrics.

    Parameters
    ----------
    bars
        ``ts, open, high, low, close`` (and ``symbol``; without it the bars are one symbol named
        ``"asset"``). Several symbols are evaluated separately, each sorted by ``ts``.
    policy
        The policy; its target is evaluated per symbol.
    cash
        Starting cash.
    costs, sizing
        Cost model (default: none) and sizer (default: ``FixedFraction(1.0)``).
    execution
        ``"next_open"`` or ``"next_close"``: the bar after the decision, at its open or close.
    allow_short
        Whether negative targets go short (see the module docstring).
    finalize
        Close open positions on the last bar at its ``"open"`` or ``"close"``; ``None`` keeps them.
    periods_per_year
        Bars per year, to annualise the return metrics.
    exits
        Stop-loss, take-profit, trailing, break-even and partial exit rules (default: none).
    rebalance
        ``"on_change"``, ``"every_bar"`` or a period such as ``"1d"`` (see the module docstring).

    Examples
    --------
    >>> class Above:
    ...     name, warmup = "above_10", 0
    ...     def params(self): return {"level": 10}
    ...     def target(self): return (pl.col("close") > 10).cast(pl.Float64)
    >>> bars = pl.DataFrame({"ts": [1, 2, 3, 4, 5], "open": [9.0, 10.0, 12.0, 11.0, 10.0],
    ...     "high": [12.0] * 5, "low": [8.0] * 5, "close": [9.5, 11.0, 12.0, 9.0, 9.5]})
    >>> result = backtest(bars, Above(), cash=1_000.0)
    >>> result.orders.select("ts", "side", "qty", "price", "reason").rows()
    [(3, 'buy', 83.33333333333333, 12.0, 'open'), (5, 'sell', 83.33333333333333, 10.0, 'close')]
    >>> round(result.metrics["final_equity"], 6), result.trades.get_column("bars_held").to_list()
    (833.333333, [2])
    """
    if execution not in ("next_open", "next_close"):
        msg = f"execution must be 'next_open' or 'next_close', got {execution!r}"
        raise ValueError(msg)
    if finalize not in (None, "open", "close"):
        msg = f"finalize must be None, 'open' or 'close', got {finalize!r}"
        raise ValueError(msg)
    costs = NO_COSTS if costs is None else costs
    sizing = FixedFraction(1.0) if sizing is None else sizing
    shorts = allows_short(policy) if allow_short is None else allow_short
    frame = prepare(
        bars, policy, costs, sizing, execution=execution, allow_short=shorts, exits=exits
    )
    fills = simulate(
        frame, costs, sizing, cash=cash, finalize=finalize, execution=execution, exits=exits,
        rebalance=rebalance,
    )  # fmt: skip
    return assemble(
        frame, fills, policy, cash=cash, costs=costs, sizing=sizing, execution=execution,
        finalize=finalize, allow_short=shorts, periods_per_year=periods_per_year,
        rebalance=rebalance, exits=exits,
    )  # fmt: skip


def assemble(
    frame: pl.DataFrame,
    fills: Any,
    policy: VectorPolicy,
    *,
    cash: float,
    costs: CostModel,
    sizing: Sizer,
    execution: Execution,
    finalize: Finalize,
    allow_short: bool,
    periods_per_year: float,
    rebalance: str = "on_change",
    exits: Exits | None = None,
) -> BacktestResult:
    """Return the result of a simulated run: its orders, equity, lazy trades and params.

    ``frame`` and ``fills`` are what :func:`~houseedge.research.backtest.vectorized.prepare` and
    ``simulate`` returned; :func:`backtest` and the sweep's fast path both finish here, so a
    sweep row is the backtest of its parameters by construction.
    """
    single = block_starts(frame).size <= 1
    # One symbol: the equity needs no orders, so orders and trades may overlap it.
    orders, trades = _orders_and_trades(frame, fills, execution, finalize, overlap=single)
    if single:
        equity, book = _equity.single_symbol(frame, fills, cash, costs.borrow_rate())
        positions: pl.DataFrame | Deferred[pl.DataFrame] = Deferred(book)
    else:
        positions = _equity.positions(frame, orders.get(), costs.borrow_rate())
        equity = _equity.equity_curve(positions, orders.get(), cash)
    params: dict[str, Any] = {
        "policy": policy.name, "policy_params": dict(policy.params()),
        "costs": costs.name, "costs_params": dict(costs.params()),
        "sizing": sizing.name, "sizing_params": dict(sizing.params()),
        "execution": execution, "finalize": finalize, "allow_short": allow_short, "cash": cash,
        "periods_per_year": periods_per_year,
    }  # fmt: skip
    # Recorded only when used, so runs saved before these options existed read back equal.
    if rebalance != "on_change":
        params["rebalance"] = rebalance
    if exits is not None:
        params["exits"] = exits.params()
    return BacktestResult.lazy(
        orders, Deferred(lambda: trades.get()[0]), Deferred(lambda: trades.get()[1]),
        equity, positions, params,
    )  # fmt: skip


# Below this many bars the trades are built on first access, on the reader's thread.
_BACKGROUND = 1 << 18


@functools.cache
def _builder(pid: int) -> ThreadPoolExecutor:
    # One per process (a pool inherited through fork has no live thread and would hang), and
    # not the window sums' helper: a task queued behind the trades would wait for them.
    del pid
    return ThreadPoolExecutor(1, thread_name_prefix="backtest-trades")


def _orders_and_trades(
    frame: pl.DataFrame, fills: Any, execution: str, finalize: Finalize, *, overlap: bool
) -> tuple[Deferred[pl.DataFrame], Deferred[tuple[pl.DataFrame, pl.DataFrame]]]:
    """Return the orders and the (closed, open) trades, each built once on first access.

    With ``overlap`` on long runs both start at once on another thread, while the caller
    builds the equity frame (mostly one core): on two cores they cost no wall time. A reader
    waits for them on first access (an error surfaces there).
    """
    if overlap and frame.height >= _BACKGROUND and (os.cpu_count() or 1) >= 2:
        pool = _builder(os.getpid())
        orders = pool.submit(fills.frame, frame)
        both = pool.submit(lambda: _trades(frame, orders.result(), fills, execution, finalize))
        return Deferred(orders.result), Deferred(both.result)
    built = Deferred(lambda: fills.frame(frame))
    return built, Deferred(lambda: _trades(frame, built.get(), fills, execution, finalize))


def _trades(
    frame: pl.DataFrame, orders: pl.DataFrame, fills: Any, execution: str, finalize: Finalize
) -> tuple[pl.DataFrame, pl.DataFrame]:
    # Fills before their bar's range: exits, finalizing closes at the open, and with next-open
    # execution every other fill (so then all but finalizing closes at the close).
    reason = orders.get_column("reason")
    if execution != "next_open":
        before_range = reason.is_in([*EXIT_REASONS, *(["finalize"] * (finalize == "open"))])
    elif finalize == "open":
        before_range = pl.repeat(True, reason.len(), eager=True)
    else:
        before_range = reason != "finalize"
    pairs = _equity.whole_trades(frame, orders, fills, before_range=before_range.to_numpy())
    if pairs is not None:
        return pairs
    closed, still_open = _equity.trades(
        frame, orders, entry_at_open=execution == "next_open", finalize=finalize
    )
    return _equity.with_risk(closed, orders, fills), still_open


def _metrics(
    equity: pl.DataFrame, trades: pl.DataFrame, orders: pl.DataFrame, periods_per_year: float
) -> dict[str, Any]:
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
