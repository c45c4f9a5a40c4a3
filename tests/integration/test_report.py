"""Backtest tearsheets on disk: a self-contained HTML page, valid PNG charts, escaped input."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from matplotlib import image

from houseedge.core.policies.builtin import SmaCross
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.errors import SchemaMismatch
from houseedge.research.backtest import BacktestResult, backtest
from houseedge.research.report import infer_periods_per_year, write_report

SECTION_TITLES = [
    "Overview",
    "Performance metrics",
    "Equity curve",
    "Drawdowns",
    "Monthly returns",
    "Rolling Sharpe ratio",
    "Trades",
    "Exposure",
    "Run parameters",
]
CHARTS = ["equity", "drawdown", "monthly_returns", "rolling_sharpe", "trades", "exposure"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class NamedPolicy:
    """A policy with any name and a fixed target expression."""

    warmup = 0

    def __init__(self, name: str, target: pl.Expr) -> None:
        self._name, self._target = name, target

    @property
    def name(self) -> str:
        return self._name

    def params(self) -> dict[str, Any]:
        return {"label": self._name}

    def target(self) -> pl.Expr:
        return self._target


def html_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def money(value: float) -> str:
    return f"{value:,.2f}"


def pct(value: float) -> str:
    return f"{value * 100:,.2f}%"


@pytest.fixture(scope="module")
def daily() -> BacktestResult:
    bars = synthetic_bars(1, periods=300, timeframe="1d", seed=3)
    return backtest(bars, SmaCross(5, 20))


@pytest.fixture(scope="module")
def daily_report(daily: BacktestResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(daily, tmp_path_factory.mktemp("daily") / "tearsheet.html")


def test_writes_the_html_and_every_chart_as_a_valid_png(daily_report: Path) -> None:
    assert daily_report.is_file()
    for name in CHARTS:
        chart = daily_report.with_name(f"tearsheet_{name}.png")
        data = chart.read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert len(data) > 5_000, name
        pixels = image.imread(chart)
        assert pixels.ndim == 3, name
        assert pixels.shape[1] == 1000, name
        assert pixels.shape[0] >= 150, name
        assert pixels.shape[2] in (3, 4), name
        assert float(np.std(pixels[..., :3])) > 0.01, f"{name} is blank"


def test_html_is_self_contained_and_embeds_the_chart_files(daily_report: Path) -> None:
    page = html_of(daily_report)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == len(CHARTS)
    embedded = {base64.b64decode(src.removeprefix("data:image/png;base64,")) for src in sources}
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    on_disk = {daily_report.with_name(f"tearsheet_{name}.png").read_bytes() for name in CHARTS}
    assert embedded == on_disk


def test_html_shows_every_section_and_the_key_metrics(
    daily: BacktestResult, daily_report: Path
) -> None:
    page = html_of(daily_report)
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in page, title
    m = daily.metrics
    assert m["trades"] > 0
    assert money(m["final_equity"]) in page
    assert money(m["equity_peak"]) in page
    assert pct(m["total_return"]) in page
    assert pct(m["max_drawdown"]) in page
    assert f'<td>Closed trades</td><td class="num">{m["trades"]}</td>' in page
    # the worst drawdown of the table is the max drawdown, as a positive percent
    assert f"{-m['max_drawdown'] * 100:.2f}%" in page
    assert "Worst 5 drawdowns" in page
    assert "Buy &amp; hold SYM00" in page
    assert "sma_cross" in page
    assert "<td>slow</td><td>20</td>" in page
    first = daily.trades.sort("exit_ts").row(0, named=True)
    assert first["entry_ts"].strftime("%Y-%m-%d") in page
    assert money(first["pnl"]) in page


def test_daily_bars_without_weekends_are_annualised_at_252(tmp_path: Path) -> None:
    bars = synthetic_bars(1, periods=120, timeframe="1d", session="equity", seed=5)
    result = backtest(bars, SmaCross(5, 20), periods_per_year=12)
    page = html_of(write_report(result, tmp_path / "equity.html"))
    assert "252 (inferred from the bar times)" in page
    assert "annualised metrics recomputed" in page
    # the table's Sharpe is computed at 252 bars a year, not the backtest's 12
    returns = result.equity.get_column("returns")
    sharpe = returns.mean() / returns.std() * 252**0.5
    assert f'<td>Sharpe ratio</td><td class="num">{sharpe:,.2f}</td>' in page


@pytest.mark.parametrize(
    ("timeframe", "session", "expected"),
    [
        ("1d", "24/7", 365.0),
        ("1d", "equity", 252.0),
        ("1h", "24/7", 24 * 365.0),
        ("1h", "equity", 252 * 7.0),
        ("15m", "24/7", 96 * 365.0),
    ],
)
def test_infers_bars_per_year_from_the_calendar(
    timeframe: str, session: str, expected: float
) -> None:
    bars = synthetic_bars(1, periods=400, timeframe=timeframe, session=session)
    assert infer_periods_per_year(bars.get_column("ts")) == expected


def test_weekly_and_numeric_times() -> None:
    weeks = pl.datetime_range(
        dt.datetime(2020, 1, 6, tzinfo=dt.UTC),
        dt.datetime(2021, 1, 4, tzinfo=dt.UTC),
        "1w",
        eager=True,
    )
    assert infer_periods_per_year(weeks) == 52.0
    assert infer_periods_per_year(pl.Series([1, 2, 3])) is None


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    name = '<script>alert("x")</script>'
    bars = synthetic_bars(["<b>S&P</b> US$"], periods=150, timeframe="1h", seed=2)
    policy = NamedPolicy(name, (pl.col("close") > pl.col("close").rolling_mean(12)).cast(float))
    result = backtest(bars, policy)
    page = html_of(write_report(result, tmp_path / "x.html", title=f"Run {name}"))
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<title>Run &lt;script&gt;" in page
    assert "<b>S&P</b>" not in page
    assert "&lt;b&gt;S&amp;P&lt;/b&gt; US$" in page
    # hourly bars are stamped to the minute
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>", page)


def test_a_run_without_trades_still_reports(tmp_path: Path) -> None:
    bars = synthetic_bars(1, periods=90, timeframe="1d", seed=4)
    result = backtest(bars, NamedPolicy("flat", pl.lit(0.0)))
    assert result.trades.height == 0
    stale = tmp_path / "flat_trades.png"
    stale.write_bytes(PNG_MAGIC)  # left by an earlier report at the same path
    out = write_report(result, tmp_path / "flat.html")
    page = html_of(out)
    assert "No trades: no closed trade" in page
    assert 'alt="Trade histogram"' not in page
    assert not stale.exists()
    for name in ("equity", "drawdown", "exposure"):
        assert (tmp_path / f"flat_{name}.png").read_bytes().startswith(PNG_MAGIC)
    assert money(100_000.0) in page
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in page


def test_histogram_uses_r_multiples_when_present(
    daily: BacktestResult, daily_report: Path, tmp_path: Path
) -> None:
    assert daily.trades.get_column("r_multiple").null_count() == daily.trades.height
    assert "r_multiple is empty" in html_of(daily_report)
    with_r = dataclasses.replace(
        daily, trades=daily.trades.with_columns(r_multiple=pl.col("return_pct") * 50.0)
    )
    page = html_of(write_report(with_r, tmp_path / "r.html"))
    assert "R-multiple of each closed trade" in page
    assert "r_multiple is empty" not in page


def test_a_given_benchmark_gets_its_own_column(daily: BacktestResult, tmp_path: Path) -> None:
    ts = daily.equity.get_column("ts")
    steady = pl.DataFrame({"ts": ts, "returns": pl.repeat(0.001, ts.len(), eager=True)})
    page = html_of(write_report(daily, tmp_path / "b.html", benchmark=steady))
    assert "<th>Benchmark</th>" in page
    assert "Alpha (annual, vs benchmark)" in page
    # a 0.1% gain every bar after the first compounds to this total return
    assert pct(1.001 ** (ts.len() - 1) - 1.0) in page
    with pytest.raises(SchemaMismatch, match="close"):
        write_report(daily, tmp_path / "bad.html", benchmark=steady.rename({"returns": "r"}))


def test_several_symbols_compare_to_an_equal_weight_buy_and_hold(tmp_path: Path) -> None:
    bars = synthetic_bars(2, periods=200, timeframe="1d", seed=6)
    result = backtest(bars, SmaCross(5, 20, "long_short"))
    page = html_of(write_report(result, tmp_path / "two.html", periods_per_year=365))
    assert "Buy &amp; hold, equal weight (2 symbols)" in page
    assert "365 (given)" in page
    assert "SYM00, SYM01" in page
