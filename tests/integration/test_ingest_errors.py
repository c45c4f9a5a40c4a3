"""Broken and ambiguous files: every error names the file, the exact row and the field."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from houseedge.data.ingest import detect_format, read_file
from houseedge.data.store import Store
from houseedge.errors import (
    DataError,
    DatasetNotFound,
    FormatError,
    InvalidData,
    SchemaMismatch,
)

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
GOOD_DAYS = [
    "2024-01-02,10,11,9,10.5,10.4,100",
    "2024-01-03,10.5,12,10,11,10.9,200",
    "2024-01-04,11,11.5,10.5,11.2,11.1,300",
    "2024-01-05,11.2,11.8,11,11.5,11.4,400",
]


def write(folder: Path, name: str, *lines: str) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def yahoo_with(folder: Path, line: int, text: str) -> Path:
    """Return a 4-day Yahoo file whose file line ``line`` (header = 1) is ``text``."""
    rows = list(GOOD_DAYS)
    rows[line - 2] = text
    return write(folder, "SPY.csv", YAHOO_HEADER, *rows)


def raises_at(
    kind: type[DataError], path: Path, row: int | None, field: str | None, **options: str
) -> DataError:
    with pytest.raises(kind) as caught:
        read_file(path, **options)
    err = caught.value
    assert err.source == str(path)
    assert str(path) in str(err)
    assert (err.row, err.field) == (row, field)
    if row is not None:
        assert f"row {row}" in str(err)
    if field is not None:
        assert f"field {field}" in str(err)
    return err


@pytest.mark.parametrize(
    ("line", "text", "kind", "field"),
    [
        (3, "2024-13-45,10.5,12,10,11,10.9,200", InvalidData, "Date"),
        (4, ",11,11.5,10.5,11.2,11.1,300", InvalidData, "Date"),
        (3, "2024-01-03,-10.5,12,10,11,10.9,200", InvalidData, "Open"),
        (5, "2024-01-05,11.2,11.8,11,nan,11.4,400", InvalidData, "Close"),
        (4, "2024-01-04,11,11.5,10.5,abc,11.1,300", SchemaMismatch, "Close"),
        (2, "2024-01-02,10,9,11,10.5,10.4,100", InvalidData, "High"),
        (3, "2024-01-03,10.5,12,10,11,-1,200", InvalidData, "Adj Close"),
        (5, "2024-01-05,11.2,11.8,11,11.5,11.4,-400", InvalidData, "Volume"),
        (4, "2024-01-04,11,11.5,10.5,,11.1,300", InvalidData, "Close"),
    ],
)
def test_bad_values_name_their_line_and_column(
    tmp_path: Path, line: int, text: str, kind: type[DataError], field: str
) -> None:
    path = yahoo_with(tmp_path, line, text)
    raises_at(kind, path, line, field, timeframe="1d")


def test_unsorted_dates_name_the_first_row_out_of_order(tmp_path: Path) -> None:
    path = write(tmp_path, "SPY.csv", YAHOO_HEADER, GOOD_DAYS[0], GOOD_DAYS[2], GOOD_DAYS[1])
    err = raises_at(InvalidData, path, 4, "Date", timeframe="1d")
    assert "before" in str(err) or "after" in str(err)


def test_repeated_dates_name_the_repeat(tmp_path: Path) -> None:
    path = write(tmp_path, "SPY.csv", YAHOO_HEADER, *GOOD_DAYS[:3], GOOD_DAYS[1])
    raises_at(InvalidData, path, 5, "Date", timeframe="1d")


def test_missing_column_with_explicit_format_names_expected_and_found(tmp_path: Path) -> None:
    path = write(tmp_path, "SPY.csv", "Date,Open,High,Low,Close", "2024-01-02,10,11,9,10.5")
    err = raises_at(FormatError, path, 1, "Volume", format="yahoo")
    assert "Date, Open, High, Low, Close, Volume" in str(err)  # expected
    assert "found columns Date, Open, High, Low, Close" in str(err)


def test_ragged_line_is_located(tmp_path: Path) -> None:
    path = yahoo_with(tmp_path, 4, "2024-01-04,11,11.5,10.5,11.2,11.1,300,9,9")
    err = raises_at(FormatError, path, 4, None, format="yahoo")
    assert err.__cause__ is not None  # the Polars error is kept as the cause, never raised bare


def test_wrong_explicit_format_names_format_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "GOOG.csv", ",Open,High,Low,Close,Volume", "2004-08-19,100,104,96,100,9")
    err = raises_at(FormatError, path, 1, "timestamp", format="truefx")
    message = str(err)
    assert "truefx" in message
    assert "timestamp, bid, ask" in message
    assert "(unnamed first column), Open, High, Low, Close, Volume" in message


def test_explicit_binary_format_on_a_csv_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "SPY.csv", YAHOO_HEADER, *GOOD_DAYS)
    err = raises_at(FormatError, path, None, None, format="binance_trades")
    assert "parquet" in str(err)


def test_unknown_format_name_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "SPY.csv", YAHOO_HEADER, *GOOD_DAYS)
    err = raises_at(FormatError, path, None, "format", format="stooq")
    assert "zipline_csvdir" in str(err)


def test_plain_ohlcv_header_is_ambiguous_until_the_format_is_given(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "X.csv",
        "Date,Open,High,Low,Close,Volume",
        *(",".join(d.split(",")[:5] + d.split(",")[6:]) for d in GOOD_DAYS),
    )
    with pytest.raises(FormatError) as caught:
        detect_format(path)
    assert "yahoo, backtrader" in str(caught.value)
    assert "--format" in str(caught.value)
    with pytest.raises(FormatError):
        read_file(path)
    bars = read_file(path, format="backtrader")[0].frame
    assert bars.height == 4
    assert bars["open_interest"].is_null().all()
    assert (
        read_file(path, format="yahoo")[0]
        .frame.drop("open_interest", "adj_close")
        .equals(bars.drop("open_interest", "adj_close"))
    )


def test_unknown_header_is_no_format(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "when,price", "2024-01-02,1")
    with pytest.raises(FormatError, match="no known csv format"):
        detect_format(path)


def test_naive_intraday_times_without_tz_ask_for_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "EURUSD.csv",
        ",Open,High,Low,Close,Volume",
        "2017-04-19 09:00:00,1.07,1.08,1.06,1.07,1",
        "2017-04-19 10:00:00,1.07,1.08,1.06,1.07,1",
    )
    err = raises_at(FormatError, path, 2, "(unnamed first column)")
    assert "tz=" in str(err)
    assert "--tz" in str(err)
    bars = read_file(path, tz="Asia/Tokyo")[0].frame
    assert bars["ts"].dt.hour().to_list() == [0, 1]


def test_local_time_that_does_not_exist_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ES.csv",
        ",Open,High,Low,Close,Volume",
        "2021-03-14 01:30:00,1,1,1,1,1",
        "2021-03-14 02:30:00,1,1,1,1,1",
        "2021-03-14 03:30:00,1,1,1,1,1",
    )
    raises_at(InvalidData, path, 3, "(unnamed first column)", tz="America/New_York")


def test_unknown_tz_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "EURUSD.csv",
        ",Open,High,Low,Close,Volume",
        "2017-04-19 09:00:00,1.07,1.08,1.06,1.07,1",
    )
    raises_at(InvalidData, path, None, "tz", tz="Mars/Olympus", timeframe="1h")


def test_timeframe_is_inferred_or_must_be_given(tmp_path: Path) -> None:
    tie = write(tmp_path, "SPY.csv", YAHOO_HEADER, GOOD_DAYS[0], GOOD_DAYS[1], GOOD_DAYS[3])
    err = raises_at(FormatError, tie, None, "timeframe")
    assert "--timeframe" in str(err)
    assert read_file(tie, timeframe="1d")[0].frame["timeframe"].to_list() == ["1d"] * 3
    single = write(tmp_path, "ONE.csv", YAHOO_HEADER, GOOD_DAYS[0])
    raises_at(FormatError, single, None, "timeframe")
    raises_at(InvalidData, single, None, "timeframe", timeframe="daily")


def test_symbol_comes_from_the_stem_unless_given(tmp_path: Path) -> None:
    path = write(tmp_path, "IBM.csv", YAHOO_HEADER, *GOOD_DAYS)
    assert read_file(path)[0].frame["symbol"].unique().to_list() == ["IBM"]
    assert read_file(path, symbol="X")[0].frame["symbol"].unique().to_list() == ["X"]
    nameless = write(tmp_path, ".csv", YAHOO_HEADER, *GOOD_DAYS)
    raises_at(FormatError, nameless, None, "symbol", format="yahoo")


def test_ffn_bad_cell_names_the_symbol_column_and_empty_cells_are_skipped(tmp_path: Path) -> None:
    lines = ["Date,AAPL,MSFT", "3/10/2004,13.84,25.37", "3/11/2004,,25.09", "3/12/2004,13.9,25.1"]
    good = write(tmp_path, "closes.csv", *lines)
    bars = read_file(good, timeframe="1d")[0].frame
    assert bars.select("symbol", "close").rows() == [
        ("AAPL", 13.84),
        ("MSFT", 25.37),
        ("MSFT", 25.09),
        ("AAPL", 13.9),
        ("MSFT", 25.1),
    ]
    bad = write(tmp_path, "bad.csv", *lines[:3], "3/12/2004,13.9,-25.1")
    raises_at(InvalidData, bad, 4, "MSFT", timeframe="1d")
    text = write(tmp_path, "text.csv", *lines[:2], "3/11/2004,x,25.09", lines[3])
    raises_at(SchemaMismatch, text, 3, "AAPL", timeframe="1d")
    date = write(tmp_path, "date.csv", *lines[:3], "2004-03-12,13.9,25.1")
    raises_at(InvalidData, date, 4, "Date", timeframe="1d")
    unsorted = write(tmp_path, "unsorted.csv", lines[0], lines[2], lines[1], lines[3])
    raises_at(InvalidData, unsorted, 3, "Date", timeframe="1d")
    raises_at(FormatError, good, 1, "symbol", symbol="GOOG")


ZIPLINE_HEADER = "date,open,high,low,close,volume,dividend,split"


def test_zipline_bad_event_values_are_located_before_filtering(tmp_path: Path) -> None:
    rows = [
        "2014-06-05,90,91,89,90.5,100,0.0,1.0",
        "2014-06-06,90,91,89,90.5,100,0.0,1.0",
        "2014-06-09,92,93,91,92.5,100,0.0,7.0",
        "2014-06-10,92,93,91,92.5,100,0.47,1.0",
    ]
    parsed = read_file(write(tmp_path, "AAPL.csv", ZIPLINE_HEADER, *rows), timeframe="1d")
    assert parsed[1].frame.select("dividend", "split").rows() == [(0.0, 7.0), (0.47, 1.0)]
    zero_split = write(
        tmp_path, "A.csv", ZIPLINE_HEADER, *rows[:2], rows[2].replace("7.0", "0"), rows[3]
    )
    raises_at(InvalidData, zero_split, 4, "split", timeframe="1d")
    text = write(tmp_path, "B.csv", ZIPLINE_HEADER, rows[0], rows[1].replace("0.0,1", "x,1"))
    raises_at(SchemaMismatch, text, 3, "dividend", timeframe="1d")


TRUEFX_HEADER = "timestamp,bid,ask"


def test_truefx_crossed_and_unsorted_ticks(tmp_path: Path) -> None:
    t = "2013-01-01 22:00:0{}.000000+00:00"
    crossed = write(
        tmp_path, "q.csv", TRUEFX_HEADER, f"{t.format(1)},86.6,86.7", f"{t.format(2)},86.8,86.7"
    )
    raises_at(InvalidData, crossed, 3, "ask")
    unsorted = write(
        tmp_path,
        "u.csv",
        TRUEFX_HEADER,
        f"{t.format(2)},86.6,86.7",
        f"{t.format(2)},86.6,86.7",
        f"{t.format(1)},86.6,86.7",
    )
    raises_at(InvalidData, unsorted, 4, "timestamp")


def test_parquet_trades_errors_use_zero_based_rows(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "timestamp": [1_610_064_000_000, 1_610_064_000_001, 1_610_064_000_002],
            "trade_id": [1, 2, 3],
            "price": [1.0, 2.0, 3.0],
            "quantity": [1.0, 1.0, 1.0],
            "buyer_maker": ["True", "False", "True"],
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))
    path = tmp_path / "t.parquet"
    frame.with_columns(buyer_maker=pl.Series(["True", "maybe", "True"])).write_parquet(path)
    raises_at(InvalidData, path, 1, "buyer_maker")
    frame.with_columns(price=pl.Series([1.0, 2.0, float("nan")])).write_parquet(path)
    raises_at(InvalidData, path, 2, "price")
    frame.with_columns(quantity=pl.Series([1.0, 0.0, 1.0])).write_parquet(path)
    raises_at(InvalidData, path, 1, "quantity")
    frame.drop("quantity").write_parquet(path)
    raises_at(FormatError, path, None, "quantity", format="binance_trades")
    frame.with_columns(pl.col("timestamp").dt.replace_time_zone(None)).write_parquet(path)
    raises_at(FormatError, path, 0, "timestamp")
    assert read_file(path, tz="UTC")[0].frame["side"].to_list() == ["sell", "buy", "sell"]


def test_corrupt_binary_files_raise_format_errors(tmp_path: Path) -> None:
    path = tmp_path / "junk.parquet"
    path.write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(FormatError) as caught:
        read_file(path, format="binance_trades")
    assert str(path) in str(caught.value)
    assert not isinstance(caught.value.__cause__, DataError)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    raises_at(DatasetNotFound, tmp_path / "nope.csv", None, None, format="yahoo")


def test_a_bad_file_writes_nothing(tmp_path: Path) -> None:
    from houseedge.data.ingest import ingest_file

    store = Store(tmp_path / "store")
    rows = ["2014-06-05,90,91,89,90.5,100,0.0,1.0", "2014-06-06,90,91,89,90.5,100,0.0,-7"]
    path = write(tmp_path, "AAPL.csv", ZIPLINE_HEADER, *rows)
    with pytest.raises(InvalidData):
        ingest_file(store, path, timeframe="1d")
    assert list((tmp_path / "store").rglob("*.parquet")) == []
