"""Every importer on its real third-party file: counts, first/last rows and conventions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from houseedge.data.ingest import FORMATS, Parsed, detect_format, ingest_file, read_file
from houseedge.data.schemas import DATASETS
from houseedge.data.store import Store
from houseedge.errors import FormatError


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def only(parsed: list[Parsed], dataset: str = "bars") -> pl.DataFrame:
    frames = [p.frame for p in parsed if p.dataset == dataset]
    assert len(frames) == 1
    return frames[0]


def test_every_frame_has_its_dataset_schema(real_data: Path) -> None:
    for parsed in read_file(real_data / "zipline_reloaded" / "AAPL.csv"):
        assert parsed.frame.schema == pl.Schema(DATASETS[parsed.dataset].schema)
        assert parsed.source == str(real_data / "zipline_reloaded" / "AAPL.csv")


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("backtrader/2006-day-001.txt", "backtrader"),
        ("backtrader/orcl-1995-2014.txt", "yahoo"),
        ("backtrader/orcl-1995-2014.2015-snapshot.txt", "yahoo"),
        ("backtesting_py/GOOG.csv", "backtesting_py"),
        ("backtesting_py/EURUSD.csv", "backtesting_py"),
        ("backtesting_py/BTCUSD.csv", "backtesting_py"),
        ("zipline_reloaded/MSFT.csv", "zipline_csvdir"),
        ("ffn/test_data.csv", "ffn_wide"),
        ("nautilus_trader/binance-btcusdt-trades.parquet", "binance_trades"),
        ("nautilus_trader/binance-btcusdt-quotes.parquet", "binance_quotes"),
        ("nautilus_trader/truefx-usdjpy-ticks.csv", "truefx"),
        ("nautilus_trader/6EH4.XCME_1min_bars_20240101_20240131.csv", "cme_bars"),
        ("freqtrade/ETH_BTC-5m.feather", "freqtrade"),
    ],
)
def test_detects_the_format_of_every_real_file(
    real_data: Path, relative: str, expected: str
) -> None:
    assert detect_format(real_data / relative) == expected


def test_yahoo_current_orcl_reads_adj_close_and_volume_by_name(real_data: Path) -> None:
    bars = only(read_file(real_data / "backtrader" / "orcl-1995-2014.txt", symbol="ORCL"))
    assert bars.height == 5036
    assert bars["symbol"].unique().to_list() == ["ORCL"]
    assert bars["timeframe"].unique().to_list() == ["1d"]
    first, last = bars.row(0, named=True), bars.row(-1, named=True)
    assert first["ts"] == utc(1995, 1, 3)
    assert (first["open"], first["close"], first["adj_close"]) == (2.179012, 2.117284, 1.883304)
    assert first["volume"] == 36301200
    assert last["ts"] == utc(2014, 12, 31)
    assert (last["close"], last["adj_close"], last["volume"]) == (44.970001, 42.303135, 13269200)
    assert bars["open_interest"].is_null().all()


def test_yahoo_other_column_order_reads_the_same_fields(real_data: Path) -> None:
    path = real_data / "backtrader" / "orcl-1995-2014.2015-snapshot.txt"
    bars = only(read_file(path, format="yahoo"))
    assert bars.height == 5036
    assert bars["symbol"][0] == "orcl-1995-2014.2015-snapshot"  # the stem, when not told
    first, last = bars.row(0, named=True), bars.row(-1, named=True)
    assert (first["open"], first["close"], first["adj_close"]) == (44.12, 42.87, 2.00)
    assert first["volume"] == 36301200
    assert (last["ts"], last["close"], last["adj_close"]) == (utc(2014, 12, 31), 44.97, 44.85)


def test_backtrader_keeps_open_interest(real_data: Path) -> None:
    bars = only(read_file(real_data / "backtrader" / "2006-day-001.txt", symbol="STOXX50E"))
    assert bars.height == 255
    assert (bars["ts"][0], bars["open"][0]) == (utc(2006, 1, 2), 3578.73)
    assert (bars["ts"][-1], bars["close"][-1]) == (utc(2006, 12, 29), 4119.94)
    assert bars["open_interest"].to_list() == [0.0] * 255
    assert bars["adj_close"].is_null().all()


def test_backtesting_py_daily_dates_are_midnight_utc(real_data: Path) -> None:
    bars = only(read_file(real_data / "backtesting_py" / "GOOG.csv"))
    assert bars.height == 2148
    assert bars["symbol"].unique().to_list() == ["GOOG"]
    assert bars["timeframe"][0] == "1d"
    assert bars.row(0, named=True) | {"adj_close": None} == {
        "symbol": "GOOG",
        "timeframe": "1d",
        "ts": utc(2004, 8, 19),
        "open": 100.0,
        "high": 104.06,
        "low": 95.96,
        "close": 100.34,
        "volume": 22351900.0,
        "vwap": None,
        "trades": None,
        "adj_close": None,
        "open_interest": None,
    }
    assert (bars["ts"][-1], bars["close"][-1]) == (utc(2013, 3, 1), 806.19)


def test_backtesting_py_hourly_naive_times_need_and_use_tz(real_data: Path) -> None:
    path = real_data / "backtesting_py" / "EURUSD.csv"
    with pytest.raises(FormatError) as caught:
        read_file(path)
    assert str(path) in str(caught.value)
    assert "tz" in str(caught.value)
    assert caught.value.row == 2
    in_utc = only(read_file(path, tz="UTC"))
    assert in_utc.height == 5000
    assert in_utc["timeframe"][0] == "1h"
    assert (in_utc["ts"][0], in_utc["ts"][-1]) == (utc(2017, 4, 19, 9), utc(2018, 2, 7, 15))
    london = only(read_file(path, tz="Europe/London"))
    assert london["ts"][0] == utc(2017, 4, 19, 8)  # British summer time is UTC+1
    assert london["ts"][-1] == utc(2018, 2, 7, 15)  # winter: UTC+0


def test_backtesting_py_month_end_index_is_monthly(real_data: Path) -> None:
    bars = only(read_file(real_data / "backtesting_py" / "BTCUSD.csv"))
    assert bars.height == 156
    assert bars["timeframe"][0] == "1mo"
    assert (bars["ts"][0], bars["open"][0], bars["close"][0]) == (utc(2012, 1, 31), 4.58, 5.55)
    assert (bars["ts"][-1], bars["close"][-1]) == (utc(2024, 12, 31), 93381.0)


@pytest.mark.parametrize(
    ("symbol", "dividends", "split"),
    [
        ("AAPL", 10, (utc(2014, 6, 9), 7.0)),
        ("IBM", 12, None),
        ("KO", 12, (utc(2012, 8, 13), 2.0)),
        ("MSFT", 12, None),
    ],
)
def test_zipline_bars_and_corporate_actions(
    real_data: Path, symbol: str, dividends: int, split: tuple[datetime, float] | None
) -> None:
    parsed = read_file(real_data / "zipline_reloaded" / f"{symbol}.csv")
    assert [p.dataset for p in parsed] == ["bars", "corporate_actions"]
    bars, actions = only(parsed), only(parsed, "corporate_actions")
    assert bars.height == 754
    assert (bars["ts"][0], bars["ts"][-1]) == (utc(2012, 1, 3), utc(2014, 12, 31))
    assert actions["symbol"].unique().to_list() == [symbol]
    assert actions.filter(pl.col("dividend") != 0).height == dividends
    splits = actions.filter(pl.col("split") != 1)
    assert [tuple(r) for r in splits.select("ts", "split").rows()] == ([split] if split else [])
    assert actions.height == dividends + len(splits)


def test_zipline_split_is_an_event_not_an_adjustment(real_data: Path) -> None:
    parsed = read_file(real_data / "zipline_reloaded" / "AAPL.csv")
    bars, actions = only(parsed), only(parsed, "corporate_actions")
    around = bars.filter(pl.col("ts").is_in([utc(2014, 6, 6), utc(2014, 6, 9)]))
    # The file is already split-adjusted: the 7:1 split day shows no 7x jump in the bars.
    assert around["close"].to_list() == [92.224289, 93.699997]
    dividend = actions.filter(pl.col("ts") == utc(2012, 8, 9)).row(0, named=True)
    assert (dividend["dividend"], dividend["split"]) == (0.37857, 1.0)


def test_ffn_wide_is_one_close_only_bar_per_symbol_and_day(real_data: Path) -> None:
    bars = only(read_file(real_data / "ffn" / "test_data.csv"))
    assert bars.height == 3 * 2517
    assert bars["symbol"].head(3).to_list() == ["AAPL", "MSFT", "C"]  # file order: line, column
    assert bars.group_by("symbol").len().sort("symbol").rows() == [
        ("AAPL", 2517),
        ("C", 2517),
        ("MSFT", 2517),
    ]
    assert (
        bars.filter(
            (pl.col("open") != pl.col("close"))
            | (pl.col("high") != pl.col("close"))
            | (pl.col("low") != pl.col("close"))
            | (pl.col("volume") != 0)
        ).height
        == 0
    )
    aapl = bars.filter(pl.col("symbol") == "AAPL")
    assert (aapl["ts"][0], aapl["close"][0]) == (utc(2004, 3, 10), 13.84)
    assert (aapl["ts"][-1], aapl["close"][-1]) == (utc(2014, 3, 10), 530.92)
    assert bars.filter(pl.col("symbol") == "C")["close"][-1] == 49.57
    assert bars["timeframe"].unique().to_list() == ["1d"]


def test_ffn_symbol_option_selects_one_column(real_data: Path) -> None:
    bars = only(read_file(real_data / "ffn" / "test_data.csv", symbol="MSFT"))
    assert bars["symbol"].unique().to_list() == ["MSFT"]
    assert (bars.height, bars["close"][0], bars["close"][-1]) == (2517, 25.37, 37.82)


def test_binance_trades_map_buyer_maker_to_the_aggressor_side(real_data: Path) -> None:
    path = real_data / "nautilus_trader" / "binance-btcusdt-trades.parquet"
    trades = only(read_file(path, symbol="BTCUSDT"), "trades")
    raw = pl.read_parquet(path)
    assert trades.height == raw.height == 2001
    assert trades["symbol"].unique().to_list() == ["BTCUSDT"]
    assert trades["ts"][0] == utc(2021, 1, 8, 0, 0, 0, 278000)
    assert trades["ts"][-1] == utc(2021, 1, 8, 0, 0, 46, 355000)
    assert trades.select("trade_id", "side").head(2).rows() == [
        ("553287559", "sell"),
        ("553287560", "buy"),
    ]
    expected = raw["buyer_maker"].replace_strict({"True": "sell", "False": "buy"})
    assert trades["side"].to_list() == expected.to_list()
    assert (trades["price"][0], trades["size"][0]) == (39432.48, 0.000263)


def test_binance_quotes_take_the_symbol_column_and_number_repeated_times(real_data: Path) -> None:
    path = real_data / "nautilus_trader" / "binance-btcusdt-quotes.parquet"
    quotes = only(read_file(path), "quotes")
    assert quotes.height == 451
    assert quotes["symbol"].unique().to_list() == ["BTC/USDT"]
    first = quotes.row(0, named=True)
    assert first["ts"] == utc(2021, 1, 8, 0, 0, 1, 76000)
    assert (first["bid"], first["ask"], first["bid_size"], first["ask_size"]) == (
        39432.99,
        39433.62,
        0.0031,
        0.066851,
    )
    assert quotes["ts"][-1] == utc(2021, 1, 8, 0, 0, 46, 674000)
    repeats = quotes.height - quotes["ts"].n_unique()
    assert (quotes["seq"] > 0).sum() == repeats


def test_truefx_keeps_its_seven_repeated_timestamps_via_seq(real_data: Path) -> None:
    path = real_data / "nautilus_trader" / "truefx-usdjpy-ticks.csv"
    quotes = only(read_file(path, symbol="USD/JPY"), "quotes")
    assert quotes.height == 1000
    assert quotes["ts"].n_unique() == 993
    assert (quotes["seq"] > 0).sum() == 7
    assert quotes.select("ts", "seq").is_unique().all()
    assert quotes["bid_size"].is_null().all()
    assert quotes["ask_size"].is_null().all()
    assert (quotes["ts"][0], quotes["bid"][0], quotes["ask"][0]) == (
        utc(2013, 1, 1, 22, 0, 0, 295000),
        86.655,
        86.728,
    )
    assert quotes["ts"][-1] == utc(2013, 1, 1, 22, 35, 13, 494000)
    repeated = quotes.filter(pl.col("seq") == 1)["ts"][0]
    assert quotes.filter(pl.col("ts") == repeated)["seq"].to_list() == [0, 1]


def test_cme_bars_are_utc_by_their_column_name(real_data: Path) -> None:
    path = real_data / "nautilus_trader" / "6EH4.XCME_1min_bars_20240101_20240131.csv"
    bars = only(read_file(path, symbol="6EH4"))
    assert bars.height == 29996
    assert bars["timeframe"][0] == "1m"
    assert (bars["ts"][0], bars["open"][0], bars["close"][0]) == (
        utc(2024, 1, 1, 23, 1),
        1.1076,
        1.1078,
    )
    assert (bars["ts"][-1], bars["close"][-1]) == (utc(2024, 1, 31, 23, 59), 1.0823)
    with pytest.raises(FormatError, match="timestamp_utc"):
        read_file(path, tz="America/Chicago")


def test_freqtrade_pair_comes_from_the_file_name(real_data: Path) -> None:
    bars = only(read_file(real_data / "freqtrade" / "ETH_BTC-5m.feather"))
    assert bars.height == 5760
    assert bars["symbol"].unique().to_list() == ["ETH/BTC"]
    assert bars["timeframe"].unique().to_list() == ["5m"]
    assert (bars["ts"][0], bars["open"][0]) == (utc(2018, 1, 10, 4, 55), 0.0984)
    assert bars["ts"][-1] == utc(2018, 1, 30, 4, 50)


def test_every_format_has_a_description() -> None:
    assert len(FORMATS) == 10
    assert all(f.description for f in FORMATS.values())


def test_ingest_file_writes_bars_and_actions_together_and_is_idempotent(
    real_data: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store")
    path = real_data / "zipline_reloaded" / "KO.csv"
    reports = ingest_file(store, path)
    assert [(r.dataset, r.rows_in, r.rows_added) for r in reports] == [
        ("bars", 754, 754),
        ("corporate_actions", 13, 13),
    ]
    again = ingest_file(store, path)
    assert [r.rows_added for r in again] == [0, 0]
    split = store.scan("corporate_actions", symbols=["KO"]).filter(pl.col("split") != 1).collect()
    assert split.select("ts", "split").rows() == [(utc(2012, 8, 13), 2.0)]
    bars = store.scan("bars", symbols=["KO"], timeframe="1d").collect()
    assert bars.height == 754


def test_ingest_file_of_ticks_and_trades(real_data: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    folder = real_data / "nautilus_trader"
    ingest_file(store, folder / "truefx-usdjpy-ticks.csv", symbol="USD/JPY")
    ingest_file(store, folder / "binance-btcusdt-trades.parquet", symbol="BTC/USDT")
    assert store.scan("quotes", symbols=["USD/JPY"]).collect().height == 1000
    trades = store.scan("trades", symbols=["BTC/USDT"]).collect()
    assert trades.height == 2001
    assert trades["side"].value_counts().height == 2
