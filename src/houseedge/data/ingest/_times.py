"""Time parsing for the file readers: text times to UTC, time zones and timeframe inference.

Errors name the file, the row (the 1-based line for CSVs; the 0-based row for Parquet and
Feather) and the column, as :mod:`houseedge.data.ingest._parse` does.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path

import polars as pl

from houseedge.data.ingest._parse import shown
from houseedge.errors import FormatError, InvalidData

TIMEFRAME = re.compile(r"[1-9]\d*(ns|us|ms|s|m|h|d|w|mo|q|y)")

# Tried in order on the first value of a time column; the first that parses fixes the layout.
_LAYOUTS: tuple[tuple[str, str], ...] = (
    ("%Y-%m-%d", "date"),
    ("%Y-%m-%d %H:%M:%S%.f%:z", "aware"),
    ("%Y-%m-%dT%H:%M:%S%.f%:z", "aware"),
    ("%Y-%m-%dT%H:%M:%S%.fZ", "utc"),
    ("%Y-%m-%d %H:%M:%S%.f", "naive"),
    ("%Y-%m-%dT%H:%M:%S%.f", "naive"),
    ("%Y-%m-%d %H:%M", "naive"),
)


def check_tz(path: Path, tz: str | None) -> None:
    """Raise InvalidData when ``tz`` is not an IANA time zone name."""
    if tz is None:
        return
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidData(
            f"unknown time zone {tz!r}",
            source=str(path),
            field="tz",
            expected="an IANA time zone name such as 'UTC' or 'America/New_York'",
        ) from exc


def parse_times(
    values: pl.Series, path: Path, *, tz: str | None, date_format: str | None = None, row_base: int
) -> pl.Series:
    """Parse a text time column to ``Datetime("ns", "UTC")``, locating the first bad value.

    Date-only values become that date at 00:00 UTC whatever ``tz`` says (daily bars are labelled
    by session date). Values with an offset are converted to UTC. Naive date-times are read in
    ``tz`` and raise FormatError when it is ``None``. The layout is taken from the first value
    (ISO dates and date-times); ``date_format`` fixes a date-only layout instead (ffn's
    ``%m/%d/%Y``).

    Examples
    --------
    >>> parse_times(pl.Series("d", ["2020-01-02"]), Path("x.csv"), tz=None, row_base=2)[0]
    datetime.datetime(2020, 1, 2, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    >>> parse_times(pl.Series("d", ["2020-01-02 09:30:00"]), Path("x.csv"), tz=None, row_base=2)
    Traceback (most recent call last):
    ...
    houseedge.errors.FormatError: x.csv: timestamps have no time zone (row 2, field d); ...
    """
    empty = values.is_null().arg_true()
    if len(empty):
        raise InvalidData(
            f"{shown(values.name)} is empty",
            source=str(path),
            row=int(empty[0]) + row_base,
            field=shown(values.name),
            expected="a date or time",
        )
    layout, kind = (date_format, "date") if date_format else _layout_of(values, path, row_base)
    if kind == "date":
        parsed = values.str.to_date(layout, strict=False).cast(pl.Datetime("ns"))
    else:
        parsed = values.str.to_datetime(layout, strict=False, time_unit="ns")
    _raise_unparsed(values, parsed, path, row_base, f"a time like {layout}")
    if kind in ("date", "utc"):
        return parsed.dt.replace_time_zone("UTC")
    if kind == "aware":
        return parsed.dt.convert_time_zone("UTC")
    return localize(parsed, path, tz=tz, row_base=row_base, field=values.name)


def _layout_of(values: pl.Series, path: Path, row_base: int) -> tuple[str, str]:
    head = values.head(1)
    for layout, kind in _LAYOUTS:
        if kind == "date":
            ok = head.str.to_date(layout, strict=False)
        else:
            ok = head.str.to_datetime(layout, strict=False, time_unit="ns")
        if ok.null_count() == 0:
            return layout, kind
    raise InvalidData(
        f"cannot parse {values[0]!r} as a date or time",
        source=str(path),
        row=row_base,
        field=shown(values.name),
        expected="YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.fff] or ISO 8601 with an offset",
    )


def _raise_unparsed(
    values: pl.Series, parsed: pl.Series, path: Path, row_base: int, expected: str
) -> None:
    bad = parsed.is_null().arg_true()
    if len(bad):
        row = int(bad[0])
        raise InvalidData(
            f"cannot parse {values[row]!r} as a date or time",
            source=str(path),
            row=row + row_base,
            field=shown(values.name),
            expected=expected,
        )


def localize(
    naive: pl.Series, path: Path, *, tz: str | None, row_base: int, field: str
) -> pl.Series:
    """Read naive date-times in ``tz`` and return them in UTC; without ``tz`` raise FormatError."""
    if tz is None:
        raise FormatError(
            "timestamps have no time zone",
            source=str(path),
            row=row_base,
            field=shown(field),
            expected="pass tz= (CLI --tz) naming the zone they are in, e.g. tz='UTC'",
        )
    check_tz(path, tz)
    local = naive.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
    bad = local.is_null().arg_true()
    if len(bad):
        raise InvalidData(
            f"{naive[int(bad[0])]} does not exist or is ambiguous in {tz}",
            source=str(path),
            row=int(bad[0]) + row_base,
            field=shown(field),
            expected="a local time that occurs once",
        )
    return local.dt.convert_time_zone("UTC").dt.cast_time_unit("ns")


def to_utc(column: pl.Series, path: Path, *, tz: str | None, field: str) -> pl.Series:
    """Return a Parquet/Feather datetime column in ``Datetime("ns", "UTC")``."""
    if not isinstance(column.dtype, pl.Datetime):
        raise FormatError(
            f"column {field!r} is {column.dtype}, not a timestamp",
            source=str(path),
            field=field,
            expected="a timestamp column",
        )
    if column.dtype.time_zone is None:
        return localize(column, path, tz=tz, row_base=0, field=field)
    return column.dt.convert_time_zone("UTC").dt.cast_time_unit("ns")


def timeframe_of(ts: pl.Series, path: Path, timeframe: str | None) -> str:
    """Return the given timeframe, checked, or the label of the most common gap between times.

    Examples
    --------
    >>> days = pl.Series(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-08"]).str.to_datetime()
    >>> timeframe_of(days, Path("x.csv"), None)
    '1d'
    """
    if timeframe is not None:
        if not TIMEFRAME.fullmatch(timeframe):
            raise InvalidData(
                f"timeframe {timeframe!r} is not understood",
                source=str(path),
                field="timeframe",
                expected="like 1m, 5m, 1h, 1d, 1w, 1mo, 1y",
            )
        return timeframe
    gaps = ts.unique().sort().diff().drop_nulls().dt.total_microseconds()
    labels = pl.Series("gap", [gap_label(int(us)) for us in gaps], dtype=pl.String())
    counts = labels.value_counts(sort=True)
    if counts.height == 0 or (counts.height > 1 and counts[0, 1] == counts[1, 1]):
        tied = ", ".join(counts[:, 0].head(2).to_list()) if counts.height else "no gaps"
        raise FormatError(
            f"cannot infer the timeframe ({tied})",
            source=str(path),
            field="timeframe",
            expected="pass timeframe= (CLI --timeframe), e.g. '1d'",
        )
    return str(counts[0, 0])


_UNITS_US = (
    ("w", 604_800_000_000),
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
)
_DAY_US = 86_400_000_000


def gap_label(us: int) -> str:
    """Return the timeframe label of a gap in microseconds (calendar months by day count).

    Examples
    --------
    >>> [gap_label(n * 60_000_000) for n in (1, 5, 60, 1440)]
    ['1m', '5m', '1h', '1d']
    >>> gap_label(29 * 86_400_000_000)
    '1mo'
    """
    days = us / _DAY_US
    for low, high, label in ((28, 31, "1mo"), (89, 92, "3mo"), (365, 366, "1y")):
        if low <= days <= high:
            return label
    unit, size = next((u, s) for u, s in _UNITS_US if us % s == 0)
    return f"{us // size}{unit}"
