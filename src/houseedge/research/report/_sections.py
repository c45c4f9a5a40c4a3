"""The sections of the backtest tearsheet, built from a prepared :class:`Report`.

Charts come first (:func:`charts`, PNG bytes or a note saying why there is none), then each
section's HTML (:func:`build`). All text goes through :mod:`houseedge.research.report._html`,
which escapes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from houseedge.research.backtest import BacktestResult
from houseedge.research.metrics import aggregate_returns
from houseedge.research.metrics.drawdown import drawdown_table
from houseedge.research.metrics.returns import rolling_sharpe
from houseedge.research.report import _html as h
from houseedge.research.report import charts as c

SECTIONS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("metrics", "Performance metrics"),
    ("equity", "Equity curve"),
    ("drawdowns", "Drawdowns"),
    ("monthly-returns", "Monthly returns"),
    ("rolling-sharpe", "Rolling Sharpe ratio"),
    ("trades", "Trades"),
    ("exposure", "Exposure"),
    ("parameters", "Run parameters"),
)
TRADE_ROWS = 10  # the trade list shows this many first and last trades
_BENCHMARKED = {"Returns", "Risk"}  # metric groups that get a benchmark column

Chart = tuple[bytes | None, str]  # (PNG, caption), or (None, why there is no chart)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the sections show, computed once by ``report._prepare``."""

    result: BacktestResult
    curve: pl.DataFrame  # ts, equity, returns, gross, net, drawdown (benchmark, bench_returns)
    periods_per_year: float
    periods_source: str
    benchmark_label: str | None
    bar: dt.timedelta | None
    metrics: dict[str, Any]
    benchmark_metrics: dict[str, Any] | None
    window: int
    date_only: bool

    def stamp(self, value: object) -> str:
        """Return a time as text: a date when every bar is at midnight, else to the minute."""
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d" if self.date_only else "%Y-%m-%d %H:%M")
        return "—" if value is None else str(value)

    @property
    def symbols(self) -> list[str]:
        """Return the traded symbols in order of appearance."""
        return self.result.positions.get_column("symbol").unique(maintain_order=True).to_list()


def charts(report: Report) -> dict[str, Chart]:
    """Return every chart by file suffix: PNG and caption, or None and a note."""
    curve = report.curve
    return {
        "equity": _equity(report),
        "drawdown": (
            c.drawdown_chart(curve.select("ts", "drawdown")),
            "Equity below its running peak, in percent of that peak.",
        ),
        "monthly_returns": _monthly(curve),
        "rolling_sharpe": _rolling(report),
        "trades": _histogram(report.result.trades),
        "exposure": (
            c.exposure_chart(curve.select("ts", "gross", "net")),
            "Gross: sum of |position value| / equity; net: signed position value / "
            "equity (negative when short).",
        ),
    }


def _equity(report: Report) -> Chart:
    cash = h.format_value(report.metrics.get("cash"), "money")
    if report.benchmark_label is None:
        return c.equity_chart(report.curve.select("ts", "equity")), f"Equity from {cash}."
    png = c.equity_chart(
        report.curve.select("ts", "equity", "benchmark"), benchmark_label=report.benchmark_label
    )
    return png, f"Equity from {cash}; grey: {report.benchmark_label}, from the same cash."


def _monthly(curve: pl.DataFrame) -> Chart:
    if not curve.schema["ts"].is_temporal():
        return None, "No monthly returns: the bar times are not dates."
    monthly = aggregate_returns(curve.select("ts", "returns"), "monthly")
    caption = "Compounded return of each calendar month (UTC); blank cells: no data."
    return c.monthly_returns_chart(monthly), caption


def _rolling(report: Report) -> Chart:
    window, per_year = report.window, report.periods_per_year
    frame = report.curve.select(
        "ts", rolling_sharpe("returns", window, periods_per_year=per_year).fill_nan(None)
    )
    if report.curve.height < 2 * window:
        return None, f"Too few bars ({report.curve.height}) for a rolling Sharpe ratio."
    if frame.get_column("rolling_sharpe").drop_nulls().len() < 2:
        return None, "No rolling Sharpe ratio: the returns never vary within a window."
    overall = report.metrics.get("sharpe_ratio")
    png = c.rolling_sharpe_chart(frame, window=window, overall=overall)
    caption = (
        f"Sharpe ratio of the trailing {window} bars, annualised at {per_year:,.6g} bars a year. "
        "Window: a quarter-year of bars, at most a quarter of the data, at least 10 bars. "
        "Gaps: windows without variation (flat equity)."
    )
    return png, caption


def _histogram(trades: pl.DataFrame) -> Chart:
    if trades.height == 0:
        return None, "No trades: no closed trade to draw a histogram of."
    r = trades.get_column("r_multiple")
    if r.null_count() < r.len():
        png = c.histogram_chart(r, title="Trade R-multiples", xlabel="R-multiple")
        return png, "R-multiple of each closed trade: pnl over the risk taken at entry."
    returns = trades.get_column("return_pct") * 100.0
    title = "Trade returns in % (no R-multiples: r_multiple is empty, return_pct shown)"
    png = c.histogram_chart(returns, title=title, xlabel="Trade return (%)")
    return png, "Return of each closed trade; r_multiple is empty (no stops), so return_pct."


def subtitle(report: Report) -> str:
    """Return the one-line summary under the title."""
    ts = report.curve.get_column("ts")
    symbols = _symbols(report.symbols)
    return (
        f"{report.result.params.get('policy')} · {symbols} · {report.stamp(ts[0])} to "
        f"{report.stamp(ts[-1])} · {ts.len():,} bars"
    )


def _symbols(names: Sequence[str], shown: int = 12) -> str:
    listed = ", ".join(names[:shown])
    return f"{listed} and {len(names) - shown} more" if len(names) > shown else listed


def build(report: Report, built: dict[str, Chart], stem: str) -> list[tuple[str, str, str]]:
    """Return (anchor, title, HTML) for every section, in :data:`SECTIONS` order."""

    def chart(name: str, alt: str) -> str:
        png, caption = built[name]
        if png is None:
            return h.note(caption)
        return h.figure(png, alt, f"{caption} File: {stem}_{name}.png")

    bodies = {
        "overview": _overview(report),
        "metrics": _metrics(report),
        "equity": chart("equity", "Equity curve"),
        "drawdowns": chart("drawdown", "Drawdown") + _drawdowns(report),
        "monthly-returns": chart("monthly_returns", "Monthly returns heatmap"),
        "rolling-sharpe": chart("rolling_sharpe", "Rolling Sharpe ratio"),
        "trades": chart("trades", "Trade histogram") + _trades(report),
        "exposure": chart("exposure", "Exposure"),
        "parameters": _parameters(report),
    }
    return [(anchor, title, h.section(anchor, title, bodies[anchor])) for anchor, title in SECTIONS]


def _overview(report: Report) -> str:
    ts, m = report.curve.get_column("ts"), report.metrics
    rows = [
        ("Policy", report.result.params.get("policy")),
        ("Symbols", _symbols(report.symbols)),
        ("Period", f"{report.stamp(ts[0])} to {report.stamp(ts[-1])}"),
        ("Bars", f"{ts.len():,}"),
        ("Bar spacing (median)", h.duration(report.bar)),
        ("Periods per year", f"{report.periods_per_year:,.6g} ({report.periods_source})"),
        ("Benchmark", report.benchmark_label or "none"),
        ("Starting cash", h.format_value(m.get("cash"), "money")),
        ("Final equity", h.format_value(m.get("final_equity"), "money")),
        ("Total return", h.format_value(m.get("total_return"), "pct")),
        ("Max drawdown", h.format_value(m.get("max_drawdown"), "pct")),
        ("Sharpe ratio", h.format_value(m.get("sharpe_ratio"), "ratio")),
    ]
    return h.table(["Item", "Value"], rows)


def _metrics(report: Report) -> str:
    bench = report.benchmark_metrics
    header = ["Metric", "Strategy"] + ([report.benchmark_label or "Benchmark"] if bench else [])
    known = {key for _, specs in h.METRIC_GROUPS for key, _, _ in specs}
    others = tuple(
        (k, k.replace("_", " ").capitalize(), "") for k in report.metrics if k not in known
    )
    rows: list[list[str]] = []
    groups: list[int] = []
    for group, specs in (*h.METRIC_GROUPS, ("Other", others)):
        present = [spec for spec in specs if spec[0] in report.metrics]
        if not present:
            continue
        groups.append(len(rows))
        rows.append([group])
        for key, label, kind in present:
            row = [label, h.format_value(report.metrics[key], kind, bar=report.bar)]
            if bench is not None:
                mine = group in _BENCHMARKED and key in bench
                row.append(h.format_value(bench[key], kind, bar=report.bar) if mine else "")
            rows.append(row)
    numeric = [False] + [True] * (len(header) - 1)
    return h.table(header, rows, numeric=numeric, group_rows=groups)


def _drawdowns(report: Report) -> str:
    table = drawdown_table(report.curve.select("ts", "returns"), top=5)
    if table.height == 0:
        return h.note("No drawdown: the equity never fell below a previous peak.")
    temporal = report.curve.schema["ts"].is_temporal()
    end = report.curve.get_column("ts")[-1]
    rows: list[Sequence[object]] = []
    for rank, row in enumerate(table.iter_rows(named=True), start=1):
        peak, recovery = row["peak"], row["recovery"]
        span = (recovery if recovery is not None else end) - peak
        lasted = h.duration(span) if temporal else f"{span:,} ts units"
        rows.append(
            [
                rank,
                report.stamp(peak),
                report.stamp(row["valley"]),
                report.stamp(recovery) if recovery is not None else "not recovered",
                f"{row['net_drawdown_pct']:.2f}%",
                lasted if recovery is not None else f"{lasted} so far",
                "—" if row["duration"] is None else f"{row['duration']:,}",
            ][: 7 if report.date_only else 6]
        )
    header = ["#", "Peak", "Valley", "Recovery", "Net drawdown", "Duration", "Business days"]
    # pyfolio's business-day count means something for daily bars only
    header = header[: 7 if report.date_only else 6]
    numeric = [True, False, False, False, True, True, True][: len(header)]
    return "<h3>Worst 5 drawdowns</h3>" + h.table(header, rows, numeric=numeric)


_TRADE_HEADER = [
    "#",
    "Symbol",
    "Side",
    "Entry",
    "Exit",
    "Qty",
    "Entry price",
    "Exit price",
    "P&L",
    "Return",
    "R",
    "Bars",
    "MAE",
    "MFE",
]
_TRADE_NUMERIC = [True, False, False, False, False, *[True] * 9]


def _trade_row(report: Report, number: int, trade: dict[str, Any]) -> list[object]:
    f = h.format_value
    return [
        number,
        trade["symbol"],
        trade["direction"],
        report.stamp(trade["entry_ts"]),
        report.stamp(trade["exit_ts"]),
        f(trade["qty"], "qty"),
        f(trade["entry_price"], "price"),
        f(trade["exit_price"], "price"),
        f(trade["pnl"], "money"),
        f(trade["return_pct"], "pct"),
        f(trade["r_multiple"], "ratio"),
        f(trade["bars_held"], "count"),
        f(trade["mae"], "pct"),
        f(trade["mfe"], "pct"),
    ]


def _trade_table(report: Report, trades: pl.DataFrame) -> str:
    n = trades.height
    rows: list[list[object]] = []
    gaps: list[int] = []
    for number, trade in enumerate(trades.iter_rows(named=True), start=1):
        if TRADE_ROWS < number <= n - TRADE_ROWS:
            if number == TRADE_ROWS + 1:
                gaps.append(len(rows))
                rows.append([f"… {n - 2 * TRADE_ROWS:,} trades not shown …"])
            continue
        rows.append(_trade_row(report, number, trade))
    return h.table(_TRADE_HEADER, rows, numeric=_TRADE_NUMERIC, gap_rows=gaps)


def _trades(report: Report) -> str:
    closed = report.result.trades.sort("exit_ts", "entry_ts", maintain_order=True)
    still_open = report.result.open_trades
    parts = [f"<h3>Trade list ({closed.height:,} closed)</h3>"]
    if closed.height == 0:
        parts.append(h.note("No trades were closed in this run."))
    else:
        shown = "all" if closed.height <= 2 * TRADE_ROWS else f"first and last {TRADE_ROWS}"
        parts += [h.note(f"By exit time; {shown} shown."), _trade_table(report, closed)]
    if still_open.height:
        lots = still_open.sort("entry_ts", maintain_order=True)
        parts += [f"<h3>Open at the end ({lots.height:,})</h3>", _trade_table(report, lots)]
    return "".join(parts)


def _parameters(report: Report) -> str:
    params = dict(report.result.params)
    rows: list[list[object]] = []
    groups: list[int] = []

    def group(name: str, items: Sequence[tuple[str, object]]) -> None:
        groups.append(len(rows))
        rows.append([name])
        rows.extend([key, _param(value)] for key, value in items)

    for name, key in (("Policy", "policy"), ("Costs", "costs"), ("Sizing", "sizing")):
        extra: dict[str, Any] = params.pop(f"{key}_params", None) or {}
        group(name, [("name", params.pop(key, None)), *extra.items()])
    run = ["execution", "finalize", "allow_short", "cash"]
    group("Execution", [(key, params.pop(key)) for key in run if key in params])
    backtest_periods = _backtest_periods(report, params.pop("periods_per_year", None))
    group(
        "Annualisation",
        [
            ("backtest periods_per_year", backtest_periods),
            (
                "report periods_per_year",
                f"{report.periods_per_year:,.6g} ({report.periods_source})",
            ),
            ("rolling Sharpe window", f"{report.window} bars"),
        ],
    )
    if params:
        group("Other", sorted(params.items()))
    return h.table(["Parameter", "Value"], rows, group_rows=groups)


def _backtest_periods(report: Report, value: object) -> str:
    if isinstance(value, int | float) and value != report.periods_per_year:
        return f"{_param(value)} (annualised metrics recomputed at the report's)"
    return _param(value)


def _param(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.10g}"
    return str(value)
