"""A store write's two steps before the commit: prepare (validate, sort) and stage (merge).

:meth:`~houseedge.data.store.Store.write_many` prepares every frame first, so a bad frame
fails before anything touches disk, then stages each dataset's changed partitions and commits
them together (:mod:`houseedge.data.store.partitions`).
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from houseedge.data.schemas import DatasetSpec
from houseedge.data.store import partitions
from houseedge.data.validation import check_time_order, check_unique, in_key_order, validate
from houseedge.errors import InvalidData

__all__ = ["Prepared", "WriteReport", "prepare", "stage"]


@dataclass(frozen=True)
class WriteReport:
    """What one dataset write did."""

    dataset: str
    rows_in: int
    rows_added: int
    partitions_changed: int
    partitions_unchanged: int


@dataclass(frozen=True)
class Prepared:
    """A frame validated against its dataset and sorted by the dataset's key."""

    spec: DatasetSpec
    frame: pl.DataFrame


def prepare(
    spec: DatasetSpec,
    frame: pl.DataFrame,
    source: str | None,
    row_base: int,
    check_order: bool,
) -> Prepared:
    """Validate ``frame`` and sort it by the key; refuse repeated keys (naming the row).

    ``source`` and ``row_base`` name the input in errors; ``check_order`` refuses timestamps
    that are not strictly increasing per key (before sorting hides it).

    Examples
    --------
    >>> from houseedge.data.schemas import spec_of
    >>> bars = pl.DataFrame({"symbol": ["X", "X"], "timeframe": "1d", "ts": [86_400 * 10**9, 0],
    ...     "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0})
    >>> prepare(spec_of("bars"), bars, None, 0, False).frame["ts"].dt.day().to_list()
    [1, 2]
    """
    checked = validate(spec, frame, source=source, row_base=row_base, check_key=False)
    # Rows already in strictly increasing key order are sorted, unique and in time order:
    # one cheap pass decides the common case; the costly checks run only to name a row.
    if not in_key_order(spec, checked):
        if check_order and spec.time_column:
            check_time_order(spec, checked, source=source, row_base=row_base)
        checked = checked.sort(spec.sort)
        if not in_key_order(spec, checked):
            original = validate(spec, frame, check_key=False)
            check_unique(spec, original, source=source, row_base=row_base)
            msg = "key repeats an earlier row"
            raise InvalidData(msg, source=source or spec.name, field=",".join(spec.key))
    first = spec.sort[0]
    if not checked[first].has_nulls():
        # Key order sorts the first key column: flag it so splitting needn't check again.
        checked = checked.with_columns(pl.col(first).set_sorted())
    return Prepared(spec, checked)


def stage(
    root: Path, item: Prepared, compression_level: int
) -> tuple[list[partitions.StagedFile], WriteReport]:
    """Merge a prepared frame into its partition files, staged beside them (not yet renamed).

    Each partition's rows are merged with its file, de-duplicated on the key (the incoming row
    wins); an unchanged partition stages nothing. The caller commits or discards the files.
    """
    spec, base = item.spec, root / item.spec.name
    parts = list(partitions.split(spec, item.frame))
    file_key = [c for c in spec.key if c not in spec.partitions]
    file_sort = [c for c in spec.sort if c not in spec.partitions]
    level = compression_level
    workers = min(len(parts), os.cpu_count() or 1) or 1
    # Writers hand each file's fsync to a flusher thread and go on encoding: a core never
    # idles while the disk catches up. Every fsync is awaited before the write commits.
    flusher = ThreadPoolExecutor(max_workers=workers)
    flushes: list[Future[None]] = []

    def put(frame: pl.DataFrame, target: Path) -> partitions.StagedFile:
        staged = partitions.stage(frame, target, compression_level=level, sync=False)
        flushes.append(flusher.submit(partitions.flush, staged))
        return staged

    def merge(entry: tuple[tuple[object, ...], pl.DataFrame]) -> tuple[int, object]:
        values, part = entry
        target = partitions.partition_dir(base, spec.partitions, values) / partitions.PART_FILE
        if not target.exists():
            return part.height, put(part, target)
        old = pl.read_parquet(target)
        merged = (
            pl.concat([old, part], how="diagonal_relaxed")
            .unique(subset=file_key, keep="last", maintain_order=True)
            .sort(file_sort)
        )
        if merged.equals(old):
            return 0, None
        return merged.height - old.height, put(merged, target)

    with flusher, ThreadPoolExecutor(max_workers=workers) as pool:  # writers finish first
        futures = [pool.submit(merge, part) for part in parts]
    failed = [f.exception() for f in [*futures, *flushes] if f.exception() is not None]
    results = [f.result() for f in futures if f.exception() is None]
    staged = [s for _, s in results if isinstance(s, partitions.StagedFile)]
    if failed:
        partitions.discard(staged)
        raise failed[0]  # type: ignore[misc]
    report = WriteReport(
        dataset=spec.name,
        rows_in=item.frame.height,
        rows_added=sum(n for n, _ in results),
        partitions_changed=len(staged),
        partitions_unchanged=len(results) - len(staged),
    )
    return staged, report
