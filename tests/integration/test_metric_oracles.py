"""Every metric case of ../shared/oracles/oracle_cases.json, reproduced through parameters."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from houseedge.research.metrics import (
    aggregate_returns,
    alpha_beta,
    annual_return,
    annual_volatility,
    calmar_ratio,
    conditional_value_at_risk,
    downside_risk,
    drawdown_table,
    max_drawdown,
    omega_ratio,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
    total_return,
    value_at_risk,
)

ROOT = Path(__file__).resolve().parents[2]
CASES_FILE = ROOT.parent / "shared" / "oracles" / "oracle_cases.json"
# ids are read at collection time only to name the parameters; each test loads its case through
# the oracle_cases fixture, which skips when ../shared is absent
CASE_IDS = (
    [c["id"] for c in json.loads(CASES_FILE.read_text())["metric_cases"]]
    if CASES_FILE.is_file()
    else []
)

Case = dict[str, Any]


def _load(path: Path, case_id: str) -> Case:
    return next(c for c in json.loads(path.read_text())["metric_cases"] if c["id"] == case_id)


def _dates(values: list[str]) -> pl.Series:
    return pl.Series("ts", [dt.date.fromisoformat(v) for v in values])


def _frame(case: Case) -> pl.DataFrame:
    """Build the frame: ``returns`` (from prices if given), ``ts``, ``benchmark``, ``rf``."""
    data = case["input"]
    if "returns" in data:
        frame = pl.DataFrame({"returns": pl.Series(data["returns"], dtype=pl.Float64)})
    else:
        prices = pl.DataFrame({"close": pl.Series(data["prices"], dtype=pl.Float64)})
        frame = prices.select(simple_returns("close"))
    if "dates" in data:
        frame = frame.with_columns(_dates(data["dates"]))
    if "factor_returns_aligned_to_returns" in data:
        benchmark = data["factor_returns_aligned_to_returns"]
        frame = frame.with_columns(benchmark=pl.Series(benchmark, dtype=pl.Float64))
    if isinstance(case["params"].get("risk_free"), list):
        frame = frame.with_columns(rf=pl.Series(case["params"]["risk_free"], dtype=pl.Float64))
    return frame


def _ann(case: Case) -> dict[str, Any]:
    params = case["params"]
    return {"periods_per_year": params["annualization"]} if "annualization" in params else {}


def _risk_free(case: Case) -> float | str:
    rf = case["params"].get("risk_free", 0.0)
    return "rf" if isinstance(rf, list) else rf


def _select(case: Case, expr: pl.Expr) -> float:
    return _frame(case).lazy().select(expr).collect().item()


def _cagr(case: Case, cases_file: Path) -> float:
    data = case["input"]
    if "prices_file" not in data:
        return _select(case, annual_return(**_ann(case)))
    # ffn: price-based CAGR over calendar time in 365.25-day years
    csv = (ROOT / data["prices_file"]).resolve()
    assert csv.is_relative_to(cases_file.resolve().parents[1]), "price files live under ../shared"
    prices = pl.read_csv(csv).select(
        ts=pl.col("Date").str.to_date("%m/%d/%Y"), close=pl.col(data["column"])
    )
    assert prices.height == data["rows"]
    frame = prices.with_columns(simple_returns("close"))
    return frame.select(annual_return(time="ts", days_per_year=365.25)).item()


def _drawdown_rows(case: Case) -> list[dict[str, Any]]:
    table = drawdown_table(_frame(case), time="ts", top=case["params"]["top"])
    return [
        {
            "peak": row["peak"].isoformat(),
            "valley": row["valley"].isoformat(),
            "recovery": None if row["recovery"] is None else row["recovery"].isoformat(),
            "net_drawdown_pct": round(row["net_drawdown_pct"]),
        }
        for row in table.iter_rows(named=True)
    ]


def _compute(case: Case, cases_file: Path) -> Any:  # noqa: C901 - one branch per metric
    params = case["params"]
    ann = _ann(case)
    ddof = {"ddof": params["ddof"]} if "ddof" in params else {}
    match case["metric"]:
        case "total_return":
            return _select(case, total_return())
        case "max_drawdown":
            return _select(case, max_drawdown())
        case "annual_return_cagr":
            return _cagr(case, cases_file)
        case "annual_volatility":
            return _select(case, annual_volatility(**ann, **ddof))
        case "calmar_ratio":
            return _select(case, calmar_ratio(**ann))
        case "omega_ratio":
            rf, req = _risk_free(case), params["required_return"]
            return _select(case, omega_ratio(**ann, risk_free=rf, required_return=req))
        case "sharpe_ratio":
            return _select(case, sharpe_ratio(**ann, **ddof, risk_free=_risk_free(case)))
        case "downside_risk":
            return _select(case, downside_risk(**ann, required_return=params["required_return"]))
        case "sortino_ratio":
            return _select(case, sortino_ratio(**ann, required_return=params["required_return"]))
        case "alpha_beta":
            expr = alpha_beta(**ann, risk_free=_risk_free(case))
            return list(_select(case, expr).values())
        case "value_at_risk":
            return _select(case, value_at_risk(cutoff=params["cutoff"]))
        case "conditional_value_at_risk":
            return _select(case, conditional_value_at_risk(cutoff=params["cutoff"]))
        case "aggregate_returns":
            out = aggregate_returns(_frame(case), params["convert_to"])
            return out["returns"].to_list()
        case "drawdown_periods":
            return _drawdown_rows(case)
    raise AssertionError(f"no mapping for metric {case['metric']!r} (case {case['id']})")


def _expected_number(value: Any) -> float:
    special = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
    return special[value] if isinstance(value, str) else float(value)


def _assert_close(actual: Any, expected: Any, tolerance: dict[str, Any]) -> None:
    if isinstance(expected, list):
        assert isinstance(actual, list)
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            _assert_close(a, e, tolerance)
        return
    want = _expected_number(expected)
    assert actual is not None
    if math.isnan(want):
        assert math.isnan(actual)
        return
    abs_tol, rel_tol = float(tolerance.get("abs", 0.0)), float(tolerance.get("rel", 0.0))
    assert math.isclose(actual, want, abs_tol=abs_tol, rel_tol=rel_tol), (actual, want)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_metric_case(oracle_cases: Path, case_id: str) -> None:
    case = _load(oracle_cases, case_id)
    actual = _compute(case, oracle_cases)
    if case["metric"] == "drawdown_periods":
        assert actual == case["expected"]
    else:
        _assert_close(actual, case["expected"], case["tolerance"])


def test_every_metric_case_is_covered(oracle_cases: Path) -> None:
    cases = json.loads(oracle_cases.read_text())["metric_cases"]
    assert [c["id"] for c in cases] == CASE_IDS
    assert len(cases) >= 29


def test_drawdown_table_durations_count_business_days(oracle_cases: Path) -> None:
    case = _load(oracle_cases, "pyfolio.drawdown_table.relative_top2")
    table = drawdown_table(_frame(case), time="ts", top=2)
    # 2000-01-08 (Sat) .. 2000-01-13 (Thu): Mon 10 .. Thu 13 are the business days
    assert table["duration"].to_list() == [4, None]
