"""Growth, drawdown and ruin against the bet fraction: the Kelly curve as a frame and a chart.

An *edge* is either a binary bet ``(p, b)`` (a tuple: win probability and net odds) or a sample of
per-period simple returns (a list, array or Series). Betting a constant fraction ``f`` of wealth
each period turns a return ``r`` into the wealth factor ``1 + f r`` (``1 + f b`` or ``1 - f`` for
the bet). :func:`growth_curve` gives the exact expected log growth per period (the binary closed
form, or the mean of ``ln(1 + f r)`` over the sample, i.e. under its i.i.d. bootstrap);
:func:`fraction_sweep` adds a seeded simulation of ``periods`` periods on ``n_paths`` paths (the
same random draws for every fraction): simulated growth, median terminal wealth, drawdowns and the
probability of ruin (wealth at or below ``ruin_floor`` times the start at some point).
:func:`growth_chart` draws the sweep with ``f*``, ``f*/2`` and ``2 f*`` marked.
"""

# matplotlib's stubs type every **kwargs as Unknown, so each call would count as partially unknown
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from houseedge.core.sizing.target_hitting import binary_log_growth, kelly_binary, maximise

__all__ = ["fraction_sweep", "growth_chart", "growth_curve", "kelly_fraction"]

Edge = tuple[float, float] | Sequence[float] | np.ndarray[Any, Any] | pl.Series
_Array = np.ndarray[Any, np.dtype[np.float64]]


def _returns(edge: Edge) -> _Array | None:
    """Return the sample of returns, or ``None`` for a binary bet (a tuple)."""
    if isinstance(edge, tuple):
        if len(edge) != 2:
            msg = f"a binary bet is a (p, b) tuple, got {len(edge)} values"
            raise ValueError(msg)
        kelly_binary(*edge)  # validates p and b
        return None
    returns = np.asarray(edge.to_numpy() if isinstance(edge, pl.Series) else edge, dtype=float)
    returns = returns[np.isfinite(returns)]
    if returns.size < 2:
        msg = f"need at least two finite returns, got {returns.size}"
        raise ValueError(msg)
    return returns


def _log_growth(edge: Edge, returns: _Array | None, f: float) -> float:
    if returns is None:
        p, b = edge  # pyright: ignore[reportGeneralTypeIssues]
        return binary_log_growth(f, float(p), float(b))
    factors = 1.0 + f * returns
    if (factors <= 0.0).any():
        return -math.inf
    return float(np.log(factors).mean())


def kelly_fraction(edge: Edge) -> float:
    """Return the fraction maximising the expected log growth of ``edge`` (0 without an edge).

    For a binary bet this is ``p - (1 - p) / b``; for returns it is found numerically over the
    fractions that cannot lose everything (``mean / variance`` is its small-return approximation).

    Examples
    --------
    >>> round(kelly_fraction((0.6, 1.0)), 6)
    0.2
    >>> returns = [0.05, -0.03, 0.02, -0.01]
    >>> round(kelly_fraction(returns), 2), round(float(np.mean(returns) / np.var(returns)), 2)
    (8.8, 8.16)
    """
    returns = _returns(edge)
    if returns is None:
        p, b = edge  # pyright: ignore[reportGeneralTypeIssues]
        return kelly_binary(float(p), float(b))
    if returns.mean() <= 0:
        return 0.0
    worst = float(returns.min())
    approx = float(returns.mean() / returns.var()) if returns.var() > 0 else 1.0
    upper = 3.0 * approx if worst >= 0 else min(3.0 * approx, -1.0 / worst * (1 - 1e-9))
    grid = np.linspace(0.0, upper, 61).tolist()
    return maximise(lambda f: _log_growth(edge, returns, f), grid, tolerance=1e-9)[0]


def _fractions(edge: Edge, fractions: Sequence[float] | None) -> _Array:
    if fractions is not None:
        return np.asarray(fractions, dtype=float)
    kelly = kelly_fraction(edge)
    return np.linspace(0.0, 2.0 * kelly if kelly > 0 else 1.0, 41)


def growth_curve(edge: Edge, fractions: Sequence[float] | None = None) -> pl.DataFrame:
    """Return the exact expected log growth per period for each fraction.

    Default fractions: 41 points from 0 to ``2 f*`` (0 to 1 without an edge). Columns:
    ``fraction``, ``expected_log_growth`` (``-inf`` where a loss can wipe out the bankroll).

    Examples
    --------
    >>> curve = growth_curve((0.6, 1.0))
    >>> curve.height, round(curve["fraction"][curve["expected_log_growth"].arg_max()], 6)
    (41, 0.2)
    """
    returns = _returns(edge)
    grid = _fractions(edge, fractions)
    growth = [_log_growth(edge, returns, float(f)) for f in grid]
    return pl.DataFrame({"fraction": grid, "expected_log_growth": growth})


def _outcomes(edge: Edge, returns: _Array | None, shape: tuple[int, int], seed: int) -> _Array:
    """Return simulated per-period returns of the edge (a bootstrap of a sample)."""
    rng = np.random.default_rng(seed)
    if returns is None:
        p, b = edge  # pyright: ignore[reportGeneralTypeIssues]
        return np.where(rng.random(shape) < float(p), float(b), -1.0)
    return returns[rng.integers(0, returns.size, size=shape)]


def _path_stats(outcomes: _Array, f: float, ruin_floor: float) -> dict[str, float]:
    """Return growth, terminal wealth, drawdown and ruin over paths betting ``f`` each period."""
    factors = np.maximum(1.0 + f * outcomes, 0.0)
    with np.errstate(divide="ignore"):
        log_wealth = np.log(factors).cumsum(axis=1)
    wealth = np.exp(log_wealth)
    peak = np.maximum(np.maximum.accumulate(wealth, axis=1), 1.0)
    drawdown = (1.0 - wealth / peak).max(axis=1)
    return {
        "simulated_log_growth": float(log_wealth[:, -1].mean() / outcomes.shape[1]),
        "median_terminal_wealth": float(np.median(wealth[:, -1])),
        "max_drawdown_median": float(np.median(drawdown)),
        "max_drawdown_p95": float(np.quantile(drawdown, 0.95)),
        "ruin_probability": float((wealth.min(axis=1) <= ruin_floor).mean()),
    }


def fraction_sweep(
    edge: Edge,
    fractions: Sequence[float] | None = None,
    *,
    periods: int = 252,
    n_paths: int = 1_000,
    seed: int = 0,
    ruin_floor: float = 0.5,
) -> pl.DataFrame:
    """Return growth, terminal wealth, drawdown and ruin per bet fraction (exact and simulated).

    Columns: ``fraction``, ``expected_log_growth`` (exact, per period), ``simulated_log_growth``
    (mean log terminal wealth / ``periods``), ``median_terminal_wealth`` (start = 1),
    ``max_drawdown_median``, ``max_drawdown_p95`` (fractions of the peak) and
    ``ruin_probability`` (wealth ever at or below ``ruin_floor``). Same ``seed``, same frame.

    Examples
    --------
    >>> sweep = fraction_sweep((0.6, 1.0), [0.0, 0.2, 0.4], periods=100, n_paths=200)
    >>> sweep.columns[:3]
    ['fraction', 'expected_log_growth', 'simulated_log_growth']
    >>> sweep["max_drawdown_median"].to_list()[0]  # betting nothing never loses
    0.0
    """
    if periods < 1 or n_paths < 1:
        msg = f"periods and n_paths must be >= 1, got {periods} and {n_paths}"
        raise ValueError(msg)
    if not 0.0 <= ruin_floor < 1.0:
        msg = f"ruin_floor must be in [0, 1), got {ruin_floor}"
        raise ValueError(msg)
    curve = growth_curve(edge, fractions)
    outcomes = _outcomes(edge, _returns(edge), (n_paths, periods), seed)
    stats = [_path_stats(outcomes, float(f), ruin_floor) for f in curve["fraction"]]
    return pl.concat([curve, pl.DataFrame(stats, orient="row")], how="horizontal")


def growth_chart(frame: pl.DataFrame, path: str | Path, *, kelly: float | None = None) -> Path:
    r"""Draw a :func:`fraction_sweep` frame to a PNG at ``path``; return the path.

    The top panel shows the expected log growth (line) and the simulated one (dots); the bottom
    panel ruin probability and drawdowns. ``f*`` (default: the fraction with the highest
    expected growth), ``f*/2`` and ``2 f*`` (where growth is about zero) are marked.

    Examples
    --------
    >>> import tempfile
    >>> sweep = fraction_sweep((0.6, 1.0), periods=50, n_paths=100)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     png = growth_chart(sweep, Path(tmp) / "growth.png")
    ...     png.read_bytes()[:4]
    b'\x89PNG'
    """
    x = frame["fraction"].to_numpy()
    growth = frame["expected_log_growth"].to_numpy()
    if kelly is None:
        kelly = float(x[int(np.nanargmax(np.where(np.isfinite(growth), growth, np.nan)))])
    figure = Figure(figsize=(9.0, 6.5), dpi=100)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.plot(x, growth, color="#1f5fa8", label="expected (exact)")
    if "simulated_log_growth" in frame.columns:
        top.plot(
            x,
            frame["simulated_log_growth"].to_numpy(),
            "o",
            ms=3,
            color="#e67e22",
            label="simulated",
        )
        bottom.plot(x, frame["ruin_probability"].to_numpy(), color="#c0392b", label="P(ruin)")
        bottom.plot(
            x,
            frame["max_drawdown_median"].to_numpy(),
            color="#7f7f7f",
            label="max drawdown, median",
        )
        bottom.plot(
            x,
            frame["max_drawdown_p95"].to_numpy(),
            "--",
            color="#7f7f7f",
            label="max drawdown, 95th pct",
        )
    top.axhline(0.0, color="black", linewidth=0.8)
    marks = (
        (kelly / 2, "f*/2", "left"),
        (kelly, "f*", "left"),
        (2 * kelly, "2f*: growth ~ 0", "right"),
    )
    for value, label, side in marks:
        for ax in (top, bottom):
            ax.axvline(value, color="#2c3e50", linestyle=":", linewidth=1.0)
        top.annotate(
            label,
            (value, 0.0),
            xycoords=("data", "axes fraction"),
            ha=side,
            xytext=(3 if side == "left" else -3, 4),
            textcoords="offset points",
            fontsize=9,
        )
    top.set_ylabel("log growth per period")
    top.set_title("Growth against bet fraction", loc="left")
    bottom.set_xlabel("fraction of wealth bet")
    bottom.set_ylabel("probability / drawdown")
    for ax in (top, bottom):
        ax.grid(visible=True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    target = Path(path)
    figure.savefig(target, format="png", metadata={"Software": None})
    return target
