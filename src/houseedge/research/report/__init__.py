"""Self-contained HTML tearsheets and charts."""

from houseedge.research.report._tearsheet import (
    SECTIONS,
    TRADE_ROWS,
    infer_periods_per_year,
    rolling_window,
    write_report,
)
from houseedge.research.report.charts import (
    PNG_SIGNATURE,
    drawdown_chart,
    equity_chart,
    exposure_chart,
    histogram_chart,
    monthly_returns_chart,
    plain_text,
    rolling_sharpe_chart,
)

__all__ = [
    "PNG_SIGNATURE",
    "SECTIONS",
    "TRADE_ROWS",
    "drawdown_chart",
    "equity_chart",
    "exposure_chart",
    "histogram_chart",
    "infer_periods_per_year",
    "monthly_returns_chart",
    "plain_text",
    "rolling_sharpe_chart",
    "rolling_window",
    "write_report",
]
