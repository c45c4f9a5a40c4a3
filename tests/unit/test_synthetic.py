from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from houseedge.data.synthetic import (
    DEFAULT_REGIMES,
    Regime,
    synthetic_bars,
    synthetic_trades,
)
from houseedge.data.validation import validate

NY = "America/New_York"


@pytest.fixture(scope="module")
def long_run() -> pl.DataFrame:
    """Three symbols over 200k one-minute bars, with log returns and the regime of each bar."""
    bars = synthetic_bars(3, periods=200_000, seed=11, with_regime=True)
    return bars.with_columns(
        ret=pl.col("close").log().diff().over("symbol"),
        move=(pl.col("close") / pl.col("open")).log(),
        gap=(pl.col("open") / pl.col("close").shift().over("symbol")).log(),
    )


def _kurtosis(values: np.ndarray) -> float:
    centred = values - values.mean()
    return float((centred**4).mean() / centred.var() ** 2)


# --- determinism and stream independence -------------------------------------------------


def test_same_arguments_give_the_same_frame_bit_for_bit() -> None:
    args = {"periods": 500, "seed": 3, "timeframe": "5m", "session": "equity", "with_regime": True}
    first, second = synthetic_bars(["A", "B"], **args), synthetic_bars(["A", "B"], **args)
    assert first.equals(second)
    for column in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(first[column].to_numpy(), second[column].to_numpy())


def test_different_seeds_give_different_paths() -> None:
    first = synthetic_bars(1, periods=100, seed=1)
    second = synthetic_bars(1, periods=100, seed=2)
    assert not np.allclose(first["close"].to_numpy(), second["close"].to_numpy())


def test_a_symbol_path_does_not_depend_on_the_other_symbols_requested() -> None:
    alone = synthetic_bars(["BTC"], periods=300, seed=5)
    together = synthetic_bars(["ETH", "BTC", "SOL"], periods=300, seed=5)
    assert together.filter(pl.col("symbol") == "BTC").equals(alone)


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    short = synthetic_bars(2, periods=700, seed=9, with_regime=True)
    long = synthetic_bars(2, periods=5_000, seed=9, with_regime=True)
    head = long.group_by("symbol", maintain_order=True).head(700)
    assert head.equals(short)


def test_start_moves_the_bars_but_not_the_prices() -> None:
    early = synthetic_bars(1, periods=50, start="2020-01-01")
    late = synthetic_bars(1, periods=50, start="2021-06-01 12:00")
    assert early["close"].equals(late["close"])
    assert late["ts"][0] == datetime(2021, 6, 1, 12, tzinfo=UTC)


def test_symbol_count_and_single_string_name_symbols() -> None:
    assert synthetic_bars(3, periods=2)["symbol"].unique(maintain_order=True).to_list() == [
        "SYM00",
        "SYM01",
        "SYM02",
    ]
    assert synthetic_bars("BTCUSDT", periods=2)["symbol"].to_list() == ["BTCUSDT", "BTCUSDT"]


def test_rows_are_sorted_by_symbol_then_time_whatever_the_request_order() -> None:
    bars = synthetic_bars(["ZZ", "AA", "MM"], periods=20)
    assert bars.equals(bars.sort("symbol", "ts"))
    assert bars["symbol"].unique(maintain_order=True).to_list() == ["AA", "MM", "ZZ"]


# --- schema and calendar ------------------------------------------------------------------


@pytest.mark.parametrize("session", ["24/7", "equity"])
@pytest.mark.parametrize("timeframe", ["1m", "5m", "15m", "1h", "1d"])
def test_bars_pass_dataset_validation(timeframe: str, session: str) -> None:
    bars = synthetic_bars(2, periods=2_000, timeframe=timeframe, session=session, seed=4)
    checked = validate("bars", bars, check_order=True)
    assert checked.height == 4_000
    assert bars["timeframe"].unique().to_list() == [timeframe]
    assert (bars["trades"] >= 1).all()
    assert bars.select(pl.col("vwap").is_between(pl.col("low"), pl.col("high")).all()).item()


def test_no_periods_gives_an_empty_valid_frame() -> None:
    bars = synthetic_bars(2, periods=0, with_regime=True)
    assert bars.height == 0
    assert validate("bars", bars, check_order=True).height == 0


@pytest.mark.parametrize(
    ("timeframe", "minutes"), [("1m", 1), ("15m", 15), ("1h", 60), ("1d", 1440)]
)
def test_24_7_bars_start_at_start_and_step_by_the_timeframe(timeframe: str, minutes: int) -> None:
    bars = synthetic_bars(1, periods=3_000, timeframe=timeframe, start="2021-03-14 05:07")
    steps = bars["ts"].diff().drop_nulls().unique().to_list()
    assert steps == [timedelta(minutes=minutes)]
    assert bars["ts"][0] == datetime(2021, 3, 14, 5, 7, tzinfo=UTC)


@pytest.mark.parametrize(("timeframe", "minutes"), [("1m", 1), ("5m", 5), ("1h", 60)])
def test_equity_bars_fill_weekday_sessions_in_new_york(timeframe: str, minutes: int) -> None:
    bars = synthetic_bars(
        1, periods=5_000, timeframe=timeframe, session="equity", start="2024-01-01"
    )
    local = bars.select(ts=pl.col("ts").dt.convert_time_zone(NY))
    clock = local.select(
        day=pl.col("ts").dt.date(),
        weekday=pl.col("ts").dt.weekday(),
        minute=pl.col("ts").dt.hour().cast(pl.Int32) * 60 + pl.col("ts").dt.minute(),
    )
    assert clock["weekday"].max() <= 5
    assert clock["minute"].min() == 570
    assert clock["minute"].max() < 960
    per_day = clock.group_by("day").agg(pl.len(), pl.col("minute").min().alias("first"))
    full_days = per_day.filter(pl.col("day") < clock["day"].max())
    assert full_days["len"].unique().to_list() == [math.ceil(390 / minutes)]
    assert full_days["first"].unique().to_list() == [570]
    offsets = clock["minute"] - 570
    assert (offsets % minutes == 0).all()


def test_equity_session_open_follows_daylight_saving_time() -> None:
    bars = synthetic_bars(1, periods=400, timeframe="1h", session="equity", start="2024-03-01")
    opens = bars.filter(pl.col("ts").dt.convert_time_zone(NY).dt.hour() == 9)
    utc_hours = dict(
        zip(opens["ts"].dt.date().to_list(), opens["ts"].dt.hour().to_list(), strict=True)
    )
    assert utc_hours[date(2024, 3, 8)] == 14  # EST, UTC-5
    assert utc_hours[date(2024, 3, 11)] == 13  # EDT, UTC-4


def test_equity_session_starts_at_the_first_bar_at_or_after_start() -> None:
    bars = synthetic_bars(
        1, periods=10, timeframe="15m", session="equity", start="2024-03-06T15:10:00+00:00"
    )  # 10:10 in New York
    assert bars["ts"][0] == datetime(2024, 3, 6, 15, 15, tzinfo=UTC)


def test_equity_daily_bars_are_weekdays_stamped_at_midnight_utc() -> None:
    bars = synthetic_bars(1, periods=30, timeframe="1d", session="equity", start="2024-01-06")
    ts = bars["ts"]
    assert (ts.dt.weekday() <= 5).all()
    assert (ts.dt.hour() == 0).all()
    assert ts[0] == datetime(2024, 1, 8, tzinfo=UTC)  # the Saturday start rolls to Monday
    assert ts.diff().drop_nulls().max() == timedelta(days=3)


def test_an_aware_start_is_converted_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    aware = synthetic_bars(1, periods=5, start=datetime(2020, 1, 1, 7, tzinfo=eastern))
    assert aware["ts"][0] == datetime(2020, 1, 1, 12, tzinfo=UTC)


# --- the price model ----------------------------------------------------------------------


def test_every_regime_appears_and_lasts(long_run: pl.DataFrame) -> None:
    regime = long_run.filter(pl.col("symbol") == "SYM00")["regime"]
    assert set(regime.unique()) == {r.name for r in DEFAULT_REGIMES}
    runs = regime.rle()
    assert runs.struct.field("len").mean() > 50
    assert runs.len() > 50


def test_high_volatility_regime_is_more_volatile_than_the_range(long_run: pl.DataFrame) -> None:
    spread = long_run.group_by("symbol", "regime").agg(
        sd=pl.col("ret").std(), range=(pl.col("high") / pl.col("low")).log().mean()
    )
    wide = spread.pivot(on="regime", index="symbol", values=["sd", "range"])
    assert (wide["sd_high_vol"] > 2 * wide["sd_range"]).all()
    assert (wide["range_high_vol"] > 2 * wide["range_range"]).all()


def test_trend_regimes_drift_the_right_way(long_run: pl.DataFrame) -> None:
    drift = long_run.group_by("regime").agg(mean=pl.col("ret").mean(), sd=pl.col("ret").std())
    mean = dict(zip(drift["regime"], drift["mean"], strict=True))
    sd = dict(zip(drift["regime"], drift["sd"], strict=True))
    assert mean["trend_up"] > 0.01 * sd["trend_up"]
    assert mean["trend_down"] < -0.01 * sd["trend_down"]


def _variance_ratio(bars: pl.DataFrame, horizon: int) -> float:
    log_close = bars["close"].log().to_numpy()
    short = np.diff(log_close).var()
    long = (log_close[horizon:] - log_close[:-horizon]).var()
    return float(long / (horizon * short))


def test_a_reverting_regime_swings_around_its_anchor_instead_of_walking() -> None:
    def run(*, reverting: bool) -> pl.DataFrame:
        regime = Regime("only", reverting=reverting, jump_rate=0.0)
        return synthetic_bars(1, periods=50_000, seed=2, regimes=[regime])

    assert _variance_ratio(run(reverting=True), 200) < 0.5
    assert _variance_ratio(run(reverting=False), 200) > 0.7


def test_returns_have_fat_tails(long_run: pl.DataFrame) -> None:
    returns = long_run["ret"].drop_nulls().to_numpy()
    assert _kurtosis(returns) > 6
    assert (np.abs(returns) > 8 * returns.std()).sum() > 10


def test_jumps_fatten_the_tails_beyond_volatility_clustering() -> None:
    def kurtosis(rate: float) -> float:
        bars = synthetic_bars(1, periods=100_000, seed=2, regimes=[Regime("one", jump_rate=rate)])
        return _kurtosis(np.diff(np.log(bars["close"].to_numpy())))

    calm, jumpy = kurtosis(0.0), kurtosis(0.002)
    assert calm > 3  # volatility clustering alone gives fat tails
    assert jumpy > 2 * calm


def test_volatility_clusters(long_run: pl.DataFrame) -> None:
    size = long_run.filter(pl.col("symbol") == "SYM01").select(pl.col("ret").abs()).to_series()
    lagged = [pl.select(pl.corr(size, size.shift(lag))).item() for lag in (1, 5, 20)]
    assert min(lagged) > 0.1


def test_symbols_are_positively_correlated(long_run: pl.DataFrame) -> None:
    wide = long_run.pivot(on="symbol", index="ts", values="ret").drop("ts").drop_nulls()
    corr = np.corrcoef(wide.to_numpy().T)
    assert corr[np.triu_indices(3, 1)].min() > 0.1


def test_opens_sit_close_to_the_previous_close(long_run: pl.DataFrame) -> None:
    typical = long_run.select(
        gap=pl.col("gap").abs().median(), move=pl.col("move").abs().median()
    ).row(0, named=True)
    assert typical["gap"] < 0.2 * typical["move"]


def test_equity_overnight_gaps_exceed_intraday_gaps() -> None:
    bars = synthetic_bars(1, periods=50_000, timeframe="5m", session="equity", seed=2)
    gaps = (
        bars.with_columns(
            gap=(pl.col("open") / pl.col("close").shift()).log().abs(),
            first=pl.col("ts").dt.convert_time_zone(NY).dt.time() == pl.time(9, 30),
        )
        .group_by("first")
        .agg(pl.col("gap").median())
    )
    median = dict(zip(gaps["first"], gaps["gap"], strict=True))
    assert median[True] > 10 * median[False]


def test_volume_rises_with_the_absolute_return(long_run: pl.DataFrame) -> None:
    corr = long_run.select(pl.corr(pl.col("volume").log(), pl.col("move").abs())).item()
    assert corr > 0.2


def test_equity_volume_is_u_shaped_over_the_session() -> None:
    bars = synthetic_bars(1, periods=39_000, timeframe="5m", session="equity", seed=8)
    local = bars.with_columns(hour=pl.col("ts").dt.convert_time_zone(NY).dt.hour())
    by_hour = local.group_by("hour").agg(pl.col("volume").mean())
    volume = dict(zip(by_hour["hour"], by_hour["volume"], strict=True))
    assert volume[9] > 1.5 * volume[12]
    assert volume[15] > 1.5 * volume[12]


def test_one_regime_turns_switching_off() -> None:
    calm = synthetic_bars(1, periods=2_000, regimes=[Regime("calm")], with_regime=True)
    assert calm["regime"].unique().to_list() == ["calm"]
    validate("bars", calm, check_order=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeframe": "1x"},
        {"timeframe": "0m"},
        {"timeframe": "2d", "session": "equity"},
        {"timeframe": "7h", "session": "equity"},
        {"session": "forex"},
        {"seed": -1},
        {"periods": -1},
        {"symbols": ["A", "A"]},
        {"symbols": 0},
        {"regimes": []},
        {"regimes": [Regime("a"), Regime("a")]},
        {"regimes": [Regime("a", vol=0.0)]},
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        synthetic_bars(**{"periods": 10, **kwargs})  # type: ignore[arg-type]


# --- trades -------------------------------------------------------------------------------


def test_trades_pass_validation_and_are_deterministic() -> None:
    trades = synthetic_trades("BTC", periods=20_000, seed=3)
    assert validate("trades", trades, check_order=True).height == 20_000
    assert trades.equals(synthetic_trades("BTC", periods=20_000, seed=3))
    assert not trades.equals(synthetic_trades("BTC", periods=20_000, seed=4))
    assert trades["trade_id"].n_unique() == 20_000


def test_trades_start_at_start_and_arrive_at_the_mean_interval() -> None:
    trades = synthetic_trades("ETH", periods=40_000, start="2022-05-01", mean_interval=0.25)
    assert trades["ts"][0] == datetime(2022, 5, 1, tzinfo=UTC)
    waits = trades["ts"].diff().drop_nulls().dt.total_microseconds() / 1e6
    assert waits.min() >= 0
    assert 0.18 < waits.mean() < 0.33


def test_trade_prices_sit_on_a_one_tick_spread_and_both_sides_trade() -> None:
    trades = synthetic_trades("SOL", periods=5_000, seed=1)
    sides = trades["side"].value_counts()
    assert set(sides["side"]) == {"buy", "sell"}
    assert sides["count"].min() > 1_000
    moves = trades["price"].diff().abs().drop_nulls()
    tick = moves.filter(moves > 0).min()
    assert tick is not None
    assert np.allclose(np.round(trades["price"].to_numpy() / tick), trades["price"] / tick)
    assert (trades["size"] > 0).all()


def test_trades_start_near_the_symbols_bar_price() -> None:
    first_trade = synthetic_trades("XYZ", periods=1, seed=6)["price"][0]
    first_open = synthetic_bars(["XYZ"], periods=1, seed=6)["open"][0]
    assert first_trade == pytest.approx(first_open, rel=0.01)


def test_equity_daily_bars_start_on_the_utc_date_even_late_in_new_york() -> None:
    # 00:00:01 UTC on a Tuesday is Monday evening in New York.
    bars = synthetic_bars(
        1, periods=1, timeframe="1d", session="equity", start="2000-02-01T00:00:01"
    )
    assert bars["ts"].to_list() == [datetime(2000, 2, 2, tzinfo=UTC)]
