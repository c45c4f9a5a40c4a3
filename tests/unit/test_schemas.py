"""Dataset validation: types, rules, keys and order, each error naming row and field."""

from __future__ import annotations

import polars as pl
import pytest

from houseedge.data.validation import validate
from houseedge.errors import InvalidData, SchemaMismatch


def bars(**overrides: list[object]) -> pl.DataFrame:
    base: dict[str, list[object]] = {
        "symbol": ["X", "X", "X"],
        "timeframe": ["1d"] * 3,
        "ts": [0, 1, 2],
        "open": [1.0, 1.0, 1.0],
        "high": [2.0, 2.0, 2.0],
        "low": [0.5, 0.5, 0.5],
        "close": [1.5, 1.5, 1.5],
        "volume": [1.0, 1.0, 1.0],
    }
    return pl.DataFrame({**base, **overrides}, strict=False)


def test_valid_frame_is_cast_to_the_schema_with_optional_columns_added() -> None:
    out = validate("bars", bars())
    assert out.schema["ts"] == pl.Datetime("ns", "UTC")
    assert out["vwap"].null_count() == 3


def test_text_that_is_not_a_number_is_a_schema_mismatch_at_its_row() -> None:
    with pytest.raises(SchemaMismatch) as caught:
        validate("bars", bars(close=["1.5", "abc", "1.5"]), source="f.csv", row_base=2)
    assert (caught.value.row, caught.value.field) == (3, "close")
    assert "'abc'" in str(caught.value)


@pytest.mark.parametrize(
    ("column", "values", "field"),
    [
        ("close", [1.5, float("nan"), 1.5], "close"),
        ("open", [1.0, -1.0, 1.0], "open"),
        ("volume", [1.0, -5.0, 1.0], "volume"),
        ("low", [0.5, 3.0, 0.5], "high"),
        ("close", [1.5, None, 1.5], "close"),
    ],
)
def test_rule_breaks_name_the_first_bad_row(column: str, values: list[object], field: str) -> None:
    with pytest.raises(InvalidData) as caught:
        validate("bars", bars(**{column: values}))
    assert (caught.value.row, caught.value.field) == (1, field)


def test_order_check_rejects_unsorted_and_repeated_timestamps() -> None:
    with pytest.raises(InvalidData, match="not after the previous row") as caught:
        validate("bars", bars(ts=[0, 2, 2]), check_order=True)
    assert caught.value.row == 2
    with pytest.raises(InvalidData):
        validate("bars", bars(ts=[0, 2, 1]), check_order=True)


def test_trades_may_share_a_timestamp_but_not_go_back() -> None:
    trades = pl.DataFrame(
        {
            "symbol": ["X"] * 3,
            "ts": [0, 0, 1],
            "price": [1.0] * 3,
            "size": [1.0] * 3,
            "side": ["buy", None, "sell"],
            "trade_id": ["a", "b", "c"],
        }
    )
    assert validate("trades", trades, check_order=True).height == 3
    with pytest.raises(InvalidData):
        validate("trades", trades.with_columns(ts=pl.Series([1, 0, 1])), check_order=True)


def test_repeated_key_names_the_later_row() -> None:
    with pytest.raises(InvalidData, match="key repeats") as caught:
        validate("bars", bars(ts=[0, 1, 0]))
    assert caught.value.row == 2
