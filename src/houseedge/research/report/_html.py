"""HTML pieces of the backtest tearsheet: value formatting, tables and the page shell.

Every piece of text that reaches the page passes through :func:`text` (``html.escape``) here, at
one place: policy names, symbols and parameter values are user input. Markup is only ever built
from literals in this module.

Formats: percentages with two decimals (``12.34%``), ratios with two (``1.23``, ``∞``), money with
thousands separators and two decimals (``92,431.90``), counts as integers (``1,234``), durations in
days/hours/minutes, a missing value as ``—`` and an undefined one (NaN) as ``n/a``.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = [
    "METRIC_GROUPS",
    "duration",
    "figure",
    "format_value",
    "note",
    "page",
    "section",
    "table",
    "text",
]

Row = Sequence[Any]

# (group, ((metric key, label, format), ...)); keys outside these groups are listed as "Other".
METRIC_GROUPS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "Returns",
        (
            ("total_return", "Total return", "pct"),
            ("annual_return", "Annual return (CAGR)", "pct"),
            ("annual_volatility", "Annual volatility", "pct"),
            ("sharpe_ratio", "Sharpe ratio", "ratio"),
            ("sortino_ratio", "Sortino ratio", "ratio"),
            ("calmar_ratio", "Calmar ratio", "ratio"),
            ("omega_ratio", "Omega ratio", "ratio"),
            ("stability_of_timeseries", "Stability (R² of log equity)", "ratio"),
            ("alpha", "Alpha (annual, vs benchmark)", "pct"),
            ("beta", "Beta (vs benchmark)", "ratio"),
        ),
    ),
    (
        "Risk",
        (
            ("max_drawdown", "Max drawdown", "pct"),
            ("longest_drawdown", "Longest drawdown (peak to recovery)", "duration"),
            ("downside_risk", "Downside risk (annual)", "pct"),
            ("value_at_risk", "Value at risk (5%, per bar)", "pct"),
            ("conditional_value_at_risk", "Conditional VaR (5%, per bar)", "pct"),
            ("tail_ratio", "Tail ratio", "ratio"),
        ),
    ),
    (
        "Trades",
        (
            ("trades", "Closed trades", "count"),
            ("open_trades", "Open trades at end", "count"),
            ("win_rate", "Win rate", "pct"),
            ("profit_factor", "Profit factor", "ratio"),
            ("expectancy", "Expectancy (pnl per trade)", "money"),
            ("total_pnl", "Total trade pnl", "money"),
            ("average_win", "Average win", "money"),
            ("average_loss", "Average loss", "money"),
            ("average_return", "Average trade return", "pct"),
            ("average_r", "Average R-multiple", "ratio"),
            ("average_bars_held", "Average holding time", "bars"),
        ),
    ),
    (
        "Account",
        (
            ("cash", "Starting cash", "money"),
            ("final_equity", "Final equity", "money"),
            ("equity_peak", "Equity peak", "money"),
            ("exposure_time", "Time in market", "pct"),
            ("total_fees", "Total fees", "money"),
            ("total_borrow", "Total borrow cost", "money"),
            ("orders", "Orders (fills)", "count"),
        ),
    ),
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1060px;padding:24px;color:#1d232a;background:#fff;line-height:1.4}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 8px;
border-bottom:2px solid #1f5fa8;padding-bottom:4px}h3{font-size:1.05em;margin:18px 0 6px}
nav{font-size:.9em;margin:8px 0 16px}nav a{margin-right:12px;color:#1f5fa8}
table{border-collapse:collapse;font-size:.88em;margin:6px 0 12px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.group td{background:#f9fafb;font-weight:600}tr.gap td{text-align:center;color:#6b7480}
figure{margin:8px 0 16px}figure img{max-width:100%;height:auto;border:1px solid #e3e6ea}
figcaption,.note{font-size:.85em;color:#5b6570}.note{font-style:italic}
"""


def text(value: object) -> str:
    """Return ``value`` as escaped HTML text."""
    return html.escape(str(value), quote=True)


def duration(value: dt.timedelta | float | None, bar: dt.timedelta | None = None) -> str:
    """Return a duration in days/hours/minutes, or ``N bars`` (converted to time when known)."""
    if value is None:
        return "—"
    if isinstance(value, dt.timedelta):
        return _clock(value)
    if not math.isfinite(value):
        return "n/a"
    bars = f"{value:,.1f} bars" if value % 1 else f"{int(value):,} bars"
    return bars if bar is None else f"{bars} ({_clock(bar * value)})"


def _clock(span: dt.timedelta) -> str:
    seconds = round(span.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "days" if days != 1 else "day"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    shown = [f"{amount} {unit}" for amount, unit in parts if amount]
    # two units are precise enough for a report ("3 days 4 h", not "3 days 4 h 12 min 5 s")
    return " ".join(shown[:2]) if shown else "0 s"


def format_value(value: Any, kind: str, *, bar: dt.timedelta | None = None) -> str:
    """Return ``value`` as ``kind``: pct, ratio, money, count, price, qty, bars or duration."""
    if value is None:
        return "—"
    if kind in ("bars", "duration"):
        return duration(value, bar)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    formats: dict[str, Callable[[float], str]] = {
        "pct": lambda v: f"{v * 100.0:,.2f}%",
        "ratio": lambda v: f"{v:,.2f}",
        "money": lambda v: f"{v:,.2f}",
        "count": lambda v: f"{round(v):,}",
        "price": lambda v: f"{v:,.4f}",
        # fractional units: keep six significant digits for small sizes, cents for large ones
        "qty": lambda v: f"{v:,.2f}" if abs(v) >= 100 else f"{v:.6g}",
    }
    return formats.get(kind, lambda v: f"{v:,.6g}")(float(value))


def _cell(value: object, numeric: bool) -> str:
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{text(value)}</td>"


def table(
    header: Sequence[str],
    rows: Iterable[Row],
    *,
    numeric: Sequence[bool] | None = None,
    group_rows: Iterable[int] = (),
    gap_rows: Iterable[int] = (),
) -> str:
    """Return an HTML table; every header and cell is escaped.

    ``numeric`` right-aligns columns; a row index in ``group_rows`` is a one-cell group heading
    and one in ``gap_rows`` a one-cell note (e.g. "… 12 rows omitted …").
    """
    align = list(numeric or [False] * len(header))
    groups, gaps = set(group_rows), set(gap_rows)
    head = "".join(f"<th>{text(name)}</th>" for name in header)
    body: list[str] = []
    for index, row in enumerate(rows):
        if index in groups or index in gaps:
            css = "group" if index in groups else "gap"
            body.append(f'<tr class="{css}"><td colspan="{len(header)}">{text(row[0])}</td></tr>')
        else:
            cells = "".join(_cell(v, a) for v, a in zip(row, align, strict=True))
            body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(png: bytes, alt: str, caption: str) -> str:
    """Return an ``<img>`` embedding ``png`` as a base64 data URI, with a caption."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{text(alt)}">'
        f"<figcaption>{text(caption)}</figcaption></figure>"
    )


def note(message: str) -> str:
    """Return a short italic note paragraph."""
    return f'<p class="note">{text(message)}</p>'


def section(anchor: str, title: str, *parts: str) -> str:
    """Return a ``<section>`` with an ``<h2>`` heading and the given (already built) parts."""
    return f'<section id="{text(anchor)}"><h2>{text(title)}</h2>{"".join(parts)}</section>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """Return the whole page: ``sections`` holds (anchor, title, built section) triples."""
    links = "".join(f'<a href="#{text(anchor)}">{text(name)}</a>' for anchor, name, _ in sections)
    body = "".join(built for _, _, built in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{text(title)}</h1><p class="note">{text(subtitle)}</p>'
        f"<nav>{links}</nav></header>{body}</body></html>\n"
    )
