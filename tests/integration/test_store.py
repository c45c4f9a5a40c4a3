"""The Parquet store on real files: layout, idempotence, merging, atomicity, pruning, SQL."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow.dataset as pads
import pytest

from houseedge.data.store import Store, partitions
from houseedge.data.synthetic import synthetic_bars
from houseedge.errors import InvalidData, SchemaMismatch

DAY = 86_400 * 10**9


def make_bars(
    symbols: list[str], days: int, start_day: int = 0, price: float = 100.0
) -> pl.DataFrame:
    rows = [
        {
            "symbol": s,
            "timeframe": "1d",
            "ts": (start_day + d) * DAY,
            "open": price + d,
            "high": price + d + 2,
            "low": price + d - 1,
            "close": price + d + 1,
            "volume": 1000.0 + d,
        }
        for s in symbols
        for d in range(days)
    ]
    return pl.DataFrame(rows).with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def test_layout_is_hive_partitioned_and_readable_by_any_arrow_tool(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = make_bars(["AAPL", "BTC/USDT"], 800)  # 1970-1972: three years
    store.write("bars", bars)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == [
        f"bars/symbol={s}/year={y}/part-0.parquet"
        for s in ("AAPL", "BTC%2FUSDT")
        for y in (1970, 1971, 1972)
    ]
    table = pads.dataset(tmp_path / "bars", partitioning="hive").to_table()
    assert table.num_rows == bars.height
    assert set(table.column("symbol").to_pylist()) == {"AAPL", "BTC/USDT"}
    back = store.read("bars").select(bars.columns).sort("symbol", "ts")
    assert back.equals(bars.sort("symbol", "ts"))


def test_rewriting_the_same_rows_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bars = make_bars(["A", "B"], 50)
    first = store.write("bars", bars)
    before = snapshot(tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")}
    again = store.write("bars", bars.sample(fraction=1.0, shuffle=True, seed=1))
    assert (first.rows_added, again.rows_added) == (100, 0)
    assert again.partitions_changed == 0
    assert snapshot(tmp_path) == before
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")} == mtimes


def test_overlapping_ranges_merge_without_duplicates_and_new_rows_win(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A"], 30, start_day=0))
    revised = make_bars(["A"], 30, start_day=20, price=200.0)
    report = store.write("bars", revised)
    got = store.read("bars").sort("ts")
    assert report.rows_added == 20
    assert got.height == 50
    assert got["ts"].is_unique().all()
    assert (
        got.filter(pl.col("ts") >= pl.lit(20 * DAY).cast(pl.Datetime("ns", "UTC")))[
            "open"
        ].to_list()
        == revised["open"].to_list()
    )


def test_bad_rows_name_the_row_and_field_and_leave_the_store_as_it_was(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A"], 20))
    before = snapshot(tmp_path)
    bad = make_bars(["A"], 10, start_day=15).with_columns(
        close=pl.when(pl.int_range(pl.len()) == 4).then(float("nan")).otherwise(pl.col("close"))
    )
    with pytest.raises(InvalidData) as caught:
        store.write("bars", bad, source="feed.csv", row_base=2)
    assert (caught.value.source, caught.value.row, caught.value.field) == ("feed.csv", 6, "close")
    assert "feed.csv" in str(caught.value) and "row 6" in str(caught.value)
    assert snapshot(tmp_path) == before


def test_duplicate_keys_in_one_write_are_rejected_with_the_repeating_row(tmp_path: Path) -> None:
    bars = make_bars(["A"], 5)
    doubled = pl.concat([bars, bars.slice(3, 1)])
    with pytest.raises(InvalidData) as caught:
        Store(tmp_path).write("bars", doubled)
    assert caught.value.row == 5
    assert list(tmp_path.rglob("*.parquet")) == []


def test_missing_column_is_a_schema_mismatch(tmp_path: Path) -> None:
    with pytest.raises(SchemaMismatch, match="missing column 'volume'"):
        Store(tmp_path).write("bars", make_bars(["A"], 3).drop("volume"), source="x.csv")


def test_write_many_lands_all_datasets_or_none(tmp_path: Path) -> None:
    store = Store(tmp_path)
    good = make_bars(["A"], 5)
    bad_actions = pl.DataFrame({"symbol": ["A"], "ts": [0], "dividend": [-1.0], "split": [1.0]})
    with pytest.raises(InvalidData, match="dividend"):
        store.write_many([("bars", good), ("corporate_actions", bad_actions)])
    assert store.datasets() == []


def test_a_failure_while_staging_discards_every_staged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A", "B", "C"], 5))
    before = snapshot(tmp_path)
    real_stage = partitions.stage
    calls = {"n": 0}

    def failing_stage(frame: pl.DataFrame, target: Path, **options: int) -> partitions.StagedFile:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_stage(frame, target, **options)

    monkeypatch.setattr(partitions, "stage", failing_stage)
    with pytest.raises(OSError, match="disk full"):
        store.write("bars", make_bars(["A", "B", "C"], 5, price=300.0))
    assert snapshot(tmp_path) == before
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []


def test_a_writer_killed_mid_write_never_leaves_a_file_readers_see(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import polars as pl, numpy as np
        from houseedge import logs
        from houseedge.data.store import Store
        logs.configure(level="WARNING", json=False)  # a program's edge: stdout is the protocol
        store = Store({str(tmp_path)!r})
        n = 400_000
        for i in range(1000):
            close = 100 + np.random.default_rng(i).random(n)
            frame = pl.DataFrame({{"symbol": "S", "timeframe": "1m",
                "ts": np.arange(n, dtype=np.int64) * 60_000_000_000,
                "open": close, "high": close + 1, "low": close - 1, "close": close,
                "volume": 1.0}}).with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))
            store.write("bars", frame)
            print("written", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    visible = list(tmp_path.rglob("*.parquet"))
    assert visible
    for path in visible:
        assert pl.read_parquet(path).height == 400_000
    assert Store(tmp_path).read("bars").height == 400_000


def test_scan_prunes_partitions_and_filters_time_symbol_and_timeframe(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A", "B", "C"], 3 * 365))
    hourly = make_bars(["A"], 10).with_columns(timeframe=pl.lit("1h"))
    store.write("bars", hourly)
    files = store.files("bars", symbols=["B"], start="1971-01-01", end="1971-12-31")
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "bars/symbol=B/year=1971/part-0.parquet"
    ]
    got = store.read("bars", symbols=["B"], start="1971-01-01", end="1971-02-01", timeframe="1d")
    assert got.height == 31
    assert got["ts"].min().isoformat() == "1971-01-01T00:00:00+00:00"  # type: ignore[union-attr]
    assert store.read("bars", timeframe="1h").height == 10
    assert store.read("bars", symbols=["nope"]).height == 0
    whole_year = store.files("bars", symbols=["A"], start="1971-01-01", end="1972-01-01")
    assert [f.parent.name for f in whole_year] == ["year=1971"]


def test_optional_columns_present_in_some_files_are_null_elsewhere(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A"], 3).with_columns(adj_close=pl.col("close") / 2))
    store.write("bars", make_bars(["B"], 3))
    got = store.read("bars").sort("symbol")
    assert got["adj_close"].null_count() == 3
    assert got.filter(pl.col("symbol") == "A")["adj_close"].to_list() == [50.5, 51.0, 51.5]


def test_catalog_opens_in_a_plain_duckdb_connection(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A", "B"], 10))
    con = duckdb.connect(str(tmp_path / "catalog.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM bars").fetchone() == (20,)
        assert con.execute("SELECT count(*) FROM ohlcv('1d', '2 days')").fetchone() == (10,)
        assert con.execute("SELECT count(ret) FROM bar_returns").fetchone() == (18,)
    finally:
        con.close()


def test_new_datasets_appear_in_the_catalog(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A"], 2))
    actions = pl.DataFrame({"symbol": ["A"], "ts": [0], "dividend": [0.5], "split": [1.0]})
    store.write("corporate_actions", actions)
    con = duckdb.connect(str(tmp_path / "catalog.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT dividend FROM corporate_actions").fetchone() == (0.5,)
    finally:
        con.close()


def test_sql_ohlcv_macro_matches_polars_resample(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A", "B"], 40))
    by_sql = store.sql("SELECT * FROM ohlcv('1d', '7 days')").sort("symbol", "ts")
    by_polars = store.resample("7d", timeframe="1d").collect().sort("symbol", "ts")
    assert by_sql["close"].to_list() == by_polars["close"].to_list()
    assert by_sql["volume"].to_list() == by_polars["volume"].to_list()


def test_writes_go_on_while_the_catalog_is_held_open_elsewhere(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A"], 2))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(tmp_path / 'catalog.duckdb')!r}); "
            "print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        actions = pl.DataFrame({"symbol": ["A"], "ts": [0], "dividend": [0.5], "split": [1.0]})
        store.write("corporate_actions", actions)
        assert store.sql("SELECT count(*) AS n FROM corporate_actions")["n"][0] == 1
    finally:
        holder.communicate("")
    assert store.refresh_catalog()


def test_store_root_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOUSEEDGE_STORE", str(tmp_path / "env-store"))
    assert Store().root == (tmp_path / "env-store").absolute()
    assert os.fspath(Store(tmp_path).root) == os.fspath(tmp_path.absolute())


def test_datasets_keyed_by_strings_alone_write_and_merge(tmp_path: Path) -> None:
    from houseedge.data.schemas import DatasetSpec, register

    spec = register(
        DatasetSpec(
            name="test_notes",
            columns={"note_id": pl.String(), "text": pl.String()},
            key=("note_id",),
            partitions=(),
            time_column=None,
        )
    )
    store = Store(tmp_path)
    store.write(spec, pl.DataFrame({"note_id": ["b", "a"], "text": ["x", "y"]}))
    store.write(spec, pl.DataFrame({"note_id": ["c", "a"], "text": ["z", "y2"]}))
    got = store.read(spec).sort("note_id")
    assert got.rows() == [("a", "y2"), ("b", "x"), ("c", "z")]
    with pytest.raises(InvalidData, match="key repeats"):
        store.write(spec, pl.DataFrame({"note_id": ["d", "d"], "text": ["1", "2"]}))


def test_the_compression_level_trades_size_for_speed_and_never_changes_the_rows(
    tmp_path: Path,
) -> None:
    bars = synthetic_bars(["A", "B"], periods=20_000, timeframe="1m", seed=5)
    fast, small = Store(tmp_path / "fast"), Store(tmp_path / "small", compression_level=19)
    fast.write("bars", bars)
    small.write("bars", bars)
    assert fast.read("bars").equals(small.read("bars"))
    size = {s: sum(p.stat().st_size for p in s.files("bars")) for s in (fast, small)}
    assert size[small] < size[fast]


@pytest.mark.parametrize("level", [0, 23])
def test_a_compression_level_outside_zstds_range_is_refused(tmp_path: Path, level: int) -> None:
    with pytest.raises(ValueError, match="compression_level"):
        Store(tmp_path, compression_level=level)


def test_every_staged_file_is_flushed_before_the_write_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A"], 3))
    flushed: list[Path] = []
    real_flush, real_commit = partitions.flush, partitions.commit

    def recording_flush(staged: partitions.StagedFile) -> None:
        real_flush(staged)
        flushed.append(staged.temp)

    def checking_commit(staged: list[partitions.StagedFile]) -> None:
        assert sorted(s.temp for s in staged) == sorted(flushed)
        real_commit(staged)

    monkeypatch.setattr(partitions, "flush", recording_flush)
    monkeypatch.setattr(partitions, "commit", checking_commit)
    report = store.write("bars", make_bars(["A", "B", "C"], 5, price=300.0))
    assert report.partitions_changed == len(flushed) == 3


def test_a_failed_flush_discards_every_staged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.write("bars", make_bars(["A", "B", "C"], 5))
    before = snapshot(tmp_path)
    calls = {"n": 0}
    real_flush = partitions.flush

    def failing_flush(staged: partitions.StagedFile) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("I/O error")
        real_flush(staged)

    monkeypatch.setattr(partitions, "flush", failing_flush)
    with pytest.raises(OSError, match="I/O error"):
        store.write("bars", make_bars(["A", "B", "C"], 5, price=300.0))
    assert snapshot(tmp_path) == before
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []


def test_a_new_partitions_parent_folders_are_flushed_on_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new ``symbol=…/year=…`` folder is an entry in its parent: both must reach the disk."""
    store = Store(tmp_path)
    store.write("bars", make_bars(["A"], 3))
    synced: list[Path] = []
    real_fsync, real_open = partitions.os.fsync, partitions.os.open
    names: dict[int, Path] = {}

    def recording_open(path: Any, flags: int, *args: Any) -> int:
        fd = real_open(path, flags, *args)
        names[fd] = Path(path)
        return fd

    def recording_fsync(fd: int) -> None:
        real_fsync(fd)
        if fd in names:
            synced.append(names[fd])

    monkeypatch.setattr(partitions.os, "open", recording_open)
    monkeypatch.setattr(partitions.os, "fsync", recording_fsync)
    store.write("bars", make_bars(["B"], 3))
    new = next((tmp_path / "bars").glob("symbol=B/year=*"))
    assert {new, new.parent, tmp_path / "bars"} <= set(synced)
    assert next((tmp_path / "bars").glob("symbol=A/*")) not in synced, "untouched: no flush"
