"""Vectorised backtest of a :class:`~houseedge.core.policies.protocol.VectorPolicy` over bars.

:func:`backtest` runs four stages in order, each a module that hands its result to the next:

1. :mod:`~houseedge.research.backtest.targets` prepares the bars: the policy's target, the cost
   model's and sizer's inputs, the wanted exposure per execution bar and its changes;
2. :mod:`~houseedge.research.backtest.fills` simulates the fills (the only path-dependent part);
3. :mod:`~houseedge.research.backtest.orders` turns the fills into the orders frame and their
   round-trip trades (:mod:`~houseedge.research.backtest.trades`);
4. :mod:`~houseedge.research.backtest.equity` rebuilds positions, cash and equity per bar;

and returns a :class:`~houseedge.research.backtest.result.BacktestResult`, whose metrics are
computed on first access.

Conventions (each one a parameter, not a special case):

* **Execution** (``execution``): a target decided on bar *t*'s close fills at bar *t + 1*'s open
  (``"next_open"``, default) or close (``"next_close"``). A decision on the last bar never fills.
* **Trading only on change**: a symbol trades only on bars where its wanted exposure differs from
  the previous bar's; between changes the quantity is held (no rebalancing drift).
* **Reversal**: a change of sign first closes the position, then sizes the new one from the
  equity that close realised. At one time, every symbol's closing legs fill before any entry.
* **Sizing** (``sizing``): a :class:`~houseedge.core.sizing.sizers.Sizer` turns the target into
  units, from equity marked at the fill. Default:
  :class:`~houseedge.core.sizing.sizers.FixedFraction` of 1.0 with fractional units.
  backtesting.py's all-in, whole-unit order is
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
  intra-bar conventions. After an exit the symbol stays flat until its target changes again.
* **Rebalancing** (``rebalance``): ``"on_change"`` (default) trades only on changes;
  ``"every_bar"`` or a calendar period (``"1d"``, ``"1w"``, ``"1mo"``) also resizes every held
  position back to its target (the sizer's quantity at that bar) on those bars, so fixed
  weights across symbols stay fixed. A rebalance never reopens a position an exit closed.

Speed: a one-symbol run with fractional :class:`~houseedge.core.sizing.sizers.FixedFraction`
sizing and proportional costs is computed in closed form (equity compounds by one factor per
round trip); every other run walks only its events. ``trades``, ``open_trades`` and
``positions`` are built on first access.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from houseedge.core.costs import NO_COSTS, CostModel
from houseedge.core.policies.protocol import VectorPolicy, allows_short
from houseedge.core.sizing.sizers import FixedFraction, Sizer
from houseedge.research.backtest.equity import equity_curve, positions, single_symbol
from houseedge.research.backtest.exits import Exits
from houseedge.research.backtest.fills import simulate
from houseedge.research.backtest.frame import Execution, Finalize, Rebalance, block_starts
from houseedge.research.backtest.identity import policy_identity
from houseedge.research.backtest.market import FillArrays
from houseedge.research.backtest.orders import orders_and_trades
from houseedge.research.backtest.result import BacktestResult, Deferred
from houseedge.research.backtest.targets import prepare

__all__ = ["assemble", "backtest"]


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
    _check(execution, finalize)
    costs = NO_COSTS if costs is None else costs
    sizing = FixedFraction(1.0) if sizing is None else sizing
    shorts = allows_short(policy) if allow_short is None else allow_short
    frame = prepare(
        bars, policy, costs, sizing, execution=execution, allow_short=shorts, exits=exits
    )
    fills = simulate(
        frame,
        costs,
        sizing,
        cash=cash,
        finalize=finalize,
        execution=execution,
        exits=exits,
        rebalance=rebalance,
    )
    return assemble(
        frame,
        fills,
        policy,
        cash=cash,
        costs=costs,
        sizing=sizing,
        execution=execution,
        finalize=finalize,
        allow_short=shorts,
        periods_per_year=periods_per_year,
        rebalance=rebalance,
        exits=exits,
    )


def assemble(
    frame: pl.DataFrame,
    fills: FillArrays,
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

    ``frame`` and ``fills`` are what :func:`~houseedge.research.backtest.targets.prepare` and
    :func:`~houseedge.research.backtest.fills.simulate` returned (stages 1 and 2); this runs
    stages 3 and 4. :func:`backtest` and the sweep's fast path both finish here, so a
    sweep row is the backtest of its parameters by construction.
    """
    single = block_starts(frame).size <= 1
    # One symbol: the equity needs no orders, so orders and trades may overlap it.
    orders, trades = orders_and_trades(frame, fills, execution, finalize, overlap=single)
    if single:
        curve, book = single_symbol(frame, fills, cash, costs.borrow_rate())
        book_frames: pl.DataFrame | Deferred[pl.DataFrame] = Deferred(book)
    else:
        book_frames = positions(frame, orders.get(), costs.borrow_rate())
        curve = equity_curve(book_frames, orders.get(), cash)
    options: dict[str, Any] = {
        "execution": execution,
        "finalize": finalize,
        "allow_short": allow_short,
    }
    options |= {"cash": cash, "periods_per_year": periods_per_year}
    # Recorded only when used, so runs saved before these options existed read back equal.
    if rebalance != "on_change":
        options["rebalance"] = rebalance
    if exits is not None:
        options["exits"] = exits.params()
    params = _params(policy, costs, sizing, options)
    return BacktestResult.lazy(
        orders,
        Deferred(lambda: trades.get()[0]),
        Deferred(lambda: trades.get()[1]),
        curve,
        book_frames,
        params,
    )


def _params(
    policy: VectorPolicy, costs: CostModel, sizing: Sizer, options: dict[str, Any]
) -> dict[str, Any]:
    """Return what defined a run: the policy, costs and sizing with their parameters, options."""
    return {
        "policy": policy.name,
        "policy_params": dict(policy.params()),
        **policy_identity(policy),
        "costs": costs.name,
        "costs_params": dict(costs.params()),
        "sizing": sizing.name,
        "sizing_params": dict(sizing.params()),
        **options,
    }


def _check(execution: Execution, finalize: Finalize) -> None:
    if execution not in ("next_open", "next_close"):
        msg = f"execution must be 'next_open' or 'next_close', got {execution!r}"
        raise ValueError(msg)
    if finalize not in (None, "open", "close"):
        msg = f"finalize must be None, 'open' or 'close', got {finalize!r}"
        raise ValueError(msg)
