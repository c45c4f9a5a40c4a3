"""Parse-level helpers shared by the file readers: text, times, timeframes and located errors.

Every helper that can fail on bad input raises a :class:`~houseedge.errors.DataError` leaf naming
the file, the row (the 1-based line for CSVs, header = line 1; the 0-based row index for Parquet
and Feather) and the field, and never lets a Polars or pyarrow exception escape untranslated.
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from houseedge.data.schemas import validate
from houseedge.errors import DataError, FormatError, InvalidData

CSV_ROW_BASE = 2
"""Frame index + 2 = file line: line 1 is the header."""


@dataclass(frozen=True)
class Parsed:
    """One dataset's rows read from a file, validated and cast to the dataset schema.

    Parameters
    ----------
    dataset
        The dataset the rows belong to (``"bars"``, ``"trades"``, ...).
    frame
        The rows in file order, with the dataset's columns.
    source
        The file the rows came from.
    row_base
        Frame index + ``row_base`` is the file row (2 for a CSV: line 1 is the header; 0 for
        Parquet/Feather row indexes). Readers that skip or reshape rows (zipline actions, ffn
        wide columns) have already validated against exact file rows and set it to 0.
    """

    dataset: str
    frame: pl.DataFrame
    source: str
    row_base: int


@dataclass(frozen=True)
class Options:
    """What the caller may say about a file that the file does not say itself."""

    symbol: str | None = None
    tz: str | None = None
    timeframe: str | None = None


def symbol_of(path: Path, given: str | None, from_file: str | None = None) -> str:
    """Return the symbol: the option, else the file's own, else the file name stem.

    Examples
    --------
    >>> symbol_of(Path("data/AAPL.csv"), None)
    'AAPL'
    """
    symbol = given or from_file or path.stem
    if not symbol or symbol.startswith("."):
        raise FormatError(
            "cannot tell the symbol",
            source=str(path),
            field="symbol",
            expected="pass symbol= (CLI --symbol)",
        )
    return symbol


TIMEFRAME = re.compile(r"[1-9]\d*(ns|us|ms|s|m|h|d|w|mo|y)")

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


def shown(column: str) -> str:
    """Return a column name fit for a message (pandas writes its index with an empty name)."""
    return column or "(unnamed first column)"


def read_csv_strings(path: Path) -> pl.DataFrame:
    r"""Read a CSV with every column as text, so a bad value can be located rather than fail.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("a,b\n1,x\n")
    >>> read_csv_strings(p).row(0)
    ('1', 'x')
    """
    try:
        return pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        line = _first_ragged_line(path)
        raise FormatError(
            f"cannot read as CSV: {str(exc).splitlines()[0]}",
            source=str(path),
            row=line,
            expected="a comma-separated file with a header line and the same number of fields "
            "on every line",
        ) from exc


def _first_ragged_line(path: Path) -> int | None:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            none: list[str] = []
            width = len(next(reader, none))
            for fields in reader:
                if fields and len(fields) != width:
                    return reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def csv_header(path: Path) -> list[str]:
    """Return the column names on a CSV's first line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            none: list[str] = []
            return next(csv.reader(handle), none)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"cannot read a CSV header: {exc}", source=str(path), row=1) from exc


def require_columns(
    path: Path, fmt: str, found: Sequence[str], required: Sequence[str], *, header_row: int | None
) -> None:
    """Raise FormatError naming the format, the expected and the found columns if one is missing."""
    missing = [c for c in required if c not in found]
    if missing:
        raise FormatError(
            f"not a {fmt} file: missing column {shown(missing[0])!r}; found columns "
            f"{', '.join(map(shown, found)) or 'none'}",
            source=str(path),
            row=header_row,
            field=shown(missing[0]),
            expected=f"{fmt} columns {', '.join(map(shown, required))}",
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
    ``tz`` and raise FormatError when it is ``None``.

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


def checked(
    dataset: str,
    frame: pl.DataFrame,
    path: Path,
    *,
    fields: Mapping[str, str],
    row_base: int = 0,
    rows: pl.Series | None = None,
) -> pl.DataFrame:
    """Validate a frame and return it cast, with errors naming the file's rows and columns.

    ``fields`` maps dataset columns to the file's column names. ``rows`` gives the file row of
    each frame row where rows do not map one-to-one (skipped cells, filtered events); otherwise
    frame index + ``row_base`` is the row.
    """
    try:
        return validate(dataset, frame, source=str(path), row_base=0, check_order=True)
    except DataError as exc:
        row = exc.row
        if row is not None:
            row = int(rows[row]) if rows is not None else row + row_base
        raise type(exc)(
            exc.reason,
            source=str(path),
            row=row,
            field=_file_field(exc.field, fields),
            expected=exc.expected,
        ) from exc


def _file_field(field: str | None, fields: Mapping[str, str]) -> str | None:
    if field is None:
        return None
    # A repeated key names every key column; the file only knows the ones it holds.
    parts = [shown(fields[f]) for f in field.split(",") if f in fields]
    return ",".join(parts) if parts else field
