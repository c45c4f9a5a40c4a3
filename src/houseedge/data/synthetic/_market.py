"""Deterministic synthetic markets: bars that behave like a real market.

The bar model, per symbol and bar ``t`` (log prices, ``sigma_t`` the bar's volatility):

- a market-wide **regime chain** (trend up, trend down, range-bound, high volatility by default)
  with random durations; each regime sets a drift, a volatility multiplier and a jump rate, and a
  range-bound regime pulls the price back to where the regime began (an AR(1) swing);
- **volatility clustering** from a persistent log-volatility (market plus idiosyncratic parts);
- **jumps** (Laplace sized, market-wide and idiosyncratic);
- **cross-symbol correlation** through a common market shock with a per-symbol beta;
- **OHLC** from an exact Brownian-bridge draw of the bar's maximum and minimum, so the range
  scales with volatility and ``low <= open, close <= high`` always holds; the open gaps slightly
  from the previous close, and by an overnight gap at each equity session open;
- **volume** rising with the absolute return and following an intraday U shape.

Every component draws from its own random stream, derived from ``seed`` plus a name (the symbol,
the bar grid, the component). Hence the same arguments give the same frame bit for bit (on one
machine and NumPy build: vectorised ``exp`` may differ in the last bit across CPUs), a symbol's
path does not depend on which other symbols are requested, and ``periods=n`` is a prefix of
``periods=m`` for ``m > n``. The start time only places the bars: the same seed shifted to
another start gives the same prices. Each timeframe and session is an independent market: 5m
bars are not an aggregate of 1m bars.

Examples
--------
>>> bars = synthetic_bars(["BTC", "ETH"], periods=4, seed=1)
>>> bars.columns
['symbol', 'timeframe', 'ts', 'open', 'high', 'low', 'close', 'volume', 'vwap', 'trades']
>>> bars.equals(synthetic_bars(["ETH", "BTC"], periods=4, seed=1))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from numpy.typing import NDArray

from houseedge.data.schemas import TS
from houseedge.data.synthetic._calendar import (
    YEAR_MINUTES,
    Calendar,
    Session,
    bar_calendar,
    bar_minutes,
    start_ns,
)
from houseedge.data.synthetic._paths import (
    TRADES_PER_MINUTE,
    Profile,
    Streams,
    ar1,
    jumps,
    log_vol,
    regime_path,
    symbol_profile,
)

__all__ = ["DEFAULT_REGIMES", "Regime", "synthetic_bars"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


_MARKET_VOL_SD = 0.35
_IDIO_VOL_SD = 0.2
_SWING_PHI = 0.97  # range-bound swings halve in about 23 bars


@dataclass(frozen=True)
class Regime:
    """One state of the market regime chain.

    Parameters
    ----------
    name
        Label in the ``regime`` column.
    drift
        Mean log return per bar, in units of the symbol's base per-bar volatility.
    vol
        Volatility multiplier.
    mean_bars
        Mean duration in bars, whatever the timeframe (durations are exponential, rounded up).
    jump_rate
        Probability of a jump per bar.
    reverting
        Whether the price swings around the level where the regime began instead of walking.
    """

    name: str
    drift: float = 0.0
    vol: float = 1.0
    mean_bars: float = 400.0
    jump_rate: float = 0.0005
    reverting: bool = False


DEFAULT_REGIMES: tuple[Regime, ...] = (
    Regime("trend_up", drift=0.04),
    Regime("trend_down", drift=-0.04, vol=1.1),
    Regime("range", vol=0.7, mean_bars=600.0, jump_rate=0.0003, reverting=True),
    Regime("high_vol", vol=2.5, mean_bars=150.0, jump_rate=0.003),
)
"""Trend up, trend down, range-bound and high-volatility regimes; the chain moves to one of the
other regimes, chosen uniformly, when a regime ends."""


@dataclass(frozen=True)
class _Market:
    """What every symbol shares, bar by bar."""

    regime: NDArray[np.intp]
    ts: pl.Series
    shock: F64  # market shock (normal plus jumps), in bar volatilities
    vol: F64  # market volatility multiplier: regime times clustering
    drift: F64  # regime drift, in base bar volatilities
    walking: F64  # 1.0 where the price walks, 0.0 where it swings around an anchor
    jump_rate: F64


def synthetic_bars(
    symbols: Sequence[str] | int = 3,
    *,
    start: str | datetime = "2020-01-01",
    periods: int = 1_000,
    timeframe: str = "1m",
    seed: int = 0,
    regimes: Sequence[Regime] = DEFAULT_REGIMES,
    session: Session = "24/7",
    with_regime: bool = False,
) -> pl.DataFrame:
    """Generate a deterministic synthetic market as rows of the ``bars`` dataset.

    Parameters
    ----------
    symbols
        Symbol names, or a count ``n`` for ``SYM00``, ``SYM01``, ... A single string is one symbol.
    start
        The earliest bar time (ISO string or datetime; naive means UTC). A 24/7 grid starts
        exactly there; an equity grid starts at the first session bar at or after it.
    periods
        Bars per symbol.
    timeframe
        Bar length ``"<n>m"``, ``"<n>h"`` or ``"<n>d"``: ``"1m"``, ``"5m"``, ``"1h"``, ``"1d"``...
    seed
        Non-negative seed; see the module docstring for what it fixes.
    regimes
        States of the market regime chain; one regime turns switching off.
    session
        ``"24/7"`` (every bar, crypto style) or ``"equity"``: weekdays 09:30-16:00
        America/New_York, no holidays. Bars are stamped with their open time, daily bars with
        midnight UTC of their date; an equity session's last bar may be short (15:30 for ``1h``).
    with_regime
        Add a ``regime`` column naming each bar's regime.

    Returns
    -------
    pl.DataFrame
        ``symbol, timeframe, ts, open, high, low, close, volume, vwap, trades`` (and ``regime``),
        sorted by symbol then time.

    Examples
    --------
    >>> bars = synthetic_bars(2, periods=3, timeframe="1h", with_regime=True)
    >>> bars.select("symbol", "ts").rows()[:2]  # doctest: +NORMALIZE_WHITESPACE
    [('SYM00', datetime.datetime(2020, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))),
     ('SYM00', datetime.datetime(2020, 1, 1, 1, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')))]
    >>> bars.height, bars["regime"].is_in([r.name for r in DEFAULT_REGIMES]).all()
    (6, True)
    """
    names = _symbol_names(symbols)
    if periods < 0:
        msg = f"periods must be >= 0, not {periods}"
        raise ValueError(msg)
    table = _table(regimes)
    calendar = bar_calendar(start_ns(start), periods, bar_minutes(timeframe, session), session)
    market = _market(seed, calendar, table)
    frames = [_symbol_bars(name, seed, calendar, market) for name in names]
    bars = pl.concat(frames).with_columns(timeframe=pl.lit(timeframe, pl.String()))
    columns = ["symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "vwap"]
    bars = bars.select(*columns, "trades")
    if with_regime:
        names_of = pl.Series("regime", [r.name for r in regimes], dtype=pl.String())
        regime = names_of.gather(market.regime)
        bars = bars.with_columns(pl.concat([regime] * len(names)))
    return bars


def _symbol_names(symbols: Sequence[str] | int) -> list[str]:
    if isinstance(symbols, int):
        width = max(2, len(str(symbols - 1)))
        names = [f"SYM{i:0{width}d}" for i in range(symbols)]
    else:
        names = [symbols] if isinstance(symbols, str) else list(symbols)
    if not names or len(set(names)) != len(names):
        msg = f"need at least one symbol and no repeats, not {symbols!r}"
        raise ValueError(msg)
    return sorted(names)


def _table(regimes: Sequence[Regime]) -> F64:
    """Return the regimes' drift, vol, mean_bars, jump_rate and walking (not reverting), by row."""
    names = [r.name for r in regimes]
    if not names or len(set(names)) != len(names):
        msg = f"need at least one regime and unique regime names, not {names!r}"
        raise ValueError(msg)
    if any(r.mean_bars <= 0 or r.vol <= 0 or not 0 <= r.jump_rate <= 1 for r in regimes):
        msg = "regimes need mean_bars > 0, vol > 0 and 0 <= jump_rate <= 1"
        raise ValueError(msg)
    fields = [(r.drift, r.vol, r.mean_bars, r.jump_rate, not r.reverting) for r in regimes]
    return np.array(fields, dtype=np.float64).T


def _market(seed: int, calendar: Calendar, table: F64) -> _Market:
    n = calendar.ts.size
    streams = Streams(seed, ("market", calendar.key))
    regime = regime_path(table[2], n, streams("regime"))
    drift, vol, _, jump_rate, walking = np.take(table, regime, axis=1)
    shock = streams("z").standard_normal(n) + jumps(streams("jump").random(n), jump_rate)
    return _Market(
        regime=regime,
        ts=pl.Series("ts", calendar.ts, dtype=pl.Int64).cast(TS),
        shock=shock,
        vol=np.exp(log_vol(streams("vol"), n, _MARKET_VOL_SD)) * vol,
        drift=drift,
        walking=walking,
        jump_rate=jump_rate,
    )


def _symbol_bars(symbol: str, seed: int, calendar: Calendar, market: _Market) -> pl.DataFrame:
    profile = symbol_profile(symbol, seed, calendar.session)
    streams = Streams(seed, ("bars", symbol, calendar.key))
    base = profile.vol * math.sqrt(calendar.bar_minutes / YEAR_MINUTES[calendar.session])
    sigma, log_open, log_close = _log_prices(profile, base, market, calendar, streams)
    bars = _ohlc(log_open, log_close, sigma, streams)
    # Volume follows the absolute move in base volatilities, so it swells in volatile regimes.
    volume = np.abs(log_close - log_open)
    volume *= 0.6 / base
    volume += 0.5
    volume *= calendar.intraday
    volume *= streams("volume").lognormal(-(0.35**2) / 2, 0.35, sigma.size)
    volume *= profile.volume * calendar.bar_minutes
    trades = np.ceil(volume * (TRADES_PER_MINUTE / profile.volume)).astype(np.int64)
    return bars.with_columns(
        symbol=pl.lit(symbol, pl.String()), ts=market.ts, volume=volume, trades=trades
    )


def _log_prices(
    profile: Profile, base: float, market: _Market, calendar: Calendar, streams: Streams
) -> tuple[F64, F64, F64]:
    """Return each bar's volatility and log open and close."""
    n = market.ts.len()
    sigma = np.exp(log_vol(streams("vol"), n, _IDIO_VOL_SD))
    sigma *= market.vol
    sigma *= base
    shock = streams("z").standard_normal(n)
    shock += jumps(streams("jump").random(n), market.jump_rate)
    shock *= math.sqrt(1.0 - profile.beta**2)
    shock += profile.beta * market.shock
    shock *= sigma
    gap = streams("gap").standard_normal(n)
    gap *= calendar.gap_scale
    gap *= sigma
    steps = shock * market.walking
    shock -= steps  # what is left swings around the anchor
    steps += base * market.drift
    steps += gap
    log_close = np.cumsum(steps, out=steps)
    log_close += ar1(shock, _SWING_PHI)
    log_close += math.log(profile.price)
    log_open = np.empty(n)
    log_open[:1] = math.log(profile.price)
    log_open[1:] = log_close[:-1]
    log_open += gap
    return sigma, log_open, log_close


def _ohlc(log_open: F64, log_close: F64, sigma: F64, streams: Streams) -> pl.DataFrame:
    """Return OHLC and VWAP, drawing high and low from a Brownian bridge open -> close."""
    move = log_close - log_open
    square, spread = move * move, 2.0 * sigma * sigma
    open_, close = np.exp(log_open), np.exp(log_close)
    # The bridge's maximum is (move + sqrt(move**2 + 2 sigma**2 E)) / 2 above the open, E a
    # standard exponential; its minimum mirrors it. Work in place: these arrays are large.
    high = streams("high").standard_exponential(move.size)
    low = streams("low").standard_exponential(move.size)
    for extreme, sign in ((high, 1.0), (low, -1.0)):
        extreme *= spread
        extreme += square
        np.sqrt(extreme, out=extreme)
        extreme += sign * move
        extreme *= 0.5 * sign
        np.exp(extreme, out=extreme)
        extreme *= open_
    # Clamp: exp of two nearly equal logs may round across each other.
    np.maximum(np.maximum(high, open_, out=high), close, out=high)
    np.minimum(np.minimum(low, open_, out=low), close, out=low)
    vwap = (open_ + high + low + close) * 0.25
    np.maximum(np.minimum(vwap, high, out=vwap), low, out=vwap)
    return pl.DataFrame({"open": open_, "high": high, "low": low, "close": close, "vwap": vwap})
