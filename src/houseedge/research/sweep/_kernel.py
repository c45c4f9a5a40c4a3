"""The sweep's fast path: indicators computed once, targets as columns, the engine per target.

A policy class opts in through an adapter (a
:class:`~houseedge.core.policies.fastpaths.Decomposition`) registered for its class as its
``"sweep_target"`` fast path (:func:`register_decomposition`, or
:func:`~houseedge.core.policies.fastpaths.register_fast_path`), so the policies themselves stay
untouched; the crosses' adapter is registered at the bottom of this module:

* ``indicators(params)`` names the indicator expressions one parameter set needs
  (``{"sma_10": sma("close", 10), ...}``); the same name means the same values, so a sweep
  evaluates each distinct name once for the whole grid;
* ``target_from(columns, params)`` builds the target from those columns (``pl.col`` of the
  names), exactly as the policy's own ``target()`` would compute it;
* optionally ``batch(names)``: one expression returning a struct with all those indicators,
  when computing them together is cheaper (the exact SMAs share one split into limbs);
* optionally ``arrays(close, names)`` and ``target_array(arrays, params)``: one symbol's
  indicators and a set's target straight in NumPy (None: use the expressions). The target may
  be boolean or ``int8`` with nulls already flat: the values ``prepare`` would clean it to.

Each chunk of parameter sets is then one Polars ``select`` of target columns over the indicator
frame (or one NumPy target per set), and each target goes through the backtest engine's own
steps (``prepare``'s cleaning and shift, ``simulate``, the equity rebuild): the prepared bars
are built once for the sweep, so a combination's fills, trades and equity equal
``backtest()``'s for that parameter set. A sweep that keeps only metrics hands the targets to
the metrics-only kernel first (:mod:`houseedge.research.sweep._metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from houseedge.core.costs import CostModel
from houseedge.core.features.indicators import ema, sma
from houseedge.core.features.window_sum import window_sums
from houseedge.core.policies import (
    Decomposition,
    EmaCross,
    SmaCross,
    allows_short,
    crossing,
    fast_path,
    register_fast_path,
)
from houseedge.core.sizing.sizers import Sizer
from houseedge.errors import PolicyError
from houseedge.research.backtest import (
    BacktestResult,
    assemble,
    block_starts,
    holdings_per_bar,
    prepare,
    simulate,
)

Params = Mapping[str, Any]


def register_decomposition(cls: type, decomposition: Decomposition) -> None:
    """Let sweeps of ``cls`` take the fast path through ``decomposition``.

    The same as ``register_fast_path("sweep_target", cls, decomposition)``.
    """
    register_fast_path("sweep_target", cls, decomposition)


def decomposition_of(cls: Any) -> Decomposition | None:
    """Return the registered decomposition of a policy class (None: general path)."""
    return fast_path("sweep_target", cls) if isinstance(cls, type) else None


def _means(close: np.ndarray[Any, Any], names: Sequence[str]) -> dict[str, np.ndarray[Any, Any]]:
    """Return the exact SMAs ``sma_<n>`` of ``close`` (NaN: null), all from one limb split."""
    ns = tuple(int(name.removeprefix("sma_")) for name in names)
    sums = window_sums(close, ns)
    # features.window_means divides each sum by n: the same bits (in place: no new buffers).
    return {name: np.divide(s, n, out=s) for name, s, n in zip(names, sums, ns, strict=True)}


def _exact_means(names: Sequence[str]) -> pl.Expr:
    """Return a struct of the exact SMAs ``sma_<n>`` of ``close``, all from one limb split."""

    def evaluate(series: pl.Series) -> pl.Series:
        columns = [
            pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)
            for name, values in _means(series.to_numpy(), names).items()
        ]
        return pl.struct(columns, eager=True).alias(series.name)

    dtype = pl.Struct(dict.fromkeys(names, pl.Float64))
    return pl.col("close").cast(pl.Float64).map_batches(evaluate, return_dtype=dtype)


@dataclass(frozen=True)
class _Cross:
    """SmaCross and EmaCross: two averages, the target from their difference."""

    kind: str  # "sma" or "ema"

    def indicators(self, params: Params) -> dict[str, pl.Expr]:
        build = sma if self.kind == "sma" else ema
        return {f"{self.kind}_{n}": build("close", n) for n in (params["fast"], params["slow"])}

    def target_from(self, columns: Mapping[str, pl.Expr], params: Params) -> pl.Expr:
        fast = columns[f"{self.kind}_{params['fast']}"]
        slow = columns[f"{self.kind}_{params['slow']}"]
        mode = params.get("mode", "long_only")
        signal = params.get("signal", "level")
        if self.kind == "sma" and signal == "level":
            # SmaCross computes sign(fast - slow) in NumPy, NaN while either average is null;
            # Polars' sign and clip give the same values and nulls (which the engine treats
            # as flat, as it does NaN).
            side = (fast - slow).sign()
            return side if mode == "long_short" else side.clip(lower_bound=0.0)
        return crossing(fast - slow, mode, signal)

    def batch(self, names: Sequence[str]) -> pl.Expr | None:
        return _exact_means(names) if self.kind == "sma" else None

    def arrays(
        self, close: np.ndarray[Any, Any], names: Sequence[str]
    ) -> dict[str, np.ndarray[Any, Any]] | None:
        """Return one symbol's indicators in NumPy (NaN: null); None: evaluate them in Polars."""
        return _means(close, names) if self.kind == "sma" else None

    def target_array(
        self, arrays: Mapping[str, np.ndarray[Any, Any]], params: Params
    ) -> np.ndarray[Any, Any] | None:
        """Return an SMA level target in NumPy, null (warm-up) as flat; None: use Polars.

        ``fast > slow`` is ``sign(fast - slow) > 0`` for every pair of doubles (a difference
        of distinct finite doubles is never zero), and NaN compares false: the values of the
        Polars target once ``prepare`` has cleaned it, without its four passes.
        """
        if self.kind != "sma" or params.get("signal", "level") != "level":
            return None
        fast, slow = arrays[f"sma_{params['fast']}"], arrays[f"sma_{params['slow']}"]
        up = fast > slow
        if params.get("mode", "long_only") != "long_short":
            return up
        return up.view(np.int8) - (fast < slow).view(np.int8)


@dataclass(frozen=True)
class Setup:
    """What every combination of a sweep shares: the options and the prepared bars."""

    cash: float
    costs: CostModel
    sizing: Sizer
    execution: Any
    allow_short: bool | None
    finalize: Any
    periods_per_year: float


class _Flat:
    """A placeholder policy: ``prepare`` builds the bars' engine columns once with it."""

    name, warmup = "flat", 0

    def params(self) -> dict[str, Any]:
        return {}

    def target(self) -> pl.Expr:
        return pl.lit(0.0)


@dataclass(frozen=True)
class Prepared:
    """The bars prepared once for a sweep, and their indicators (Polars or NumPy)."""

    frame: pl.DataFrame  # vectorized.prepare's output (target columns overwritten per set)
    starts: np.ndarray[Any, Any]
    names: tuple[str, ...]  # the indicator columns
    build: Callable[[], pl.DataFrame]  # the indicator frame, built on first use
    arrays: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict[str, Any])
    _built: list[pl.DataFrame] = field(default_factory=list[pl.DataFrame])

    @property
    def indicators(self) -> pl.DataFrame:
        """Return the indicator frame (one column per name; ``symbol`` too for several)."""
        if not self._built:
            self._built.append(self.build())
        return self._built[0]

    def array(self, name: str) -> np.ndarray[Any, Any]:
        """Return an indicator column as NumPy (null as NaN), converted once per sweep."""
        if name not in self.arrays:
            self.arrays[name] = self.indicators.get_column(name).to_numpy()
        return self.arrays[name]


def prepare_bars(
    bars: pl.DataFrame | pl.LazyFrame,
    setup: Setup,
    decomposition: Decomposition,
    params: Sequence[Params],
) -> Prepared:
    """Prepare the bars and compute every distinct indicator of ``params`` in one pass.

    One symbol's indicators come straight from the decomposition's ``arrays`` when it has
    them (no round trip through Polars); the frame is then built from them only if a target
    needs Polars.
    """
    frame = prepare(
        bars, _Flat(), setup.costs, setup.sizing, execution=setup.execution, allow_short=True
    )  # type: ignore[arg-type]
    starts = block_starts(frame)
    multi = starts.size > 1
    exprs: dict[str, pl.Expr] = {}
    for p in params:
        exprs |= decomposition.indicators(p)
    names = tuple(sorted(exprs))
    in_numpy = getattr(decomposition, "arrays", None)
    if in_numpy is not None and names and not multi:
        arrays = in_numpy(frame.get_column("close").cast(pl.Float64).to_numpy(), names)
        if arrays is not None:

            def build() -> pl.DataFrame:
                return pl.DataFrame(
                    [pl.Series(n, a, dtype=pl.Float64, nan_to_null=True) for n, a in arrays.items()]
                )

            return Prepared(frame, starts, names, build, dict(arrays))
    return Prepared(frame, starts, names, lambda: _indicators(frame, decomposition, exprs, multi))


def _indicators(
    frame: pl.DataFrame, decomposition: Decomposition, exprs: dict[str, pl.Expr], multi: bool
) -> pl.DataFrame:
    batch: Callable[[Sequence[str]], pl.Expr | None] | None = getattr(decomposition, "batch", None)
    together = batch(sorted(exprs)) if batch is not None and exprs else None
    if together is not None:
        expr = together.over("symbol") if multi else together
        indicators = frame.select(expr.alias("_all")).unnest("_all")
    else:
        indicators = frame.select(
            (e.over("symbol") if multi else e).alias(n) for n, e in exprs.items()
        )
    if multi:
        indicators = indicators.with_columns(frame.get_column("symbol"))
    return indicators


def targets(prepared: Prepared, decomposition: Decomposition, chunk: Sequence[Params]) -> list[Any]:
    """Return the raw target of each parameter set of ``chunk``.

    From the decomposition's ``target_array`` when it has one for the set (one symbol), else
    from one Polars pass over the indicator frame for all the remaining sets.
    """
    multi = prepared.starts.size > 1
    in_numpy = getattr(decomposition, "target_array", None)
    out: list[Any] = [None] * len(chunk)
    if in_numpy is not None and not multi:
        arrays = _IndicatorArrays(prepared)
        out = [in_numpy(arrays, p) for p in chunk]
    rest = [i for i, value in enumerate(out) if value is None]
    if not rest:
        return out
    columns = {name: pl.col(name) for name in prepared.indicators.columns}
    exprs: list[pl.Expr] = []
    for i in rest:
        expr = decomposition.target_from(columns, chunk[i])
        exprs.append((expr.over("symbol") if multi else expr).alias(f"t{i}"))
    values = prepared.indicators.select(exprs)
    for i in rest:
        out[i] = values.get_column(f"t{i}").cast(pl.Float64).to_numpy()
    return out


class _IndicatorArrays(Mapping[str, np.ndarray[Any, Any]]):
    """The indicator columns by name, converted to NumPy on first use."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared

    def __getitem__(self, name: str) -> np.ndarray[Any, Any]:
        return self.prepared.array(name)

    def __iter__(self) -> Any:
        return iter(self.prepared.names)

    def __len__(self) -> int:
        return len(self.prepared.names)


def _shift(values: np.ndarray[Any, Any], starts: np.ndarray[Any, Any]) -> Any:
    out = np.empty_like(values)
    out[1:] = values[:-1]
    out[starts] = 0.0
    return out


def _fills(
    prepared: Prepared, setup: Setup, policy: Any, raw: np.ndarray[Any, Any]
) -> tuple[pl.DataFrame, Any, bool]:
    """Return the engine frame, the fills and the shorts flag of a target column ``raw``.

    The steps of ``vectorized.prepare`` after the policy's expression, then ``simulate``.
    """
    raw = raw.astype(np.float64, copy=False)  # a NumPy target may be boolean or int8
    target = np.where(raw == raw, raw, 0.0)  # null and NaN: flat
    shorts = allows_short(policy) if setup.allow_short is None else setup.allow_short
    if not shorts:
        target = np.maximum(target, 0.0)
    if (np.abs(target) > 1.0).any():
        raise PolicyError(f"policy {policy.name!r} produced a target outside [-1, 1]")
    wanted = _shift(target, prepared.starts)
    frame = prepared.frame.with_columns(
        pl.Series("target", target),
        pl.Series("wanted", wanted),
        pl.Series("change", wanted != _shift(wanted, prepared.starts)),
    )
    fills = simulate(
        frame,
        setup.costs,
        setup.sizing,
        cash=setup.cash,
        finalize=setup.finalize,
        execution=setup.execution,
    )
    return frame, fills, shorts


def run_target(
    prepared: Prepared, setup: Setup, policy: Any, raw: np.ndarray[Any, Any]
) -> BacktestResult:
    """Return the backtest of ``policy`` whose target column evaluated to ``raw``.

    The same functions as ``backtest`` on the same arrays, so the same result.
    """
    frame, fills, shorts = _fills(prepared, setup, policy, raw)
    return assemble(
        frame,
        fills,
        policy,
        cash=setup.cash,
        costs=setup.costs,
        sizing=setup.sizing,
        execution=setup.execution,
        finalize=setup.finalize,
        allow_short=shorts,
        periods_per_year=setup.periods_per_year,
    )


@dataclass(frozen=True)
class Curve:
    """What a sweep's metrics read from one run: fills, per-bar equity and returns."""

    fills: Any
    equity: np.ndarray[Any, Any]
    cash: float
    held: np.ndarray[Any, Any]
    filled: np.ndarray[Any, Any]

    def returns(self) -> pl.Series:
        """Return the per-bar returns as ``single_symbol`` computes them (same bits)."""
        first = self.equity[0] / self.cash - 1.0 if self.equity.size else 0.0
        return pl.Series(self.equity).pct_change().fill_null(first)


def run_curve(
    prepared: Prepared, setup: Setup, policy: Any, raw: np.ndarray[Any, Any]
) -> Curve | None:
    """Return the fills and equity of a one-symbol run without the result frames.

    The equity is ``single_symbol``'s (cash after the last fill plus the position marked on
    the close), the returns its Polars ``pct_change``: the same bits. None when the run
    needs the full rebuild (several symbols, borrow, resized positions).
    """
    if prepared.starts.size > 1 or setup.costs.borrow_rate():
        return None
    frame, fills, _ = _fills(prepared, setup, policy, raw)
    before = fills.position_after - fills.qty
    if not ((before == 0) | (fills.position_after == 0)).all():
        return None  # resizes: trades need the ledger
    return curve_of(fills, frame.get_column("close").to_numpy(), setup.cash)


def curve_of(fills: Any, close: np.ndarray[Any, Any], cash: float) -> Curve:
    """Return the :class:`Curve` of a one-symbol run's fills (``single_symbol``'s equity).

    ``fills`` needs ``bar, qty, fee, position_after, cash_after`` in execution order.
    """
    money, held, filled = holdings_per_bar(close.size, fills, cash)
    return Curve(fills, money + held * close, cash, held, filled)


register_fast_path("sweep_target", SmaCross, _Cross("sma"))
register_fast_path("sweep_target", EmaCross, _Cross("ema"))
