"""Time-of-day and session features, and the causal join of a higher timeframe onto bars.

Bars are labelled by their **open** time ``ts`` (``Datetime("ns", "UTC")``). A bar of timeframe
``tf`` closes at ``ts`` offset by ``tf``, a Polars duration string (``"1m"``, ``"5m"``, ``"1h"``,
``"1d"``, ``"1w"``, ``"1mo"``; calendar units follow the calendar in UTC). A daily bar labelled
at midnight UTC therefore "closes" at the next midnight: later than an exchange's real close,
which is the safe side for look-ahead.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TypeVar

import polars as pl

IntoExpr = str | pl.Expr
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

_TIMEFRAME = re.compile(r"^(\d+(ns|us|ms|s|m|h|d|w|mo|q|y))+$")
_CLOSE = "__houseedge_close"


def _expr(x: IntoExpr) -> pl.Expr:
    return pl.col(x) if isinstance(x, str) else x


def _check_timeframe(timeframe: str) -> str:
    if not _TIMEFRAME.match(timeframe):
        msg = f"timeframe must be a Polars duration like '5m', '1h' or '1d', got {timeframe!r}"
        raise ValueError(msg)
    return timeframe


def _minutes(clock: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", clock)
    if not match or int(match[1]) > 24 or int(match[2]) > 59:
        msg = f"time of day must be 'HH:MM', got {clock!r}"
        raise ValueError(msg)
    return int(match[1]) * 60 + int(match[2])


def minute_of_day(ts: IntoExpr = "ts", *, tz: str = "UTC") -> pl.Expr:
    """Return the minute of the day (0 to 1439) of the bar's open time in time zone ``tz``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> df = pl.DataFrame({"ts": [datetime(2024, 7, 1, 13, 30, tzinfo=UTC)]})
    >>> df.select(minute_of_day(tz="America/New_York")).item()
    570
    """
    local = _expr(ts).dt.convert_time_zone(tz)
    return local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)


def day_of_week(ts: IntoExpr = "ts", *, tz: str = "UTC") -> pl.Expr:
    """Return the ISO day of the week (Monday 1 to Sunday 7) of the bar's open time in ``tz``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> df = pl.DataFrame({"ts": [datetime(2024, 7, 1, 2, 0, tzinfo=UTC)]})
    >>> df.select(day_of_week(), day_of_week(tz="America/New_York").alias("ny")).row(0)
    (1, 7)
    """
    return _expr(ts).dt.convert_time_zone(tz).dt.weekday()


def session_open(
    ts: IntoExpr = "ts",
    *,
    tz: str = "America/New_York",
    start: str = "09:30",
    end: str = "16:00",
    weekdays: Collection[int] = (1, 2, 3, 4, 5),
) -> pl.Expr:
    """Flag bars whose open time falls in the session ``[start, end)`` local to ``tz``.

    A session with ``end <= start`` runs overnight (``start`` to midnight, then midnight to
    ``end``); ``weekdays`` (ISO numbers) is checked against the bar's local date.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> df = pl.DataFrame({"ts": [datetime(2024, 7, 1, 13, 0, tzinfo=UTC),
    ...                           datetime(2024, 7, 1, 13, 30, tzinfo=UTC),
    ...                           datetime(2024, 7, 6, 14, 0, tzinfo=UTC)]})
    >>> df.select(session_open()).to_series().to_list()
    [False, True, False]
    """
    first, last = _minutes(start), _minutes(end)
    minute = minute_of_day(ts, tz=tz)
    inside = (
        (minute >= first) & (minute < last) if first < last else (minute >= first) | (minute < last)
    )
    return inside & day_of_week(ts, tz=tz).is_in(list(weekdays))


def bar_close_time(ts: IntoExpr = "ts", timeframe: IntoExpr = "timeframe") -> pl.Expr:
    """Return when a bar closes: its open time offset by its timeframe.

    ``timeframe`` is a duration string or, by default, the frame's ``timeframe`` column. A
    string that is not a column name must be passed as ``pl.lit("1h")``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> df = pl.DataFrame({"ts": [datetime(2024, 1, 31, tzinfo=UTC)], "timeframe": ["1mo"]})
    >>> df.select(bar_close_time()).item()
    datetime.datetime(2024, 2, 29, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    """
    return _expr(ts).dt.offset_by(_expr(timeframe))


def join_higher_timeframe(
    lower: Frame,
    higher: pl.DataFrame | pl.LazyFrame,
    *,
    higher_timeframe: str,
    lower_timeframe: str | None = None,
    on: str = "ts",
    by: str | None = "symbol",
    suffix: str | None = None,
) -> Frame:
    """Attach to each lower-timeframe bar the latest higher-timeframe bar closed by its close.

    The join is as-of on **close times** (open ``on`` plus the timeframe): a lower bar closing
    at ``c`` sees the higher bar with the latest close ``<= c``, never the one still forming.
    An hourly bar opened at 10:00 (closing 11:00) thus sees the daily bar of the day before, and
    the 23:00 hourly bar (closing at midnight) sees the day that just closed.

    Parameters
    ----------
    lower, higher
        Bar frames sorted or not; ``higher`` may be eager or lazy, the result has ``lower``'s kind.
    higher_timeframe
        The higher bars' duration (``"1d"``).
    lower_timeframe
        The lower bars' duration; by default each row's ``timeframe`` column.
    on
        The open-time column of both frames.
    by
        Column matched exactly before the as-of match (``None`` for single-symbol frames).
    suffix
        Appended to every column taken from ``higher`` (``on`` included, as the higher bar's
        open time); defaults to ``"_" + higher_timeframe``.

    Returns
    -------
    Frame
        ``lower``'s rows sorted by ``by`` and ``on``, with the higher columns (null before the
        first higher bar closes).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> hours = pl.DataFrame({"ts": [datetime(2024, 1, 2, h, tzinfo=UTC) for h in (9, 23)],
    ...                       "close": [1.0, 2.0]})
    >>> days = pl.DataFrame({"ts": [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2)],
    ...                      "close": [10.0, 20.0]})
    >>> out = join_higher_timeframe(hours, days, higher_timeframe="1d", lower_timeframe="1h",
    ...                             by=None)
    >>> out["close_1d"].to_list()
    [10.0, 20.0]
    """
    _check_timeframe(higher_timeframe)
    tag = f"_{higher_timeframe}" if suffix is None else suffix
    keys = [by] if by is not None else []
    right = higher.lazy()
    renamed = {c: f"{c}{tag}" for c in right.collect_schema().names() if c not in keys}
    lower_tf = pl.lit(_check_timeframe(lower_timeframe)) if lower_timeframe else "timeframe"
    left = lower.lazy().with_columns(bar_close_time(on, lower_tf).alias(_CLOSE))
    right = right.rename(renamed).with_columns(
        bar_close_time(renamed[on], pl.lit(higher_timeframe)).alias(_CLOSE)
    )
    # Sorted within each group here; the per-group sortedness check would only warn.
    joined = left.sort([*keys, _CLOSE]).join_asof(
        right.sort([*keys, _CLOSE]),
        on=_CLOSE,
        by=by,
        strategy="backward",
        check_sortedness=False,
    )
    out = joined.drop(_CLOSE)
    if isinstance(lower, pl.DataFrame):
        return out.collect()
    return out
