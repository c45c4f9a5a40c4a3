"""Store figures (issue: Foundation), each measured beside its baseline in the same run.

* ingest of 10M one-minute bars (10 symbols), validation included, vs a bare
  ``pl.DataFrame.write_parquet`` of the same rows: target >= 5M rows/s and <= 1.5x (also
  reported against the bare writer at the store's zstd level, and the bytes written);
* ``houseedge sql`` resampling those bars to 1-hour OHLCV vs the same query in a bare DuckDB
  connection on the same files: target <= 1.2x;
* a one-symbol, one-year scan out of 10 symbols x 10 years: target <= 1/20 of the bytes of a
  full scan;
* peak memory of the 10M-row ingest: target <= 3x the in-memory size of the frame.

Run with ``make bench`` (or ``uv run pytest benchmarks/test_bench_store.py -m benchmark
--benchmark-enable``). Ratios are printed and stored in each benchmark's ``extra_info``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from houseedge.data.store import Store
from houseedge.data.store.partitions import COMPRESSION_LEVEL
from houseedge.data.synthetic import synthetic_bars

pytestmark = pytest.mark.benchmark

ROWS_PER_SYMBOL = 1_000_000
SYMBOLS = 10
RESULTS: dict[str, float] = {}

HOURLY = """
SELECT symbol, time_bucket(INTERVAL '1 hour', CAST(ts AS TIMESTAMPTZ),
                           TIMESTAMPTZ '1970-01-01 00:00:00+00') AS ts,
       arg_min(open, ts) AS open, max(high) AS high, min(low) AS low,
       arg_max(close, ts) AS close, sum(volume) AS volume, count(*) AS bars
FROM {source} WHERE timeframe = '1m'
GROUP BY ALL ORDER BY symbol, ts
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-store")


@pytest.fixture(scope="module")
def minute_bars() -> pl.DataFrame:
    return synthetic_bars(SYMBOLS, periods=ROWS_PER_SYMBOL, timeframe="1m", seed=1)


@pytest.fixture(scope="module")
def filled_store(workdir: Path, minute_bars: pl.DataFrame) -> Store:
    store = Store(workdir / "filled")
    store.write("bars", minute_bars)
    return store


def _fresh(workdir: Path, name: str) -> Iterator[Path]:
    for i in range(1_000_000):
        path = workdir / f"{name}-{i}"
        shutil.rmtree(workdir / f"{name}-{i - 1}", ignore_errors=True)
        yield path


def test_bare_write_parquet(benchmark, workdir: Path, minute_bars: pl.DataFrame) -> None:
    target = workdir / "bare.parquet"
    benchmark.pedantic(
        minute_bars.write_parquet, args=(target,), rounds=3, iterations=1, warmup_rounds=1
    )
    RESULTS["bare_write"] = benchmark.stats.stats.median


def test_bare_write_parquet_store_level(
    benchmark, workdir: Path, minute_bars: pl.DataFrame
) -> None:
    """The bare writer at the store's zstd level: the single-threaded floor of the same files."""
    target = workdir / "bare-store-level.parquet"
    benchmark.pedantic(
        lambda: minute_bars.write_parquet(target, compression_level=COMPRESSION_LEVEL),
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    RESULTS["bare_write_store_level"] = benchmark.stats.stats.median
    benchmark.extra_info["bytes"] = target.stat().st_size


def test_store_ingest(benchmark, workdir: Path, minute_bars: pl.DataFrame) -> None:
    roots = _fresh(workdir, "ingest")
    written: list[Store] = []

    def setup() -> tuple[tuple[Store, pl.DataFrame], dict[str, object]]:
        written.append(Store(next(roots)))
        return (written[-1], minute_bars), {}

    def ingest(store: Store, frame: pl.DataFrame) -> None:
        store.write("bars", frame, check_order=True)

    benchmark.pedantic(ingest, setup=setup, rounds=3, iterations=1, warmup_rounds=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info["rows_per_second"] = minute_bars.height / median
    benchmark.extra_info["bytes"] = sum(p.stat().st_size for p in written[-1].files("bars"))
    for key in ("bare_write", "bare_write_store_level"):
        if key in RESULTS:
            benchmark.extra_info[f"ratio_to_{key}"] = median / RESULTS[key]
    print(
        f"\ningest: {minute_bars.height / median / 1e6:.2f}M rows/s, "
        f"{benchmark.extra_info.get('ratio_to_bare_write', float('nan')):.2f}x bare write, "
        f"{benchmark.extra_info.get('ratio_to_bare_write_store_level', float('nan')):.2f}x bare "
        f"write at the store's zstd level, {benchmark.extra_info['bytes'] / 1e6:.0f} MB"
    )


@pytest.mark.parametrize("utc", [False, True], ids=["default-settings", "timezone-utc"])
def test_bare_duckdb_hourly(benchmark, filled_store: Store, utc: bool) -> None:
    """The same query on a bare connection; houseedge's connections SET TimeZone = 'UTC',
    which DuckDB runs faster, so the stricter baseline sets it too."""
    glob = (filled_store.root / "bars" / "**" / "*.parquet").as_posix()
    source = (
        f"read_parquet('{glob}', hive_partitioning = true, "
        "hive_types = {'symbol': VARCHAR, 'year': INTEGER})"
    )
    query = HOURLY.format(source=source)

    def run() -> pl.DataFrame:
        connection = duckdb.connect()
        try:
            if utc:
                connection.execute("SET TimeZone = 'UTC'")
            return pl.from_arrow(connection.sql(query).to_arrow_table())  # type: ignore[return-value]
        finally:
            connection.close()

    result = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    key = "bare_duckdb_utc" if utc else "bare_duckdb"
    RESULTS[key] = benchmark.stats.stats.median
    RESULTS["bare_rows"] = result.height


def test_houseedge_sql_hourly(benchmark, filled_store: Store) -> None:
    def run() -> pl.DataFrame:
        return Store(filled_store.root).sql("SELECT * FROM ohlcv('1m', '1 hour')")

    result = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    assert result.height == RESULTS.get("bare_rows", result.height)
    for key in ("bare_duckdb", "bare_duckdb_utc"):
        if key in RESULTS:
            ratio = benchmark.stats.stats.median / RESULTS[key]
            benchmark.extra_info[f"ratio_to_{key}"] = ratio
            print(f"\nhouseedge sql hourly: {ratio:.3f}x {key}")


def test_scan_bytes_one_symbol_one_year(benchmark, workdir: Path) -> None:
    store = Store(workdir / "decade")
    hourly = synthetic_bars(
        SYMBOLS, periods=10 * 365 * 24, timeframe="1h", seed=3, start="2010-01-01"
    )
    store.write("bars", hourly)
    everything = store.files("bars")
    pruned = store.files("bars", symbols=["SYM03"], start="2015-01-01", end="2016-01-01")
    full_bytes = sum(p.stat().st_size for p in everything)
    read_bytes = sum(p.stat().st_size for p in pruned)
    frame = benchmark(
        lambda: store.scan(
            "bars", symbols=["SYM03"], start="2015-01-01", end="2016-01-01"
        ).collect()
    )
    assert frame.height == 365 * 24
    fraction = read_bytes / full_bytes
    benchmark.extra_info.update(
        files=len(pruned),
        of_files=len(everything),
        bytes=read_bytes,
        of_bytes=full_bytes,
        fraction=fraction,
    )
    print(f"\nscan one symbol-year: {read_bytes:,} of {full_bytes:,} bytes = 1/{1 / fraction:.0f}")
    assert fraction <= 1 / 20


def test_ingest_peak_memory(workdir: Path, minute_bars: pl.DataFrame) -> None:
    """Peak resident memory of an ingest in a fresh process, against the frame's size."""
    source = workdir / "bare.parquet"
    if not source.exists():
        minute_bars.write_parquet(source)
    script = textwrap.dedent(f"""
        import json, polars as pl
        from houseedge.data.store import Store
        def status(key):
            for line in open("/proc/self/status"):
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        frame = pl.read_parquet({str(source)!r})
        size = frame.estimated_size()
        before = status("VmRSS:")
        open("/proc/self/clear_refs", "w").write("5")  # reset the high-water mark
        Store({str(workdir / "memory")!r}).write("bars", frame, check_order=True)
        peak = status("VmHWM:")
        print(json.dumps({{"frame": size, "before": before, "peak": peak}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    figures = json.loads(done.stdout.splitlines()[-1])
    extra = (figures["peak"] - figures["before"]) / figures["frame"]
    total = figures["peak"] / figures["frame"]
    print(
        f"\ningest peak memory: +{extra:.2f}x the frame above what was resident "
        f"({total:.2f}x the frame for the whole process)"
    )
    assert extra <= 3
