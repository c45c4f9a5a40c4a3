"""Event-driven backtest of an order-level policy, bar by bar.

:func:`run_events` runs an :class:`~houseedge.core.policies.protocol.OrderPolicy`
(``decide(portfolio, snapshot, context) -> Sequence[Order]``) over bars and returns the same
:class:`~houseedge.research.backtest.BacktestResult` columns as the vectorised
:func:`~houseedge.research.backtest.backtest`, plus the life of every order.

Conventions:

* **Time.** The policy decides once per bar time, after the bars at that time closed, and sees
  only bars up to then. What it returns (or asks through the context: cancel, replace) takes
  effect ``1 + latency_bars`` bar times later, before that time's bars are matched: with no
  latency a decision on bar *t*'s close works from bar *t + 1*'s open. A decision on the last
  bar never works.
* **Fills** follow :mod:`houseedge.core.matching` (the paper broker's rules too): market
  orders at the open; limits when the bar trades through the limit (at the open if it gapped
  past it); stops when touched (at the stop, or the open on a gap through); stop-limits
  trigger as stops then rest as limits.
  Orders of a symbol match oldest first.
* **Participation.** With ``participation`` set, one bar fills at most ``participation * volume``
  units of a symbol over all its orders (rounded down to lots); the rest carries to later bars
  (GTC, GTD, DAY within its session) or expires (IOC). FOK fills entirely on its first bar or
  expires.
* **Time in force.** DAY works through the UTC day (session) of the first bar it is active on
  and expires after that day's last bar (one bar for daily bars); GTC until filled or
  cancelled; GTD until the first bar at or after ``expire_ts``; IOC and FOK after their first
  bar. Orders ended by time in force are ``expired``; by a cancel, ``cancelled``.
* **Costs.** The :class:`~houseedge.core.costs.CostModel` moves market and stop fill prices
  (spread, slippage; limits never fill worse than their limit) and charges fees per fill; its
  inputs are read at the bar before the fill bar (the decision bar without latency). Shorts
  pay borrow on every close they are held.
* **Quantities** are whole lots of ``lot_size`` units: an order's quantity is rounded down to a
  lot (an order under one lot is rejected ``below_lot_size``), partial fills are whole lots, and
  positions are integers of lots, so they never drift.
* **End of data** (``finalize``): as in :func:`~houseedge.research.backtest.backtest`.
* No buying-power or position checks: those are the risk gate's (live engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from houseedge.core.costs import NO_COSTS, CostModel
from houseedge.core.policies.protocol import OrderPolicy, policy_hooks
from houseedge.core.types import OrderAnomaly
from houseedge.research.backtest import (
    BacktestResult,
    equity_curve,
    ledger_trades,
    policy_identity,
    positions,
)
from houseedge.research.events._book import Book
from houseedge.research.events._context import EventContext
from houseedge.research.events._loop import Finalize, Loop, Working
from houseedge.research.events._market import build_market, sorted_bars

__all__ = ["EventBacktestResult", "EventContext", "run_events"]


@dataclass(frozen=True)
class EventBacktestResult(BacktestResult):
    """A :class:`BacktestResult` with the life of every order.

    Attributes
    ----------
    order_log
        One row per order: ``order_id, symbol, side, type, tif, qty, limit_price, stop_price,
        decision_ts, status, filled_qty, avg_price, reason, tag``.
    anomalies
        Reports the order state machine could not apply (empty in a correct run).
    """

    order_log: pl.DataFrame = field(default_factory=pl.DataFrame)
    anomalies: pl.DataFrame = field(default_factory=pl.DataFrame)


def run_events(
    bars: pl.DataFrame | pl.LazyFrame,
    policy: OrderPolicy,
    *,
    cash: float = 100_000.0,
    costs: CostModel | None = None,
    participation: float | None = None,
    latency_bars: int = 0,
    lot_size: float = 1.0,
    finalize: Finalize = None,
    periods_per_year: float = 252,
) -> EventBacktestResult:
    """Run an order-level ``policy`` over ``bars`` bar by bar (see the module docstring).

    Parameters
    ----------
    bars
        ``ts, open, high, low, close`` (``volume`` when ``participation`` is set; ``symbol``
        optional, as in :func:`~houseedge.research.backtest.backtest`).
    policy
        The policy. If it has a ``prepare(bars)`` method, it is called once with all the bars
        (sorted by ``symbol, ts``, with a per-symbol ``row``) before the loop, to precompute
        what is provably causal; :class:`VectorAsOrders` uses it.
    cash, costs, finalize, periods_per_year
        As in :func:`~houseedge.research.backtest.backtest`.
    participation
        Largest fraction of a bar's volume the run's orders in a symbol may fill (``(0, 1]``).
    latency_bars
        Extra bar times between a decision and the moment it takes effect.
    lot_size
        The quantity increment (1 for shares; ``1e-8`` for a coin).

    Examples
    --------
    >>> from houseedge.core.types import Side
    >>> class BuyTheDip:
    ...     name = "buy_the_dip"
    ...     def params(self): return {}
    ...     def decide(self, portfolio, snapshot, context):
    ...         if portfolio.qty("asset") or context.open_orders():
    ...             return []
    ...         limit = snapshot.price("asset") * 0.95
    ...         return [context.order("asset", Side.BUY, 10, type="limit", limit_price=limit,
    ...                               tif="gtc")]
    >>> bars = pl.DataFrame({"ts": [1, 2, 3, 4], "open": [100.0, 99.0, 97.0, 96.0],
    ...     "high": [101.0, 100.0, 98.0, 99.0], "low": [99.0, 96.0, 94.0, 95.0],
    ...     "close": [100.0, 97.0, 96.0, 98.0]})
    >>> result = run_events(bars, BuyTheDip(), cash=1_000.0)
    >>> result.orders.select("ts", "side", "qty", "price").rows()
    [(3, 'buy', 10.0, 95.0)]
    >>> result.order_log.select("order_id", "status").rows()
    [('buy_the_dip-1', 'filled')]
    >>> round(result.metrics["final_equity"], 6)
    1030.0
    """
    _check(participation, latency_bars, lot_size, finalize)
    costs = NO_COSTS if costs is None else costs
    frame = sorted_bars(bars, need_volume=participation is not None)
    market = build_market(frame, costs)
    prepare = getattr(policy, "prepare", None)
    if callable(prepare):
        prepare(frame)
    book = Book(market.symbols, lot_size, cash, costs.borrow_rate())
    loop = Loop(market, policy, costs, book, participation, latency_bars, finalize)
    loop.on_fill = policy_hooks(policy).on_fill  # it raises out of the run, as decide does
    loop.run()
    orders = book.frame(frame)
    book_frames = positions(frame, orders, costs.borrow_rate())
    equity = equity_curve(book_frames, orders, cash)
    closed, still_open = ledger_trades(frame, orders, entry_at_open=True, finalize=finalize)
    params = {
        "policy": policy.name,
        "policy_params": dict(policy.params()),
        **policy_identity(policy),
        "costs": costs.name,
        "costs_params": dict(costs.params()),
        "sizing": None,
        "sizing_params": {},
        "execution": "events",
        "finalize": finalize,
        "cash": cash,
        "participation": participation,
        "latency_bars": latency_bars,
        "lot_size": lot_size,
        "periods_per_year": periods_per_year,
    }
    return EventBacktestResult(
        orders,
        closed,
        still_open,
        equity,
        book_frames,
        params,
        order_log=_order_log(loop.orders.values(), frame.schema["ts"]),
        anomalies=_anomalies(loop.anomalies),
    )


def _check(participation: float | None, latency: int, lot: float, finalize: Finalize) -> None:
    if participation is not None and not 0 < participation <= 1:
        msg = f"participation must be in (0, 1], got {participation}"
        raise ValueError(msg)
    if latency < 0:
        msg = f"latency_bars must be >= 0, got {latency}"
        raise ValueError(msg)
    if not lot > 0:
        msg = f"lot_size must be > 0, got {lot}"
        raise ValueError(msg)
    if finalize not in (None, "open", "close"):
        msg = f"finalize must be None, 'open' or 'close', got {finalize!r}"
        raise ValueError(msg)


def _order_log(orders: Sequence[Working] | Any, ts_type: pl.DataType) -> pl.DataFrame:
    rows = [
        (
            w.state.order.client_order_id,
            w.state.order.symbol,
            str(w.state.order.side),
            str(w.state.order.type),
            str(w.state.order.tif),
            float(w.state.order.qty),
            w.state.order.limit_price,
            w.state.order.stop_price,
            w.decided,
            str(w.state.status),
            w.state.filled_qty,
            w.state.avg_price,
            w.state.reason,
            w.state.order.tag,
        )
        for w in orders
    ]
    schema = {
        "order_id": pl.String,
        "symbol": pl.String,
        "side": pl.String,
        "type": pl.String,
        "tif": pl.String,
        "qty": pl.Float64,
        "limit_price": pl.Float64,
        "stop_price": pl.Float64,
        "decision_ts": pl.Int64,
        "status": pl.String,
        "filled_qty": pl.Float64,
        "avg_price": pl.Float64,
        "reason": pl.String,
        "tag": pl.String,
    }
    log = pl.DataFrame(rows, schema=schema, orient="row")
    return log.with_columns(pl.col("decision_ts").cast(ts_type))


def _anomalies(anomalies: list[OrderAnomaly]) -> pl.DataFrame:
    schema = {
        "order_id": pl.String,
        "ts": pl.Int64,
        "status": pl.String,
        "report": pl.String,
        "reason": pl.String,
        "excess": pl.Float64,
        "detail": pl.String,
    }
    rows = [(a.order_id, a.ts, a.status, a.report, a.reason, a.excess, a.detail) for a in anomalies]
    return pl.DataFrame(rows, schema=schema, orient="row")
