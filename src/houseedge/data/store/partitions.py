"""Partition layout and atomic file replacement for the Parquet store.

A dataset lives at ``<root>/<dataset>/<col>=<value>/.../part-0.parquet``. Values are
percent-encoded (``BTC/USDT`` is ``symbol=BTC%2FUSDT``), which Polars, DuckDB and pyarrow all
decode. Partition columns are not stored inside the files; readers restore them from the path.

Writes are staged beside their target as hidden ``.part-0.parquet.<token>.tmp`` files, flushed to
disk, and renamed over the target only when every staged file of a write exists, so a reader
(which globs ``*.parquet``) never sees half a file and a failed write leaves nothing changed.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import itertools
import os
import secrets
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import polars as pl

from houseedge.data.schemas import DatasetSpec
from houseedge.data.validation import series_bounds

PART_FILE = "part-0.parquet"
COMPRESSION = "zstd"
# zstd level 1, not Polars' 3: on bar data it writes about twice as fast (the ingest's largest
# cost) for files 1-5% larger, and reads no slower; see Store's ``compression_level``.
COMPRESSION_LEVEL = 1


def encode(value: object) -> str:
    """Return a partition value as a path segment.

    Examples
    --------
    >>> encode("BTC/USDT")
    'BTC%2FUSDT'
    """
    return quote(str(value), safe="")


def partition_dir(dataset_dir: Path, names: Sequence[str], values: Sequence[object]) -> Path:
    """Return the folder of one partition.

    Examples
    --------
    >>> partition_dir(Path("/s/bars"), ["symbol", "year"], ["A B", 2020]).as_posix()
    '/s/bars/symbol=A%20B/year=2020'
    """
    path = dataset_dir
    for name, value in zip(names, values, strict=True):
        path = path / f"{name}={encode(value)}"
    return path


def with_partition_columns(spec: DatasetSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """Add derived partition columns (``year`` from the time column) to a frame."""
    if "year" in spec.partitions and spec.time_column:
        # The wall clock of a UTC timestamp is the timestamp itself: skipping the zone
        # machinery makes this several times faster on large frames.
        naive = pl.col(spec.time_column).dt.replace_time_zone(None)
        return frame.with_columns(year=naive.dt.year())
    return frame


def split(
    spec: DatasetSpec, frame: pl.DataFrame
) -> Iterator[tuple[tuple[object, ...], pl.DataFrame]]:
    """Yield ``(partition values, rows)`` for a frame sorted by the dataset's sort order.

    Rows of one partition are contiguous in a sorted frame, so each part is a zero-copy slice.
    """
    names = list(spec.partitions)
    if not names:
        yield (), frame
        return
    fast = _split_by_year_search(spec, frame)
    if fast is not None:
        yield from fast
        return
    framed = with_partition_columns(spec, frame)
    changed = pl.any_horizontal([pl.col(n) != pl.col(n).shift(1) for n in names]).fill_null(True)
    starts = framed.select(changed.arg_true()).to_series().to_list()
    heads = framed.select(names)[starts]
    if heads.is_duplicated().any():
        # Not contiguous (the frame was sorted by time before partition): group explicitly.
        for key, part in framed.partition_by(names, as_dict=True, maintain_order=True).items():
            yield key, part.drop(names)
        return
    bounds = [*starts, framed.height]
    for start, stop in itertools.pairwise(bounds):
        part = framed.slice(start, stop - start)
        yield tuple(part.row(0, named=True)[n] for n in names), part.drop(names)


def _split_by_year_search(
    spec: DatasetSpec, frame: pl.DataFrame
) -> list[tuple[tuple[object, ...], pl.DataFrame]] | None:
    """Split ``(symbol, year)`` partitions by binary search on time, or None if not applicable.

    Applies when rows come in symbol runs whose times are sorted (one timeframe per symbol):
    then each year starts where a search for its first instant lands, and no per-row year
    column is needed.
    """
    time = spec.time_column
    if spec.partitions != ("symbol", "year") or time is None or frame.height == 0:
        return None
    bounds = series_bounds(frame, ["symbol"])
    if bounds is None:
        changed = (pl.col("symbol") != pl.col("symbol").shift(1)).fill_null(True)
        bounds = [*frame.select(changed.arg_true()).to_series().to_list(), frame.height]
    parts: list[tuple[tuple[object, ...], pl.DataFrame]] = []
    for start, stop in itertools.pairwise(bounds):
        run = frame.slice(start, stop - start)
        times = run[time]
        if not times.is_sorted():
            return None
        symbol = run["symbol"][0]
        first, last = times[0].year, times[-1].year
        edges = [
            0,
            *times.search_sorted(
                pl.Series([_year_start(y) for y in range(first + 1, last + 1)], dtype=times.dtype)
            ).to_list(),
            run.height,
        ]
        parts += [
            ((symbol, year), run.slice(lo, hi - lo).drop("symbol"))
            for year, (lo, hi) in zip(
                range(first, last + 1), itertools.pairwise(edges), strict=True
            )
            if hi > lo
        ]
    if len({key for key, _ in parts}) != len(parts):
        return None  # a symbol appears in two runs: not contiguous
    return parts


def _year_start(year: int) -> datetime.datetime:
    return datetime.datetime(year, 1, 1, tzinfo=datetime.UTC)


@dataclass
class StagedFile:
    """A file written beside its target, waiting to be renamed over it."""

    temp: Path
    target: Path
    created: tuple[Path, ...] = ()  # folders this write made: their parents' entries are new


def stage(
    frame: pl.DataFrame,
    target: Path,
    *,
    compression_level: int = COMPRESSION_LEVEL,
    sync: bool = True,
) -> StagedFile:
    """Write ``frame`` to a hidden temporary file beside ``target`` and flush it to disk.

    With ``sync=False`` the caller must :func:`flush` the file before committing it.
    """
    created = _make_folders(target.parent)
    temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    staged = StagedFile(temp, target, created)
    frame.write_parquet(
        temp, compression=COMPRESSION, compression_level=compression_level, statistics=True
    )
    if sync:
        flush(staged)
    return staged


def _make_folders(folder: Path) -> tuple[Path, ...]:
    """Create ``folder`` and its missing parents; return the ones created."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    return tuple(missing)


def flush(staged: StagedFile) -> None:
    """Force a staged file's contents to disk (fsync)."""
    with staged.temp.open("rb") as handle:
        os.fsync(handle.fileno())


def commit(staged: Sequence[StagedFile]) -> None:
    """Rename every staged file over its target, then flush the folders' entries.

    A partition folder the write created is an entry in its parent, so the parents of new
    folders are flushed too: after a power loss a new partition is there or not, whole.
    """
    for item in staged:
        item.temp.replace(item.target)
    folders = {item.target.parent for item in staged}
    folders |= {made.parent for item in staged for made in item.created}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def discard(staged: Sequence[StagedFile]) -> None:
    """Remove staged files of a write that will not be committed."""
    for item in staged:
        item.temp.unlink(missing_ok=True)


def sweep(dataset_dir: Path) -> None:
    """Remove staged files left by a writer that died; call only while holding the lock."""
    if dataset_dir.is_dir():
        for orphan in dataset_dir.rglob(".*.tmp"):
            orphan.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(root: Path) -> Generator[None]:
    """Hold the store's writer lock: one writer at a time, readers never wait."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
