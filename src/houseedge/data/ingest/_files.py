r"""Read market-data files of the supported formats and write them to the store.

:func:`read_file` recognises the format (or takes it from the caller), parses the file and
validates every row, so :func:`ingest_file` hands the store only data that will pass. See
:mod:`houseedge.data.ingest.formats` for the formats and the conventions they follow.

Detection looks at the file's kind (Parquet and Arrow IPC by their magic bytes, else by the
extension; anything else is read as CSV) and at its header or schema, and answers only when
exactly one format fits. A header ``Date,Open,High,Low,Close,Volume`` fits both ``yahoo``
(without ``Adj Close``) and ``backtrader`` (without ``OpenInterest``): the two tools mean
different things by "Close" (Yahoo's is split-adjusted), so detection refuses to guess and the
caller passes ``format=``.

Examples
--------
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "SPY.csv"
>>> _ = path.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
...                     "2024-01-02,10,11,9,10.5,10.4,100\n")
>>> detect_format(path)
'yahoo'
>>> [p.dataset for p in read_file(path, timeframe="1d")]
['bars']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from houseedge.data.ingest._parse import csv_header, shown
from houseedge.data.ingest.formats import FORMATS, Container, Options, Parsed
from houseedge.errors import DatasetNotFound, FormatError

if TYPE_CHECKING:
    from houseedge.data.store import Store, WriteReport

__all__ = ["FORMATS", "Parsed", "detect_format", "ingest_file", "read_file"]

_MAGIC: tuple[tuple[bytes, Container], ...] = ((b"PAR1", "parquet"), (b"ARROW1", "ipc"))
_EXTENSIONS: dict[str, Container] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "ipc",
    ".arrow": "ipc",
    ".ipc": "ipc",
}


def container_of(path: Path) -> Container:
    """Return whether a file is CSV text, Parquet or Arrow IPC (Feather v2)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise DatasetNotFound(f"cannot open the file: {exc.strerror}", source=str(path)) from exc
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return _EXTENSIONS.get(path.suffix.lower(), "csv")


def columns_of(path: Path, container: Container) -> list[str]:
    """Return a file's column names: the CSV header line or the Parquet/IPC schema."""
    try:
        if container == "parquet":
            return list(pl.read_parquet_schema(path))
        if container == "ipc":
            return list(pl.read_ipc_schema(path))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise FormatError(f"cannot read the {container} schema: {exc}", source=str(path)) from exc
    return csv_header(path)


def detect_format(path: str | Path) -> str:
    r"""Return the name of the one format a file's kind and header (or schema) fit.

    Raises
    ------
    FormatError
        No format fits, or several do (the message lists them).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "EURUSD.csv"
    >>> _ = path.write_text("timestamp,bid,ask\n")
    >>> detect_format(path)
    'truefx'
    """
    path = Path(path)
    kind = container_of(path)
    found = columns_of(path, kind)
    fits = [name for name, f in FORMATS.items() if f.container == kind and f.recognises(found)]
    if len(fits) == 1:
        return fits[0]
    columns = ", ".join(map(shown, found)) or "none"
    if fits:
        raise FormatError(
            f"the {kind} columns ({columns}) fit several formats: {', '.join(fits)}",
            source=str(path),
            expected=f"pass format= (CLI --format) one of {', '.join(fits)}",
        )
    raise FormatError(
        f"no known {kind} format has the columns {columns}",
        source=str(path),
        expected=f"pass format= (CLI --format) one of {', '.join(FORMATS)}",
    )


def read_file(
    path: str | Path,
    *,
    format: str | None = None,
    symbol: str | None = None,
    tz: str | None = None,
    timeframe: str | None = None,
) -> list[Parsed]:
    r"""Parse and validate a file, returning one :class:`Parsed` per dataset it feeds.

    Parameters
    ----------
    path
        The file.
    format
        A name in :data:`FORMATS`; detected from the file when ``None``.
    symbol
        The instrument, when the file does not say (default: the file's own, else its stem).
    tz
        The time zone of naive date-times (required for naive intraday times).
    timeframe
        The bar timeframe (``"1m"``, ``"1d"``, ...); inferred from the timestamps when ``None``.

    Raises
    ------
    FormatError
        The file is not of the format, or the format cannot be told.
    SchemaMismatch, InvalidData
        A value cannot be read or breaks a rule; the message names the file, row and field.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "GOOG.csv"
    >>> _ = path.write_text(",Open,High,Low,Close,Volume\n2004-08-19,100,104,96,100.3,10\n")
    >>> read_file(path, format="truefx")
    Traceback (most recent call last):
    ...
    houseedge.errors.FormatError: ...GOOG.csv: not a truefx file: missing column 'timestamp'; ...
    """
    path = Path(path)
    name = format or detect_format(path)
    spec = FORMATS.get(name)
    if spec is None:
        raise FormatError(
            f"unknown format {name!r}",
            source=str(path),
            field="format",
            expected=f"one of {', '.join(FORMATS)}",
        )
    kind = container_of(path)
    if kind != spec.container:
        raise FormatError(
            f"not a {name} file: it is {kind}, {name} is {spec.container}",
            source=str(path),
            expected=f"{name} columns {', '.join(spec.columns)}",
        )
    return spec.read(path, Options(symbol=symbol, tz=tz, timeframe=timeframe))


def ingest_file(
    store: Store,
    path: str | Path,
    *,
    format: str | None = None,
    symbol: str | None = None,
    tz: str | None = None,
    timeframe: str | None = None,
) -> list[WriteReport]:
    """Read a file and write every dataset it feeds to ``store`` at once (all or none).

    Takes the same options as :func:`read_file` and returns one report per dataset written.
    """
    parsed = read_file(path, format=format, symbol=symbol, tz=tz, timeframe=timeframe)
    return store.write_many([(p.dataset, p.frame) for p in parsed], source=str(path))
