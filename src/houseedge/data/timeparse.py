"""Conversions of user-given times to UTC nanoseconds."""

from __future__ import annotations

import datetime as dt

import polars as pl

TimeLike = str | dt.datetime | dt.date | int


def to_ns(value: TimeLike) -> int:
    """Return a time as UTC nanoseconds since the epoch.

    Strings are ISO dates or datetimes; naive values are taken as UTC. Integers are already
    nanoseconds.

    Examples
    --------
    >>> to_ns("1970-01-02")
    86400000000000
    >>> to_ns(dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC))
    1000000000
    """
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            msg = f"cannot read {value!r} as a time; expected an ISO date or datetime"
            raise ValueError(msg) from exc
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def ns_literal(value: TimeLike) -> pl.Expr:
    """Return a time as a Polars ``Datetime("ns", "UTC")`` literal."""
    return pl.lit(to_ns(value)).cast(pl.Datetime("ns", "UTC"))


def year_of(value: TimeLike) -> int:
    """Return the UTC calendar year of a time.

    Examples
    --------
    >>> year_of("2021-12-31T23:59:59")
    2021
    """
    ns = to_ns(value)
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)).year
