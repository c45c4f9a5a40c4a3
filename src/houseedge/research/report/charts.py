"""Tearsheet charts rendered to PNG bytes with matplotlib's object-oriented API.

Every chart builds its own :class:`~matplotlib.figure.Figure` on an Agg canvas and never touches
``pyplot``: no global figure registry, no GUI backend, so charts render headless and from several
threads at once. Each function returns the PNG file's bytes (no ``Software`` metadata, so the same
data gives the same bytes).

Time columns may be temporal (plotted as UTC dates) or plain numbers (plotted as they are). Text
drawn on a chart goes through :func:`plain_text`, so a ``$`` in a symbol name is not read as
mathtext.
"""

# matplotlib's stubs type every **kwargs as Unknown, so each call would count as partially unknown
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.container import BarContainer
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

__all__ = [
    "PNG_SIGNATURE",
    "drawdown_chart",
    "equity_chart",
    "exposure_chart",
    "histogram_chart",
    "monthly_returns_chart",
    "plain_text",
    "rolling_sharpe_chart",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_WIDTH, _HEIGHT, _DPI = 10.0, 3.6, 100
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STRATEGY, _BENCHMARK, _LOSS = "#1f5fa8", "#7f7f7f", "#c0392b"


def plain_text(text: str) -> str:
    r"""Return ``text`` safe to draw: ``$`` escaped so matplotlib shows it literally.

    Examples
    --------
    >>> print(plain_text("US$ 5"))
    US\$ 5
    """
    return text.replace("$", r"\$")


def _figure(
    height: float = _HEIGHT, *, left: float = 1.0, right: float = 0.25, bottom: float = 0.5
) -> tuple[Figure, Axes]:
    """Return a figure with fixed margins in inches.

    Fixed margins, not ``layout="constrained"``: the layout engine measures every text twice
    and more than doubles the render time, and these charts' texts have known sizes.
    """
    figure = Figure(figsize=(_WIDTH, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(
        left=left / _WIDTH,
        right=1.0 - right / _WIDTH,
        bottom=bottom / height,
        top=1.0 - 0.4 / height,
    )
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _x(ax: Axes, ts: pl.Series) -> np.ndarray[Any, Any]:
    """Return plottable x values, with a concise date axis when ``ts`` is temporal."""
    if not ts.dtype.is_temporal():
        return ts.cast(pl.Float64).to_numpy()
    if isinstance(ts.dtype, pl.Datetime) and ts.dtype.time_zone is not None:
        ts = ts.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return ts.to_numpy()


def _finish(ax: Axes, title: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=12)
    ax.set_ylabel(ylabel)
    ax.grid(visible=True, alpha=0.3)
    ax.margins(x=0)


def _legend(ax: Axes) -> None:
    # above the plot, right of the left-aligned title: a legend inside would hide data
    ax.legend(
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=3,
        frameon=False,
        borderaxespad=0.1,
        fontsize=9,
    )


def _thousands(value: float, _position: int | None) -> str:
    return f"{value:,.0f}"


def _floats(series: pl.Series) -> np.ndarray[Any, Any]:
    """Return ``series`` as floats, null and +-inf as NaN (matplotlib leaves gaps there)."""
    values = series.cast(pl.Float64).fill_null(float("nan")).to_numpy().copy()
    values[~np.isfinite(values)] = np.nan
    return values


def equity_chart(curve: pl.DataFrame, *, benchmark_label: str | None = None) -> bytes:
    """Draw the equity curve, and the benchmark when ``curve`` has a ``benchmark`` column.

    Parameters
    ----------
    curve
        ``ts, equity`` (and ``benchmark``, in the same money units as ``equity``).
    benchmark_label
        Legend label of the benchmark line.

    Examples
    --------
    >>> curve = pl.DataFrame({"ts": [0, 1, 2], "equity": [100.0, 110.0, 105.0]})
    >>> equity_chart(curve).startswith(PNG_SIGNATURE)
    True
    """
    figure, ax = _figure(4.2)
    x = _x(ax, curve.get_column("ts"))
    ax.plot(x, _floats(curve.get_column("equity")), color=_STRATEGY, lw=1.4, label="Strategy")
    if "benchmark" in curve.columns:
        label = plain_text(benchmark_label or "Benchmark")
        ax.plot(x, _floats(curve.get_column("benchmark")), color=_BENCHMARK, lw=1.1, label=label)
        _legend(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    _finish(ax, "Equity curve", "Equity")
    return _png(figure)


def drawdown_chart(curve: pl.DataFrame) -> bytes:
    """Draw the underwater curve: the drawdown from the running peak, in percent.

    Parameters
    ----------
    curve
        ``ts, drawdown`` (fractions, 0 at a new high, negative below it).

    Examples
    --------
    >>> curve = pl.DataFrame({"ts": [0, 1, 2], "drawdown": [0.0, -0.1, 0.0]})
    >>> drawdown_chart(curve).startswith(PNG_SIGNATURE)
    True
    """
    figure, ax = _figure()
    x = _x(ax, curve.get_column("ts"))
    depth = _floats(curve.get_column("drawdown")) * 100.0
    ax.fill_between(x, depth, 0.0, color=_LOSS, alpha=0.35, lw=0, step="post")
    ax.plot(x, depth, color=_LOSS, lw=0.9, drawstyle="steps-post")
    ax.yaxis.set_major_formatter(PercentFormatter())
    deepest = float(np.nanmin(depth)) if np.isfinite(depth).any() else 0.0
    # at least a 1% span: a run that never fell would otherwise get a zoomed axis of "0%" ticks
    ax.set_ylim(min(deepest * 1.05, -1.0), 0.5)
    _finish(ax, "Drawdown (underwater)", "Below peak")
    return _png(figure)


def monthly_returns_chart(monthly: pl.DataFrame) -> bytes:
    """Draw a year x month heatmap of monthly returns, each cell annotated in percent.

    The right axis shows each year's compounded return. Months without data stay blank.

    Parameters
    ----------
    monthly
        ``ts, returns``: one row per month (its start) and its compounded return, as
        :func:`houseedge.research.metrics.aggregate_returns` gives.

    Examples
    --------
    >>> import datetime as dt
    >>> months = pl.DataFrame({"ts": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
    ...     "returns": [0.02, -0.01]})
    >>> monthly_returns_chart(months).startswith(PNG_SIGNATURE)
    True
    """
    cells = monthly.select(
        year=pl.col("ts").dt.year(), month=pl.col("ts").dt.month(), returns=pl.col("returns")
    )
    years = sorted(set(cells.get_column("year").to_list()))
    grid = np.full((len(years), 12), np.nan)
    for year, month, value in cells.iter_rows():
        grid[years.index(year), month - 1] = np.nan if value is None else value * 100.0
    figure, ax = _figure(max(1.6, 0.8 + 0.45 * len(years)), left=0.6, right=0.75, bottom=0.35)
    span = max(float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 0.0, 0.01)
    ax.imshow(grid, cmap="RdYlGn", norm=TwoSlopeNorm(0.0, -span, span), aspect="auto")
    for (row, col), value in np.ndenumerate(grid):
        if math.isfinite(value):
            dark = abs(value) > 0.6 * span
            ax.text(
                col,
                row,
                f"{value:.1f}%",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(12), _MONTHS)
    ax.set_yticks(range(len(years)), [str(year) for year in years])
    ax.tick_params(length=0)
    ax.set_title("Monthly returns (UTC months); right: year total", loc="left", fontsize=12)
    totals = (np.nanprod(1.0 + grid / 100.0, axis=1) - 1.0) * 100.0
    right = ax.secondary_yaxis("right")
    right.set_yticks(range(len(years)), [f"{total:+.1f}%" for total in totals])
    right.tick_params(length=0)
    return _png(figure)


def rolling_sharpe_chart(
    curve: pl.DataFrame, *, window: int, overall: float | None = None
) -> bytes:
    """Draw the rolling Sharpe ratio with a zero line (and the full-period Sharpe dashed).

    Parameters
    ----------
    curve
        ``ts, rolling_sharpe`` (null before the first full window).
    window
        The window length in bars, shown in the title.
    overall
        The Sharpe ratio of the whole run, drawn as a dashed reference line.

    Examples
    --------
    >>> curve = pl.DataFrame({"ts": [0, 1, 2], "rolling_sharpe": [None, 1.5, -0.5]})
    >>> rolling_sharpe_chart(curve, window=2).startswith(PNG_SIGNATURE)
    True
    """
    figure, ax = _figure()
    x = _x(ax, curve.get_column("ts"))
    ax.plot(x, _floats(curve.get_column("rolling_sharpe")), color=_STRATEGY, lw=1.1)
    ax.axhline(0.0, color="black", lw=0.8)
    if overall is not None and math.isfinite(overall):
        ax.axhline(overall, color=_BENCHMARK, lw=1.0, ls="--", label=f"Full period {overall:.2f}")
        _legend(ax)
    _finish(ax, f"Rolling Sharpe ratio ({window}-bar window, annualised)", "Sharpe")
    return _png(figure)


def histogram_chart(values: pl.Series, *, title: str, xlabel: str) -> bytes:
    """Draw a histogram of ``values`` (nulls dropped) with their mean marked.

    Bars left of zero are red, right of it blue, so losing and winning trades separate.

    Parameters
    ----------
    values
        The observations, e.g. each trade's R-multiple.
    title, xlabel
        Chart title and x-axis label.

    Examples
    --------
    >>> values = pl.Series([1.0, -0.5, 2.0, 0.3])
    >>> histogram_chart(values, title="R", xlabel="R-multiple").startswith(PNG_SIGNATURE)
    True
    """
    data = _floats(values)
    data = data[np.isfinite(data)]
    figure, ax = _figure(bottom=0.65)
    _, edges, bars = ax.hist(data, bins=_bins(data), color=_STRATEGY, edgecolor="white", lw=0.5)
    if isinstance(bars, BarContainer):  # one data set: one container of rectangles
        centres = ((edges[:-1] + edges[1:]) / 2.0).tolist()
        for centre, patch in zip(centres, bars.patches, strict=True):
            if centre < 0.0:
                patch.set_facecolor(_LOSS)
    if data.size:
        mean = float(data.mean())
        ax.axvline(mean, color="black", lw=1.0, ls="--", label=f"Mean {mean:.2f}")
        _legend(ax)
    ax.set_xlabel(plain_text(xlabel))
    ax.set_title(plain_text(title), loc="left", fontsize=12)
    ax.set_ylabel("Trades")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(visible=True, axis="y", alpha=0.3)
    return _png(figure)


def _bins(data: np.ndarray[Any, Any]) -> list[float] | int:
    """Return 5-40 equal bins with an edge at zero, so no bar mixes losers and winners."""
    count = int(min(40, max(5, math.ceil(math.sqrt(data.size) * 2))))
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if not low < 0.0 < high:
        return count
    width = (high - low) / count
    start = math.floor(low / width) * width
    steps = math.ceil((high - start) / width)
    steps += start + steps * width < high  # float rounding must not leave the maximum out
    return (start + width * np.arange(steps + 1)).tolist()


def exposure_chart(curve: pl.DataFrame) -> bytes:
    """Draw gross and net exposure (position value over equity) through time.

    Parameters
    ----------
    curve
        ``ts, gross, net``: fractions of equity (1.0 is fully invested; net is negative short).

    Examples
    --------
    >>> curve = pl.DataFrame({"ts": [0, 1, 2], "gross": [0.0, 1.0, 1.0], "net": [0.0, 1.0, -1.0]})
    >>> exposure_chart(curve).startswith(PNG_SIGNATURE)
    True
    """
    figure, ax = _figure()
    x = _x(ax, curve.get_column("ts"))
    gross = _floats(curve.get_column("gross")) * 100.0
    ax.fill_between(x, gross, 0.0, color=_STRATEGY, alpha=0.25, lw=0, step="post", label="Gross")
    ax.plot(
        x,
        _floats(curve.get_column("net")) * 100.0,
        color=_STRATEGY,
        lw=1.0,
        drawstyle="steps-post",
        label="Net",
    )
    ax.axhline(0.0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(PercentFormatter())
    _legend(ax)
    _finish(ax, "Exposure (position value / equity)", "Of equity")
    return _png(figure)
