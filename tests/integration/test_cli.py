"""The houseedge command line, run as a real process on a store in tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

from houseedge.data.store._store import Store
from houseedge.data.synthetic._market import synthetic_bars


def run(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "houseedge", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def test_sql_prints_a_table_and_exports_csv_json_and_parquet(tmp_path: Path) -> None:
    store = tmp_path / "store"
    Store(store).write("bars", synthetic_bars(["AAA", "BBB"], periods=50, timeframe="1h"))
    query = "SELECT symbol, count(*) AS n FROM bars GROUP BY symbol ORDER BY symbol"
    shown = run("sql", query, store=store)
    assert shown.returncode == 0, shown.stderr
    assert "AAA" in shown.stdout and "50" in shown.stdout
    as_csv = run("sql", query, "--format", "csv", store=store)
    assert as_csv.stdout.splitlines() == ["symbol,n", "AAA,50", "BBB,50"]
    as_json = run("sql", query, "--format", "json", store=store)
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [
        {"symbol": "AAA", "n": 50},
        {"symbol": "BBB", "n": 50},
    ]
    out = tmp_path / "out.parquet"
    assert run("sql", query, "--format", "parquet", "-o", str(out), store=store).returncode == 0
    assert pl.read_parquet(out)["n"].to_list() == [50, 50]


def test_a_bad_query_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    Store(tmp_path).write("bars", synthetic_bars(["AAA"], periods=3))
    failed = run("sql", "SELECT nope FROM bars", store=tmp_path)
    assert failed.returncode == 2
    assert "query failed" in failed.stderr and "nope" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_ingest_then_query_and_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    good = tmp_path / "XYZ.csv"
    good.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-02,10,11,9,10.5,10.4,100\n2020-01-03,10.5,12,10,11,10.9,200\n"
    )
    done = run("ingest", str(good), "--format", "yahoo", store=store)
    assert done.returncode == 0, done.stderr
    assert "+2 rows" in done.stdout
    before = sorted(p.stat().st_mtime_ns for p in store.rglob("*.parquet"))
    bad = tmp_path / "XYZ2.csv"
    bad.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-06,10,11,9,10.5,10.4,100\n2020-01-07,10.5,9,10,11,10.9,200\n"
    )
    failed = run("ingest", str(bad), "--format", "yahoo", "--symbol", "XYZ", store=store)
    assert failed.returncode == 2
    assert str(bad) in failed.stderr and "row 3" in failed.stderr and "High" in failed.stderr
    assert sorted(p.stat().st_mtime_ns for p in store.rglob("*.parquet")) == before
    counted = run("sql", "SELECT count(*) AS n FROM bars", "--format", "csv", store=store)
    assert counted.stdout.splitlines() == ["n", "2"]


def test_datasets_and_formats_list_what_exists(tmp_path: Path) -> None:
    Store(tmp_path).write("bars", synthetic_bars(["AAA"], periods=7))
    listed = run("datasets", store=tmp_path)
    assert "bars" in listed.stdout and "7" in listed.stdout
    formats = subprocess.run(
        [sys.executable, "-m", "houseedge", "formats"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"COLUMNS": "200"},
    )
    for name in ("yahoo", "zipline_csvdir", "binance_trades", "truefx", "freqtrade"):
        assert name in formats.stdout


def test_ingest_a_folder_imports_each_file(tmp_path: Path) -> None:
    folder = tmp_path / "csvdir"
    folder.mkdir()
    for symbol, price in (("AAA", 10), ("BBB", 20)):
        (folder / f"{symbol}.csv").write_text(
            "date,open,high,low,close,volume,dividend,split\n"
            f"2020-01-02,{price},{price + 1},{price - 1},{price},100,0.0,1.0\n"
            f"2020-01-03,{price},{price + 1},{price - 1},{price},100,0.5,1.0\n"
        )
    store = tmp_path / "store"
    done = run("ingest", str(folder), store=store)
    assert done.returncode == 0, done.stderr
    counted = run(
        "sql",
        "SELECT symbol, count(*) AS n FROM bars GROUP BY ALL ORDER BY 1",
        "--format",
        "csv",
        store=store,
    )
    assert counted.stdout.splitlines() == ["symbol,n", "AAA,2", "BBB,2"]
    actions = run(
        "sql", "SELECT count(*) AS n FROM corporate_actions", "--format", "csv", store=store
    )
    assert actions.stdout.splitlines() == ["n", "2"]
