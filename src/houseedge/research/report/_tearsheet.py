"""Backtest tearsheets: one self-contained HTML page and its PNG charts beside it.

:func:`write_report` turns a :class:`~houseedge.research.backtest.BacktestResult` into
``<path>`` (HTML) and ``<stem>_<chart>.png`` files in the same folder. The page needs nothing but
itself: no script, no stylesheet or font from the network; the charts are embedded as base64 PNG
(the same bytes as the files), so it opens offline and can be mailed as one file.

Conventions
-----------
Sections
    Overview, Performance metrics, Equity curve, Drawdowns (underwater chart and the five worst
    periods of :func:`~houseedge.research.metrics.drawdown_table`), Monthly returns, Rolling
    Sharpe ratio, Trades (histogram, first and last :data:`TRADE_ROWS` trades, open lots),
    Exposure and Run parameters (:data:`SECTIONS`).
Charts
    ``equity``, ``drawdown``, ``monthly_returns``, ``rolling_sharpe``, ``trades`` and
    ``exposure`` (:mod:`houseedge.research.report.charts`). A chart without data is replaced by a
    note
    and its file is not written (an older one of that name is removed): ``trades`` without a
    closed trade, ``monthly_returns`` when time is not a date/datetime, ``rolling_sharpe``
    with fewer than two full windows or returns that never vary within one.
Annualisation
    ``periods_per_year`` when given; otherwise :func:`infer_periods_per_year` from the bar times;
    otherwise (numeric times) the backtest's own. The annualised metrics are recomputed with it,
    so the table, the rolling Sharpe and the benchmark column agree.
Benchmark
    ``benchmark`` (``ts`` and ``close`` or ``returns``) is aligned to the equity times, each
    taking the last benchmark value at or before it. Without one, the buy & hold of the traded
    bars (from ``result.positions`` closes; several symbols: equal weight, bought once) stands
    in. It is drawn from the starting cash and gets its own column of return and risk metrics;
    alpha and beta are measured against it.
Rolling Sharpe window
    :func:`rolling_window`: a quarter of a year of bars (63 daily), at most a quarter of the
    series, at least 10 bars (or the whole series when shorter).
Formats
    Percentages with two decimals (``-12.34%``), ratios with two, money with thousands
    separators and two decimals (``92,431.90``), durations in days/hours/minutes, ``—`` for a
    missing value and ``n/a`` for NaN. Times are UTC, shown as dates when every bar is at
    midnight, else to the minute. The drawdown table's pyfolio business-day count is shown for
    such daily bars only.
Escaping
    Every user-provided string (title, policy, symbols, parameters) is ``html.escape``-d.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from houseedge.errors import SchemaMismatch
from houseedge.research.backtest import BacktestResult
from houseedge.research.metrics import summary
from houseedge.research.metrics.drawdown import drawdown
from houseedge.research.report import _html as h
from houseedge.research.report import _sections as sections

__all__ = ["SECTIONS", "TRADE_ROWS", "infer_periods_per_year", "rolling_window", "write_report"]

SECTIONS: tuple[tuple[str, str], ...] = sections.SECTIONS
TRADE_ROWS = sections.TRADE_ROWS
_DAY = dt.timedelta(days=1)
# (shortest, longest) median spacing in days -> bars per year, for bars of a day or longer
_CALENDAR_SPACINGS = ((5.0, 8.0, 52.0), (27.0, 32.0, 12.0), (88.0, 93.0, 4.0), (360.0, 370.0, 1.0))


def infer_periods_per_year(ts: pl.Series) -> float | None:
    """Return the number of bars per year implied by the bar times, or None.

    Daily and intraday bars count trading days: 365 a year when bars fall on weekends (crypto,
    24/7), 252 otherwise (a trading calendar); a series shorter than a week without weekend
    bars counts 365 when its bars cover whole days. Intraday bars multiply that by the median
    number of bars per (UTC) day: 24 * 365 = 8760 for hourly 24/7 bars, 252 * 7 = 1764 for
    hourly session bars (09:30-16:00), 252 * 390 for minute session bars. Longer bars follow
    their median spacing: weekly 52, monthly 12, quarterly 4, yearly 1, else 365.25 / days.

    None when ``ts`` is not a date/datetime or has fewer than two distinct times.

    Examples
    --------
    >>> import datetime as dt
    >>> days = pl.datetime_range(dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 1), "1d",
    ...     eager=True)
    >>> infer_periods_per_year(days), infer_periods_per_year(days.filter(days.dt.weekday() < 6))
    (365.0, 252.0)
    >>> hours = pl.datetime_range(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 20), "1h",
    ...     eager=True)
    >>> infer_periods_per_year(hours)
    8760.0
    """
    if not ts.dtype.is_temporal() or ts.dtype == pl.Time:
        return None
    times = ts.drop_nulls().unique().sort()
    if times.len() < 2:
        return None
    step: dt.timedelta = times.diff().median()  # type: ignore[assignment]
    days = step / _DAY
    if days > 1.5:
        for low, high, per_year in _CALENDAR_SPACINGS:
            if low <= days <= high:
                return per_year
        return 365.25 / days
    per_day = times.dt.date().value_counts().get_column("count").median()
    bars_per_day = float(per_day) if days < 0.75 else 1.0  # type: ignore[arg-type]
    weekends = bool((times.dt.weekday() >= 6).any())
    short = times[-1] - times[0] < dt.timedelta(days=7)
    whole_days = bars_per_day * days >= 23.0 / 24.0
    return (365.0 if weekends or (short and whole_days) else 252.0) * bars_per_day


def rolling_window(bars: int, periods_per_year: float) -> int:
    """Return the rolling Sharpe window: a quarter-year, capped at a quarter of the data.

    Never shorter than 10 bars unless the series itself is.

    Examples
    --------
    >>> rolling_window(1_000, 252), rolling_window(100, 252), rolling_window(20, 252)
    (63, 25, 10)
    """
    quarter = max(1, round(periods_per_year / 4.0))
    return max(min(quarter, bars // 4), min(10, bars), 1)


def write_report(
    result: BacktestResult,
    path: str | Path,
    *,
    benchmark: pl.DataFrame | None = None,
    title: str | None = None,
    periods_per_year: float | None = None,
) -> Path:
    """Write the HTML tearsheet of ``result`` at ``path`` and its PNG charts beside it.

    Parameters
    ----------
    result
        A backtest result.
    path
        The HTML file to write (its folder is created); charts go to ``<stem>_<chart>.png``.
    benchmark
        ``ts`` and ``close`` (prices) or ``returns`` (simple, per row); default: buy & hold of
        the traded bars.
    title
        Page title; default ``Backtest report: <policy>``.
    periods_per_year
        Bars per year for annualised metrics; default: inferred (see the module docstring).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    SchemaMismatch
        If ``benchmark`` lacks ``ts`` or both ``close`` and ``returns``, or its times do not
        convert to the equity's.
    ValueError
        If the result has no equity rows or ``periods_per_year`` is not positive.

    Examples
    --------
    >>> import tempfile
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> from houseedge.data.synthetic import synthetic_bars
    >>> from houseedge.research.backtest import backtest
    >>> result = backtest(synthetic_bars(1, periods=120, timeframe="1d"), SmaCross(5, 20))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = write_report(result, Path(folder) / "run.html")
    ...     sorted(p.name for p in out.parent.iterdir())[:3]
    ['run.html', 'run_drawdown.png', 'run_equity.png']
    """
    if result.equity.height == 0:
        raise ValueError("the result has no equity rows: nothing to report")
    path = Path(path)
    report = _prepare(result, benchmark, periods_per_year)
    charts = sections.charts(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, (png, _) in charts.items():
        chart = path.with_name(f"{path.stem}_{name}.png")
        if png is None:
            # a chart left by an earlier report at this path would contradict this one
            chart.unlink(missing_ok=True)
        else:
            chart.write_bytes(png)
    heading = title if title is not None else f"Backtest report: {result.params.get('policy')}"
    page = h.page(heading, sections.subtitle(report), sections.build(report, charts, path.stem))
    path.write_text(page, encoding="utf-8")
    return path


def _prepare(
    result: BacktestResult, benchmark: pl.DataFrame | None, periods_per_year: float | None
) -> sections.Report:
    ts = result.equity.get_column("ts")
    per_year, source = _resolve_periods(result, ts, periods_per_year)
    curve, label = _curve(result, benchmark)
    temporal = ts.dtype.is_temporal()
    bar = ts.unique().sort().diff().median() if temporal and ts.len() > 1 else None
    metrics, bench_metrics = _metrics(result, curve, per_year)
    return sections.Report(
        result=result,
        curve=curve,
        periods_per_year=per_year,
        periods_source=source,
        benchmark_label=label,
        bar=bar if isinstance(bar, dt.timedelta) else None,
        metrics=metrics,
        benchmark_metrics=bench_metrics,
        window=rolling_window(curve.height, per_year),
        date_only=_date_only(ts),
    )


def _date_only(ts: pl.Series) -> bool:
    if ts.dtype == pl.Date:
        return True
    if not isinstance(ts.dtype, pl.Datetime):
        return False
    return bool((ts.dt.time() == dt.time(0)).all())


def _resolve_periods(
    result: BacktestResult, ts: pl.Series, given: float | None
) -> tuple[float, str]:
    if given is not None:
        if not given > 0:
            raise ValueError(f"periods_per_year must be positive, got {given}")
        return float(given), "given"
    inferred = infer_periods_per_year(ts)
    if inferred is not None:
        return inferred, "inferred from the bar times"
    return float(result.params.get("periods_per_year", 252)), "the backtest's"


def _curve(
    result: BacktestResult, benchmark: pl.DataFrame | None
) -> tuple[pl.DataFrame, str | None]:
    curve = result.equity.sort("ts").select(
        "ts",
        "equity",
        "returns",
        gross=pl.col("exposure"),
        net=pl.col("position_value") / pl.col("equity"),
        drawdown=drawdown("returns"),
    )
    if benchmark is None:
        level, label = _buy_and_hold(result.positions, curve.select("ts"))
    else:
        level, label = _aligned(benchmark, curve.select("ts")), "Benchmark"
    if level is None:
        return curve, None
    cash = float(result.params.get("cash") or curve.item(0, "equity"))
    first = level.drop_nulls()
    scaled = level / first[0] * cash if first.len() else level
    return curve.with_columns(benchmark=scaled, bench_returns=scaled.pct_change()), label


def _aligned(benchmark: pl.DataFrame, times: pl.DataFrame) -> pl.Series:
    """Return the benchmark's price level at each of ``times`` (last value at or before)."""
    columns = benchmark.columns
    if "ts" not in columns:
        raise SchemaMismatch(
            "benchmark has no time column", source="benchmark", field="ts", expected="a ts column"
        )
    if "close" not in columns and "returns" not in columns:
        raise SchemaMismatch(
            "benchmark has neither close nor returns",
            source="benchmark",
            field="close",
            expected="a close (price) or returns (simple, per row) column",
        )
    target = times.schema["ts"]
    try:
        frame = benchmark.with_columns(pl.col("ts").cast(target)).sort("ts")
    except pl.exceptions.PolarsError as error:
        raise SchemaMismatch(
            f"benchmark times of type {benchmark.schema['ts']} do not convert to {target}",
            source="benchmark",
            field="ts",
            expected=str(target),
        ) from error
    if "close" in columns:
        level = pl.col("close").cast(pl.Float64)
    else:
        level = (1.0 + pl.col("returns").cast(pl.Float64).fill_nan(0.0).fill_null(0.0)).cum_prod()
    frame = frame.select("ts", level=level)
    return times.join_asof(frame, on="ts", strategy="backward").get_column("level")


def _buy_and_hold(
    positions: pl.DataFrame, times: pl.DataFrame
) -> tuple[pl.Series | None, str | None]:
    """Return the equal-weight buy & hold level of the traded closes, bought on each first bar."""
    if positions.height == 0 or not {"symbol", "ts", "close"} <= set(positions.columns):
        return None, None
    symbols = positions.get_column("symbol").unique(maintain_order=True)
    # pivot keys are positions, not names: a symbol called "ts" must not clash
    keyed = positions.sort("symbol", "ts").select(
        "ts",
        key=pl.format("s{}", pl.col("symbol").rank("dense")),
        level=pl.col("close") / pl.col("close").drop_nulls().first().over("symbol"),
    )
    wide = keyed.pivot(on="key", index="ts", values="level").sort("ts")
    keys = [c for c in wide.columns if c != "ts"]
    # before its first bar a symbol is cash still to invest: level 1, its first value
    wide = wide.select("ts", level=pl.mean_horizontal(pl.col(keys).forward_fill().backward_fill()))
    level = times.join(wide, on="ts", how="left").get_column("level")
    if symbols.len() == 1:
        return level, f"Buy & hold {symbols[0]}"
    return level, f"Buy & hold, equal weight ({symbols.len()} symbols)"


def _metrics(
    result: BacktestResult, curve: pl.DataFrame, per_year: float
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    has_benchmark = "bench_returns" in curve.columns
    bench = "bench_returns" if has_benchmark else None
    values = dict(result.metrics)
    values |= summary(curve, "returns", benchmark=bench, periods_per_year=per_year).row(
        0, named=True
    )
    values |= {
        "cash": result.params.get("cash"),
        "open_trades": result.open_trades.height,
        "longest_drawdown": _longest_drawdown(curve.get_column("ts"), curve.get_column("drawdown")),
    }
    if not has_benchmark:
        return values, None
    others = summary(curve, "bench_returns", periods_per_year=per_year).row(0, named=True)
    under = curve.select(drawdown("bench_returns")).to_series()
    others["longest_drawdown"] = _longest_drawdown(curve.get_column("ts"), under)
    return values, others


def _longest_drawdown(ts: pl.Series, underwater: pl.Series) -> dt.timedelta | int | None:
    """Return the longest time from a peak to its recovery (or to the end when still under).

    A timedelta for temporal ``ts``, a number of rows otherwise; None without any drawdown.
    """
    below = underwater.fill_null(0.0).to_numpy() < 0.0
    times = ts.to_list() if ts.dtype.is_temporal() else list(range(ts.len()))
    spans: list[Any] = []
    start = None
    for index, under in enumerate([*below.tolist(), False]):
        if under and start is None:
            start = index
        elif not under and start is not None:
            # the peak is the row before the fall (the first row when it opens underwater)
            peak, end = max(start - 1, 0), min(index, len(times) - 1)
            spans.append(times[end] - times[peak])
            start = None
    return max(spans) if spans else None
