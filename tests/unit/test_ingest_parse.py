"""Pure parsing helpers of the importers: time layouts, time zones, timeframes, detection rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from houseedge.data.ingest._parse import checked, numbers
from houseedge.data.ingest._times import gap_label, parse_times, timeframe_of
from houseedge.data.ingest.formats import FORMATS
from houseedge.errors import FormatError, InvalidData, SchemaMismatch

SRC = Path("in.csv")


def parse(values: list[str | None], **options: str) -> pl.Series:
    return parse_times(pl.Series("t", values), SRC, row_base=2, tz=options.get("tz"))


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2024-03-01", None, datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01", "Asia/Tokyo", datetime(2024, 3, 1, tzinfo=UTC)),  # dates ignore tz
        ("2013-01-01 22:00:00.295000+00:00", None, datetime(2013, 1, 1, 22, 0, 0, 295000, UTC)),
        ("2013-01-01T23:00:00+01:00", None, datetime(2013, 1, 1, 22, tzinfo=UTC)),
        ("2013-01-01T22:00:00.5Z", None, datetime(2013, 1, 1, 22, 0, 0, 500000, UTC)),
        ("2024-07-01 09:30:00", "America/New_York", datetime(2024, 7, 1, 13, 30, tzinfo=UTC)),
        ("2024-01-02 09:30", "America/New_York", datetime(2024, 1, 2, 14, 30, tzinfo=UTC)),
    ],
)
def test_time_layouts_become_utc(text: str, tz: str | None, expected: datetime) -> None:
    parsed = parse([text], **({"tz": tz} if tz else {}))
    assert parsed.dtype == pl.Datetime("ns", "UTC")
    assert parsed[0] == expected


def test_first_unparseable_time_is_located() -> None:
    with pytest.raises(InvalidData) as caught:
        parse(["2024-01-01", "2024-01-02", "2024-02-30"])
    assert (caught.value.row, caught.value.field) == (4, "t")
    assert "'2024-02-30'" in str(caught.value)


def test_a_first_value_of_no_known_layout_is_located() -> None:
    with pytest.raises(InvalidData) as caught:
        parse(["yesterday", "2024-01-02"])
    assert caught.value.row == 2


def test_empty_time_is_located() -> None:
    with pytest.raises(InvalidData, match="empty") as caught:
        parse(["2024-01-01", None])
    assert caught.value.row == 3


def test_naive_times_need_a_zone() -> None:
    with pytest.raises(FormatError, match="tz="):
        parse(["2024-01-01 10:00:00"])


def test_repeated_local_hour_is_ambiguous() -> None:
    with pytest.raises(InvalidData, match="ambiguous") as caught:
        parse(["2021-11-07 00:30:00", "2021-11-07 01:30:00"], tz="America/New_York")
    assert caught.value.row == 3


@pytest.mark.parametrize(
    ("gap", "label"),
    [
        (timedelta(seconds=1), "1s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(minutes=15), "15m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=4), "4h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=7), "1w"),
        (timedelta(days=28), "1mo"),
        (timedelta(days=31), "1mo"),
        (timedelta(days=91), "3mo"),
        (timedelta(days=366), "1y"),
        (timedelta(milliseconds=250), "250ms"),
    ],
)
def test_gap_labels(gap: timedelta, label: str) -> None:
    assert gap_label(gap // timedelta(microseconds=1)) == label


def days(*offsets: int) -> pl.Series:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return pl.Series([start + timedelta(days=d) for d in offsets])


def test_timeframe_is_the_most_common_gap_even_with_weekends() -> None:
    assert timeframe_of(days(0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 14), SRC, None) == "1d"


def test_timeframe_inference_ignores_row_order_and_repeats() -> None:
    assert timeframe_of(days(3, 1, 2, 2, 0), SRC, None) == "1d"


def test_timeframe_tie_and_no_gap_are_errors() -> None:
    with pytest.raises(FormatError, match=r"1d, 2d|2d, 1d"):
        timeframe_of(days(0, 1, 3), SRC, None)
    with pytest.raises(FormatError, match="no gaps"):
        timeframe_of(days(0), SRC, None)


@pytest.mark.parametrize("given", ["1m", "5m", "4h", "1d", "1w", "1mo", "1q", "1y"])
def test_given_timeframes_are_kept(given: str) -> None:
    assert timeframe_of(days(0), SRC, given) == given


@pytest.mark.parametrize("given", ["daily", "0d", "1 d", "m5", ""])
def test_given_timeframes_must_be_durations(given: str) -> None:
    with pytest.raises(InvalidData):
        timeframe_of(days(0), SRC, given)


def test_numbers_keep_empty_cells_and_locate_text() -> None:
    frame = pl.DataFrame({"a": ["1", None, " 2.5 "], "b": ["3", "4", "five"]})
    assert numbers(frame, ["a"], SRC)["a"].to_list() == [1.0, None, 2.5]
    with pytest.raises(SchemaMismatch) as caught:
        numbers(frame, ["a", "b"], SRC)
    assert (caught.value.row, caught.value.field) == (4, "b")


def test_checked_reports_file_rows_and_column_names() -> None:
    bars = pl.DataFrame(
        {
            "symbol": ["X", "X"],
            "timeframe": ["1d", "1d"],
            "ts": [0, 86_400 * 10**9],
            "open": [1.0, 1.0],
            "high": [2.0, 0.5],
            "low": [0.5, 0.6],
            "close": [1.5, 0.6],
            "volume": [1.0, 1.0],
        }
    )
    with pytest.raises(InvalidData) as caught:
        checked("bars", bars, SRC, fields={"high": "High"}, row_base=2)
    assert (caught.value.row, caught.value.field) == (3, "High")
    with pytest.raises(InvalidData) as caught:
        checked("bars", bars, SRC, fields={"high": "MSFT"}, rows=pl.Series([10, 17]))
    assert (caught.value.row, caught.value.field) == (17, "MSFT")


def test_repeated_key_names_the_file_time_column() -> None:
    bars = pl.DataFrame(
        {
            "symbol": ["X", "X"],
            "timeframe": ["1d", "1d"],
            "ts": [0, 0],
            "open": [1.0, 1.0],
            "high": [1.0, 1.0],
            "low": [1.0, 1.0],
            "close": [1.0, 1.0],
            "volume": [1.0, 1.0],
        }
    )
    with pytest.raises(InvalidData) as caught:
        checked("bars", bars, SRC, fields={"ts": "Date"}, row_base=2)
    assert (caught.value.row, caught.value.field) == (3, "Date")


@pytest.mark.parametrize(
    ("header", "fits"),
    [
        (["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"], ["yahoo"]),
        (["Date", "Open", "High", "Low", "Close", "Volume", "Adj Close"], ["yahoo"]),
        (["Date", "Open", "High", "Low", "Close", "Volume", "OpenInterest"], ["backtrader"]),
        (["Date", "Open", "High", "Low", "Close", "Volume"], ["yahoo", "backtrader"]),
        (["", "Open", "High", "Low", "Close", "Volume"], ["backtesting_py"]),
        (["Date", "AAPL", "MSFT", "C"], ["ffn_wide"]),
        (["Date", "Close"], []),
        (["timestamp", "bid", "ask"], ["truefx"]),
        (["date", "open", "high", "low", "close", "volume"], ["freqtrade"]),
        (["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume", "OpenInterest"], []),
    ],
)
def test_which_formats_recognise_a_header(header: list[str], fits: list[str]) -> None:
    assert [name for name, f in FORMATS.items() if f.recognises(header)] == fits
