"""The bar grid of a synthetic market: timestamps, intraday activity and gaps by session.

A 24/7 market has bars every ``timeframe`` around the clock; an equity session has them from
09:30 to 16:00 New York time on weekdays (or one per weekday for daily bars), with an
overnight gap at each open and a U-shaped intraday volume profile.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from houseedge.data.schemas import TS

Session = Literal["24/7", "equity"]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_NS_MINUTE = 60 * 10**9
_DAY_MINUTES = 1440
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EQUITY_TZ = "America/New_York"
_EQUITY_OPEN = timedelta(hours=9, minutes=30)
_EQUITY_MINUTES = 390  # 09:30-16:00
YEAR_MINUTES: dict[Session, float] = {"24/7": 365.25 * _DAY_MINUTES, "equity": 252.0 * 390}
_UNITS = {"m": 1, "h": 60, "d": _DAY_MINUTES}
_BAR_GAP = 0.05  # open minus previous close, in bar volatilities
_OVERNIGHT_SHARE = 0.25  # share of a session's variance that arrives overnight


@dataclass(frozen=True)
class Calendar:
    ts: I64
    intraday: F64  # volume multiplier from the time of day
    gap_scale: F64  # standard deviation of the open's gap, in bar volatilities
    bar_minutes: float  # trading minutes a bar spans, for scaling annual volatility
    session: Session
    key: str  # names the bar grid in stream keys


def bar_minutes(timeframe: str, session: Session) -> int:
    match = re.fullmatch(r"([1-9]\d*)([mhd])", timeframe)
    if match is None or session not in YEAR_MINUTES:
        msg = f"unknown timeframe {timeframe!r} or session {session!r}; try '5m', '1h', '1d'"
        raise ValueError(msg)
    minutes = int(match[1]) * _UNITS[match[2]]
    if session == "equity" and _EQUITY_MINUTES < minutes != _DAY_MINUTES:
        msg = f"an equity session has no {timeframe!r} bars: use at most 390m, or 1d"
        raise ValueError(msg)
    return minutes


def start_ns(start: str | datetime) -> int:
    moment = datetime.fromisoformat(start) if isinstance(start, str) else start
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def bar_calendar(start: int, n: int, minutes: int, session: Session) -> Calendar:
    if session == "equity":
        return _equity_calendar(start, n, minutes)
    step = minutes * _NS_MINUTE
    ts = start + np.arange(n, dtype=np.int64) * step
    day = _DAY_MINUTES * _NS_MINUTE
    intraday = _u_shape((ts % day + step // 2) / day) if minutes < _DAY_MINUTES else np.ones(n)
    return Calendar(ts, intraday, np.full(n, _BAR_GAP), minutes, session, f"{minutes}m/24/7")


def _equity_calendar(start: int, n: int, minutes: int) -> Calendar:
    daily = minutes == _DAY_MINUTES
    per_day = 1 if daily else -(-_EQUITY_MINUTES // minutes)
    # The New York date of start may be a day before its UTC date, and its bars before start.
    days = _weekdays(start, -(-n // per_day) + 2)
    opens = days.astype("datetime64[ns]").astype(np.int64) if daily else _session_opens(days)
    offsets = np.arange(per_day, dtype=np.int64) * minutes
    ts = (opens[:, None] + offsets * _NS_MINUTE).ravel()
    keep = np.flatnonzero(ts >= start)[:n]
    slot = keep % per_day
    phase = np.minimum((offsets + minutes / 2) / _EQUITY_MINUTES, 1.0)
    intraday = np.ones(per_day) if daily else _u_shape(phase)
    gaps = np.where(offsets == 0, math.sqrt(_OVERNIGHT_SHARE * per_day), _BAR_GAP)
    bar_minutes = min(minutes, _EQUITY_MINUTES)
    return Calendar(
        ts[keep], intraday[slot], gaps[slot], bar_minutes, "equity", f"{minutes}m/equity"
    )


def _u_shape(phase: F64) -> F64:
    """Return an intraday activity multiplier, high at both ends of the day and mean one."""
    return (0.6 + 1.6 * (2.0 * phase - 1.0) ** 2) / (0.6 + 1.6 / 3.0)


def _weekdays(start: int, count: int) -> NDArray[np.datetime64]:
    """Return ``count`` weekdays from the New York date of ``start`` on."""
    moment = pl.Series([start], dtype=pl.Int64).cast(TS).dt.convert_time_zone(_EQUITY_TZ)
    first = np.datetime64(moment.dt.date().item(), "D")
    return np.busday_offset(first, np.arange(count), roll="forward")


def _session_opens(days: NDArray[np.datetime64]) -> I64:
    local = pl.Series(days).cast(pl.Datetime("ns")) + _EQUITY_OPEN
    utc = local.dt.replace_time_zone(_EQUITY_TZ).dt.convert_time_zone("UTC")
    return utc.dt.cast_time_unit("ns").to_physical().to_numpy()
