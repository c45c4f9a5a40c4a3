"""The vectorised backtest engine: targets in one Polars pass, a loop over changes only.

1. :func:`prepare` evaluates the policy's target (and the cost model's and sizer's inputs) per
   symbol in one Polars pass, shifts it one bar (a decision on bar *t*'s close executes on bar
   *t + 1*) and flags the bars where the wanted exposure changes.
2. :func:`simulate` walks those change bars only (far fewer than bars) in time order: it closes,
   reverses or resizes positions, asks the sizer for quantities from the equity at the fill, and
   applies the cost model. This is the only path-dependent part.
3. ``research._equity`` rebuilds positions, cash and equity per bar from the fills with
   cumulative Polars expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from houseedge.core.costs import CostModel
from houseedge.core.policy import VectorPolicy
from houseedge.core.sizing import Sizer, SizingRequest
from houseedge.errors import PolicyError, SchemaMismatch

Execution = Literal["next_open", "next_close"]
Finalize = Literal["open", "close"] | None

DEFAULT_SYMBOL = "asset"
"""Symbol given to bars that have no ``symbol`` column."""

_COST_PREFIX = "cost:"
_SIZE_PREFIX = "size:"
_REQUIRED = ("ts", "open", "high", "low", "close")


@dataclass(slots=True)
class Fills:
    """Fills as columns, in execution order; ``bar`` is the fill bar's index in the frame."""

    bar: list[int] = field(default_factory=list[int])
    qty: list[float] = field(default_factory=list[float])
    price: list[float] = field(default_factory=list[float])
    fee: list[float] = field(default_factory=list[float])
    reason: list[str] = field(default_factory=list[str])
    position_after: list[float] = field(default_factory=list[float])
    cash_after: list[float] = field(default_factory=list[float])

    def add(
        self, bar: int, qty: float, price: float, fee: float, reason: str,
        after: tuple[float, float],
    ) -> None:  # fmt: skip
        """Record a fill of signed ``qty`` on frame row ``bar``.

        ``after`` is the symbol's position and the trading cash after the fill, kept so the
        per-bar curves carry the loop's exact values instead of re-summing flows (a long
        cumulative sum drifts when equity becomes tiny).
        """
        self.bar.append(bar)
        self.qty.append(qty)
        self.price.append(price)
        self.fee.append(fee)
        self.reason.append(reason)
        self.position_after.append(after[0])
        self.cash_after.append(after[1])

    def frame(self, bars: pl.DataFrame) -> pl.DataFrame:
        """Return the fills as the ``orders`` frame, sorted by time (stable)."""
        at = pl.Series(self.bar, dtype=pl.Int64)
        qty = pl.Series(self.qty, dtype=pl.Float64)
        reason = pl.Series(self.reason, dtype=pl.String)
        ts = bars.get_column("ts").gather(at)
        decided = bars.get_column("decision_ts").gather(at)
        return pl.DataFrame(
            {
                "ts": ts,
                "symbol": bars.get_column("symbol").gather(at),
                "side": pl.Series(["buy" if q > 0 else "sell" for q in self.qty], dtype=pl.String),
                "qty": qty.abs(),
                "price": pl.Series(self.price, dtype=pl.Float64),
                "fee": pl.Series(self.fee, dtype=pl.Float64),
                "reason": reason,
                # An end-of-data close is decided on its own bar.
                "decision_ts": decided.zip_with(reason != "finalize", ts),
                "row": bars.get_column("row").gather(at),
                "position_after": pl.Series(self.position_after, dtype=pl.Float64),
                "cash_after": pl.Series(self.cash_after, dtype=pl.Float64),
            }
        ).sort("ts", maintain_order=True)


def _per_symbol(expr: pl.Expr, multi: bool) -> pl.Expr:
    return expr.over("symbol") if multi else expr


def _sorted_bars(bars: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    frame = bars.collect() if isinstance(bars, pl.LazyFrame) else bars
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        msg = f"bars lack column(s) {', '.join(missing)}"
        raise SchemaMismatch(
            msg, source="backtest", field=missing[0], expected=", ".join(_REQUIRED)
        )
    if "symbol" not in frame.columns:
        frame = frame.with_columns(symbol=pl.lit(DEFAULT_SYMBOL))
    single = frame.get_column("symbol").n_unique() == 1
    if not (single and frame.get_column("ts").is_sorted()):
        frame = frame.sort("symbol", "ts", maintain_order=True)
    return frame


def prepare(
    bars: pl.DataFrame | pl.LazyFrame,
    policy: VectorPolicy,
    costs: CostModel,
    sizing: Sizer,
    *,
    execution: Execution = "next_open",
    allow_short: bool = True,
) -> pl.DataFrame:
    """Return the bars with the wanted exposure per execution bar and the change flags.

    Added columns: ``row`` (bar index within its symbol), ``target`` (the policy's value at the
    bar's close), ``wanted`` (the target decided on the previous bar, i.e. what this bar's fill
    should reach), ``quote`` (this bar's execution price), ``decision_ts``, ``change`` and the
    cost/sizer inputs at the decision bar (prefixed ``cost:``/``size:``).

    Examples
    --------
    >>> from houseedge.core.costs import NO_COSTS
    >>> from houseedge.core.sizing import FixedUnits
    >>> class Above:
    ...     name, warmup = "above", 0
    ...     def params(self): return {}
    ...     def target(self): return (pl.col("close") > 10).cast(pl.Float64)
    >>> bars = pl.DataFrame({"ts": [1, 2, 3], "open": [9.0, 11.0, 12.0], "high": [12.0] * 3,
    ...     "low": [9.0] * 3, "close": [11.0, 12.0, 9.5]})
    >>> prepare(bars, Above(), NO_COSTS, FixedUnits()).select("target", "wanted", "change").rows()
    [(1.0, 0.0, False), (1.0, 1.0, True), (0.0, 1.0, False)]
    """
    frame = _sorted_bars(bars)
    multi = frame.get_column("symbol").n_unique() > 1
    # The policy's expression is evaluated as written, and cleaned in a second step: wrapping
    # it in casts and fills made Polars evaluate a 50-bar window expression three times slower.
    target = pl.col("target").cast(pl.Float64).fill_nan(None).fill_null(0.0)
    if not allow_short:
        target = target.clip(lower_bound=0.0)
    inputs = {f"{_COST_PREFIX}{k}": v for k, v in costs.inputs().items()}
    inputs |= {f"{_SIZE_PREFIX}{k}": v for k, v in sizing.inputs().items()}
    quote = "open" if execution == "next_open" else "close"
    frame = frame.with_columns(
        _per_symbol(policy.target(), multi).alias("target"),
        *(_per_symbol(expr.cast(pl.Float64), multi).alias(name) for name, expr in inputs.items()),
        _per_symbol(pl.int_range(pl.len()), multi).alias("row"),
        pl.col(quote).alias("quote"),
    )
    frame = frame.with_columns(target.alias("target"))
    _check_targets(frame.get_column("target"), policy)
    shifted = [_per_symbol(pl.col(c).shift(1), multi).alias(c) for c in inputs]
    frame = frame.with_columns(
        _per_symbol(pl.col("target").shift(1, fill_value=0.0), multi).alias("wanted"),
        _per_symbol(pl.col("ts").shift(1), multi).alias("decision_ts"),
        *shifted,
    )
    previous = _per_symbol(pl.col("wanted").shift(1, fill_value=0.0), multi)
    return frame.with_columns(change=pl.col("wanted") != previous)


def _check_targets(target: pl.Series, policy: VectorPolicy) -> None:
    bad = target.abs() > 1.0
    if bad.any():
        first = int(bad.arg_true()[0])
        msg = (
            f"policy {policy.name!r} produced target {target[first]} at row {first}; "
            "targets are signed fractions in [-1, 1]"
        )
        raise PolicyError(msg)


def _inputs(prefix: str, columns: Mapping[str, list[Any]], i: int) -> dict[str, float]:
    return {name[len(prefix) :]: values[i] for name, values in columns.items()}


@dataclass(slots=True)
class _Book:
    """Cash and positions while the change bars are walked; records every fill."""

    costs: CostModel
    sizing: Sizer
    symbols: list[str]
    cash: float
    pos: list[float]
    borrowed_to: list[float]
    borrow_paid: float = 0.0
    fills: Fills = field(default_factory=Fills)

    def accrue_borrow(self, s: int, cum_close: float) -> None:
        """Book the borrow of symbol ``s``'s short since its last change (sizing sees it)."""
        if self.pos[s] < 0:
            rate = self.costs.borrow_rate()
            self.borrow_paid -= self.pos[s] * rate * (cum_close - self.borrowed_to[s])
        self.borrowed_to[s] = cum_close

    def trade(
        self, s: int, qty: float, quote: float, inputs: Mapping[str, float], bar: int,
        reason: str,
    ) -> None:  # fmt: skip
        """Fill ``qty`` (signed) units of symbol ``s`` at ``quote`` moved by the cost model."""
        price = self.costs.fill_price(quote, 1 if qty > 0 else -1, inputs)
        fee = self.costs.fee(abs(qty), price)
        self.cash -= qty * price + fee
        new = self.pos[s] + qty
        # A close must leave exactly nothing, not float dust.
        self.pos[s] = 0.0 if reason in ("close", "finalize") else new
        self.fills.add(bar, qty, price, fee, reason, (self.pos[s], self.cash))

    def size(
        self, s: int, wanted: float, quote: float, equity: float,
        inputs: tuple[dict[str, float], dict[str, float]],
    ) -> float:  # fmt: skip
        """Return the signed units the sizer wants for ``wanted`` exposure of symbol ``s``.

        ``inputs`` holds the cost model's and the sizer's inputs at the decision bar.
        """
        estimate = self.costs.fill_price(quote, 1 if wanted > 0 else -1, inputs[0])
        request = SizingRequest(
            symbol=self.symbols[s], target=wanted, price=estimate, equity=equity,
            cash=self.cash - self.borrow_paid,
            position=self.pos[s], fee_rate=self.costs.fee_rate(estimate),
            n_symbols=len(self.symbols), inputs=inputs[1],
        )  # fmt: skip
        qty = float(self.sizing.quantity(request))
        if qty * wanted < 0 or qty != qty:
            msg = f"sizer {self.sizing.name!r} returned {qty} units for target {wanted}"
            raise PolicyError(msg)
        return qty


@dataclass(slots=True)
class _Events:
    """The change bars as Python lists, in time order."""

    sym: list[int]
    ts: list[int]
    bar: list[int]
    quote: list[float]
    wanted: list[float]
    cum_close: list[float]
    cost_inputs: dict[str, list[Any]]
    size_inputs: dict[str, list[Any]]

    @classmethod
    def of(cls, frame: pl.DataFrame, symbols: list[str]) -> _Events:
        codes = {name: i for i, name in enumerate(symbols)}

        def lists(prefix: str) -> dict[str, list[Any]]:
            return {c: frame.get_column(c).to_list() for c in frame.columns if c.startswith(prefix)}

        return cls(
            sym=[codes[s] for s in frame.get_column("symbol").to_list()],
            ts=frame.get_column("ts_key").to_list(),
            bar=frame.get_column("bar").to_list(),
            quote=frame.get_column("quote").to_list(),
            wanted=frame.get_column("wanted").to_list(),
            cum_close=frame.get_column("cum_close").to_list(),
            cost_inputs=lists(_COST_PREFIX),
            size_inputs=lists(_SIZE_PREFIX),
        )  # fmt: skip


def _marks(frame: pl.DataFrame, times: pl.Series, symbols: list[str]) -> np.ndarray[Any, Any]:
    """Return each symbol's price at each event time.

    That is the quote when the symbol has a bar then, else its last close (0 before its first
    bar, where it cannot be held).
    """
    grid = pl.DataFrame({"ts": times})
    columns: list[np.ndarray[Any, Any]] = []
    for symbol in symbols:
        bars = frame.filter(pl.col("symbol") == symbol).select(
            "ts", "quote", "close", bar_ts=pl.col("ts")
        )
        joined = grid.join_asof(bars, on="ts", strategy="backward")
        mark = pl.when(pl.col("bar_ts") == pl.col("ts")).then("quote").otherwise("close")
        columns.append(joined.select(mark.fill_null(0.0)).to_series().to_numpy())
    return np.column_stack(columns)


def simulate(
    frame: pl.DataFrame, costs: CostModel, sizing: Sizer, *, cash: float, finalize: Finalize
) -> pl.DataFrame:
    """Walk the change bars of a frame from :func:`prepare`; return the fills (orders frame)."""
    symbols = frame.get_column("symbol").unique(maintain_order=True).to_list()
    multi = len(symbols) > 1
    frame = frame.with_columns(
        cum_close=_per_symbol(pl.col("close").cum_sum().shift(1, fill_value=0.0), multi),
        bar=pl.int_range(pl.len()),
        ts_key=pl.col("ts").to_physical(),
    )
    changes = frame.filter("change").sort("ts", "symbol", maintain_order=True)
    events = _Events.of(changes, symbols)
    book = _Book(costs, sizing, symbols, cash, [0.0] * len(symbols), [0.0] * len(symbols))
    times = changes.get_column("ts").unique(maintain_order=True)
    marks = _marks(frame, times, symbols) if multi else None
    # Positions still open at the end close in time order with the other fills, so the
    # running cash recorded with each fill is the cash at that time.
    ends = _last_bars(frame) if finalize is not None else []
    start, group, done, n = 0, 0, 0, len(events.ts)
    while start < n:
        stop = start + 1
        while stop < n and events.ts[stop] == events.ts[start]:
            stop += 1
        while done < len(ends) and ends[done]["ts_key"] < events.ts[start]:
            _finalize(book, ends[done], finalize)
            done += 1
        _apply_group(book, events, range(start, stop), None if marks is None else marks[group])
        start, group = stop, group + 1
    for row in ends[done:]:
        _finalize(book, row, finalize)
    return book.fills.frame(frame)


def _apply_group(book: _Book, ev: _Events, idx: range, marks: np.ndarray[Any, Any] | None) -> None:
    """Apply the changes that execute at one time: every closing leg first, then the entries."""
    for i in idx:
        s, held, wanted = ev.sym[i], book.pos[ev.sym[i]], ev.wanted[i]
        book.accrue_borrow(s, ev.cum_close[i])
        if held != 0 and (wanted == 0 or wanted * held < 0):
            inputs = _inputs(_COST_PREFIX, ev.cost_inputs, i)
            book.trade(s, -held, ev.quote[i], inputs, ev.bar[i], "close")
    equity: float | None = None
    for i in idx:
        s, wanted = ev.sym[i], ev.wanted[i]
        if wanted == 0:
            continue
        if equity is None:
            held_value = (
                book.pos[s] * ev.quote[i] if marks is None else float(np.dot(book.pos, marks))
            )
            equity = book.cash - book.borrow_paid + held_value
        cost_inputs = _inputs(_COST_PREFIX, ev.cost_inputs, i)
        size_inputs = _inputs(_SIZE_PREFIX, ev.size_inputs, i)
        sized = book.size(s, wanted, ev.quote[i], equity, (cost_inputs, size_inputs))
        delta = sized - book.pos[s]
        if delta != 0:
            reason = "open" if book.pos[s] == 0 else "resize"
            book.trade(s, delta, ev.quote[i], cost_inputs, ev.bar[i], reason)


def _last_bars(frame: pl.DataFrame) -> list[dict[str, Any]]:
    last = frame.group_by("symbol", maintain_order=True).last().sort("ts", maintain_order=True)
    return list(last.iter_rows(named=True))


def _finalize(book: _Book, row: dict[str, Any], finalize: Finalize) -> None:
    """Close a symbol's open position on its last bar (``row``), at its open or close."""
    s = book.symbols.index(row["symbol"])
    if book.pos[s] == 0 or finalize is None:
        return
    book.accrue_borrow(s, row["cum_close"])
    inputs = {k[len(_COST_PREFIX) :]: v for k, v in row.items() if k.startswith(_COST_PREFIX)}
    book.trade(s, -book.pos[s], row[finalize], inputs, row["bar"], "finalize")
