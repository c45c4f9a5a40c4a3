"""The Parquet store: validated, idempotent, atomic writes; pruned scans; SQL.

Layout: ``<root>/<dataset>/symbol=<symbol>/year=<year>/part-0.parquet`` (zstd), one file per
partition, rows sorted by the dataset key. ``<root>/catalog.duckdb`` holds a DuckDB view per
dataset.

Write semantics
    Every frame is validated against its dataset schema before anything touches disk. Rows are
    merged into the existing partition files and de-duplicated on the dataset key, the incoming
    row winning, so re-ingesting a file changes nothing and overlapping ranges merge. A write
    stages every file it changes and renames them into place only once all are on disk.

Examples
--------
>>> import tempfile, polars as pl
>>> store = Store(tempfile.mkdtemp())
>>> bars = pl.DataFrame({"symbol": ["X", "X"], "timeframe": "1d", "ts": [0, 86_400 * 10**9],
...     "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0})
>>> store.write("bars", bars).rows_added
2
>>> store.write("bars", bars).rows_added   # idempotent
0
>>> store.scan("bars", symbols=["X"], start="1970-01-02").collect().height
1
>>> store.sql("SELECT count(*) AS n FROM bars")["n"][0]
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson
import polars as pl

from houseedge import logs
from houseedge.config import store_root
from houseedge.data import sql
from houseedge.data.resample import resample_bars
from houseedge.data.schemas import DatasetSpec, spec_of
from houseedge.data.store import partitions
from houseedge.data.store._write import WriteReport, prepare, stage
from houseedge.data.timeparse import TimeLike, ns_literal, to_ns, year_of

log = logs.get_logger("houseedge.data.store._store")
_CATALOG_MARK = ".catalog-datasets.json"


class Store:
    """A hive-partitioned Parquet store with a DuckDB catalog.

    Parameters
    ----------
    root
        Folder of the store; ``HOUSEEDGE_STORE`` or ``./data/store`` when omitted.
    compression_level
        zstd level of the files this store writes, 1 (fastest) to 22 (smallest). The default,
        1, writes bar data about twice as fast as Polars' default of 3, which dominates an
        ingest's time, for files 1-5% larger that read as fast; raise it for archives written
        once and kept long. Files of any level read the same.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        compression_level: int = partitions.COMPRESSION_LEVEL,
    ) -> None:
        if not 1 <= compression_level <= 22:
            msg = f"compression_level must be 1 to 22 (zstd), not {compression_level}"
            raise ValueError(msg)
        self.root = store_root(root).expanduser().absolute()
        self.compression_level = compression_level
        self._connection_for: tuple[str, ...] | None = None
        self._connection: object | None = None

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- writes -------------------------------------------------------------------------------

    def write(
        self,
        dataset: str | DatasetSpec,
        frame: pl.DataFrame,
        *,
        source: str | None = None,
        row_base: int = 0,
        check_order: bool = False,
    ) -> WriteReport:
        """Validate and merge ``frame`` into a dataset; see :meth:`write_many`."""
        return self.write_many(
            [(dataset, frame)], source=source, row_base=row_base, check_order=check_order
        )[0]

    def write_many(
        self,
        items: Sequence[tuple[str | DatasetSpec, pl.DataFrame]],
        *,
        source: str | None = None,
        row_base: int = 0,
        check_order: bool = False,
    ) -> list[WriteReport]:
        """Write several datasets as one: all are validated first, then all or none land.

        Parameters
        ----------
        items
            ``(dataset, frame)`` pairs.
        source
            Name of the input for error messages (a file path).
        row_base
            Offset from a frame index to the row number reported in errors.
        check_order
            Reject frames whose timestamps are not strictly increasing per key.

        Raises
        ------
        SchemaMismatch, InvalidData
            Before anything is written.
        """
        prepared = [
            prepare(spec_of(dataset), frame, source, row_base, check_order)
            for dataset, frame in items
        ]
        reports: list[WriteReport] = []
        with partitions.locked(self.root):
            for item in prepared:
                partitions.sweep(self.root / item.spec.name)
            staged: list[partitions.StagedFile] = []
            try:
                for item in prepared:
                    files, report = stage(self.root, item, self.compression_level)
                    staged += files
                    reports.append(report)
            except BaseException:
                partitions.discard(staged)
                raise
            partitions.commit(staged)
            self._refresh_catalog_if_new()
        for report in reports:
            log.info("dataset_written", **report.__dict__, source=source)
        return reports

    # -- reads --------------------------------------------------------------------------------

    def datasets(self) -> list[str]:
        """Return the datasets that have at least one file, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            d.name
            for d in self.root.iterdir()
            if d.is_dir() and not d.name.startswith(".") and next(d.rglob("*.parquet"), None)
        )

    def files(
        self,
        dataset: str | DatasetSpec,
        *,
        symbols: Sequence[str] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        partition: Mapping[str, object] | None = None,
    ) -> list[Path]:
        """Return the files a scan with these filters must read (partition pruning).

        ``partition`` pins partition columns to one value each (``{"run_id": "…"}``).
        """
        spec = spec_of(dataset)
        pinned = partition or {}
        folders = [self.root / spec.name]
        for name in spec.partitions:
            if name == "symbol" and symbols is not None:
                folders = [f / f"symbol={partitions.encode(s)}" for f in folders for s in symbols]
            elif name in pinned:
                folders = [f / f"{name}={partitions.encode(pinned[name])}" for f in folders]
            else:
                folders = [
                    c
                    for f in folders
                    if f.is_dir()
                    for c in sorted(f.iterdir())
                    if c.name.startswith(f"{name}=") and _year_ok(c.name, name, start, end)
                ]
        return sorted(p for f in folders if f.is_dir() for p in f.glob("*.parquet"))

    def scan(
        self,
        dataset: str | DatasetSpec,
        *,
        symbols: Sequence[str] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        timeframe: str | None = None,
        partition: Mapping[str, object] | None = None,
    ) -> pl.LazyFrame:
        """Return a lazy frame over a dataset, pruned to the partitions the filters need.

        ``start`` is inclusive and ``end`` exclusive; both are UTC unless they carry a zone.
        ``partition`` pins partition columns to one value each (only those folders are read).
        Columns come in schema order with partition columns restored; optional columns a
        file lacks are null.
        """
        spec = spec_of(dataset)
        files = self.files(spec, symbols=symbols, start=start, end=end, partition=partition)
        schema = spec.schema
        if not files:
            return pl.LazyFrame(schema=schema)
        hive = {n: (pl.Int32() if n == "year" else schema[n]) for n in spec.partitions}
        in_file = {n: t for n, t in schema.items() if n not in hive}
        frame = pl.scan_parquet(
            files,
            schema=in_file,
            hive_partitioning=bool(hive),
            hive_schema=hive or None,
            missing_columns="insert",
            extra_columns="ignore",
        )
        frame = frame.select(list(schema))
        time = spec.time_column
        if time and start is not None:
            frame = frame.filter(pl.col(time) >= ns_literal(start))
        if time and end is not None:
            frame = frame.filter(pl.col(time) < ns_literal(end))
        if timeframe is not None and "timeframe" in schema:
            frame = frame.filter(pl.col("timeframe") == timeframe)
        return frame

    def read(self, dataset: str | DatasetSpec, **filters: object) -> pl.DataFrame:
        """Return :meth:`scan` collected."""
        return self.scan(dataset, **filters).collect()  # type: ignore[arg-type]

    def resample(
        self,
        every: str,
        *,
        timeframe: str,
        symbols: Sequence[str] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        tz: str | None = None,
        offset: str | None = None,
    ) -> pl.LazyFrame:
        """Return stored bars of ``timeframe`` resampled to ``every``.

        See :mod:`houseedge.data.resample` for the bucket and label convention.
        """
        bars = self.scan("bars", symbols=symbols, start=start, end=end, timeframe=timeframe)
        return resample_bars(bars, every, tz=tz, offset=offset)

    # -- SQL ----------------------------------------------------------------------------------

    def sql(self, query: str) -> pl.DataFrame:
        """Run DuckDB SQL over the store's views and return a Polars frame.

        Raises
        ------
        QueryError
            DuckDB could not run the query.
        """
        names = tuple(self.datasets())
        if self._connection is None or self._connection_for != names:
            self._connection = sql.connect(self.root, names)
            self._connection_for = names
        return sql.query(self._connection, query)  # type: ignore[arg-type]

    def refresh_catalog(self) -> bool:
        """Rewrite ``catalog.duckdb``; return False when another process holds it open."""
        names = self.datasets()
        done = sql.refresh_catalog(self.root, names)
        if done:
            (self.root / _CATALOG_MARK).write_bytes(orjson.dumps(names))
        return done

    def _refresh_catalog_if_new(self) -> None:
        mark = self.root / _CATALOG_MARK
        known = orjson.loads(mark.read_bytes()) if mark.exists() else None
        if known != self.datasets() or not (self.root / sql.CATALOG_FILE).exists():
            self.refresh_catalog()


def _year_ok(folder: str, name: str, start: TimeLike | None, end: TimeLike | None) -> bool:
    if name != "year":
        return True
    year = int(folder.split("=", 1)[1])
    # ``end`` is exclusive: a scan ending at 2016-01-01T00:00 needs nothing from 2016.
    return (start is None or year >= year_of(start)) and (
        end is None or year <= year_of(to_ns(end) - 1)
    )
