"""Parse-level helpers shared by the file readers: CSV text, columns, symbols, located errors.

Every helper that can fail on bad input raises a :class:`~houseedge.errors.DataError` leaf naming
the file, the row (the 1-based line for CSVs, header = line 1; the 0-based row index for Parquet
and Feather) and the field, and never lets a Polars or pyarrow exception escape untranslated.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from houseedge.data.validation import validate
from houseedge.errors import DataError, FormatError, SchemaMismatch

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


def numbers(frame: pl.DataFrame, columns: Sequence[str], path: Path) -> pl.DataFrame:
    """Cast text columns of a CSV frame to Float64, locating the first value that is no number.

    Empty cells stay null (the dataset rules decide whether they may be); ``nan`` and ``inf``
    parse, and the rules reject them where prices must be finite.

    Examples
    --------
    >>> numbers(pl.DataFrame({"Close": ["1.5", None, "x"]}), ["Close"], Path("a.csv"))
    Traceback (most recent call last):
    ...
    houseedge.errors.SchemaMismatch: a.csv: 'x' is not a number (row 4, field Close); ...
    """
    cast = frame.with_columns(
        pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in columns
    )
    for column in columns:
        bad = (cast[column].is_null() & frame[column].is_not_null()).arg_true()
        if len(bad):
            raise SchemaMismatch(
                f"{frame[column][int(bad[0])]!r} is not a number",
                source=str(path),
                row=int(bad[0]) + CSV_ROW_BASE,
                field=shown(column),
                expected="a number",
            )
    return cast


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
