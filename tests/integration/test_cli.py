"""The houseedge command line, run as a real process on a store in tmp_path."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
from typer.core import TyperGroup

from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars


def houseedge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "houseedge", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def run(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return houseedge(*args, "--store", str(store))


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
    formats = houseedge("formats")
    assert formats.returncode == 0, formats.stderr
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


def test_version_prints_the_package_version_and_exits_0() -> None:
    from houseedge import __version__

    shown = houseedge("--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"houseedge {__version__}"


def test_datasets_counts_every_dataset_on_disk(tmp_path: Path) -> None:
    from houseedge.core.policies.builtin import SmaCross
    from houseedge.research.backtest import backtest
    from houseedge.research.runs import save_run
    from houseedge.research.simulation import BinaryBet, simulate

    store = Store(tmp_path / "store")
    bars = synthetic_bars(["AAA"], periods=60, timeframe="1d", seed=4)
    store.write("bars", bars)
    save_run(backtest(bars, SmaCross(3, 10)), store, bars=bars)
    simulate(BinaryBet(p=0.55, payoff=1.0, n_steps=8), n_paths=5, seed=1).save(
        store, keep_paths=True
    )
    names = store.datasets()
    assert {"bars", "runs", "run_metrics", "run_equity", "mc_runs", "mc_summary", "mc_paths"} <= {
        *names
    }
    expected = {n: store.sql(f'SELECT count(*) AS n FROM "{n}"').item() for n in names}  # noqa: S608
    assert expected["mc_paths"] == 5 * 8 and expected["runs"] == 1

    listed = run("datasets", store=store.root)
    assert listed.returncode == 0, listed.stderr
    rows = {
        cells[0]: cells[1]
        for line in listed.stdout.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 2
    }
    assert rows == {n: f"{count:,}" for n, count in expected.items()}


def _commands(group: TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, TyperGroup):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_help_is_plain_text_without_rest_markup() -> None:
    from typer.main import get_command
    from typer.testing import CliRunner

    from houseedge.cli import app

    root = get_command(app)
    assert isinstance(root, TyperGroup)
    paths = _commands(root)
    assert ("live", "run") in paths and ("backtest",) in paths and ("alpaca", "ingest") in paths
    for path in paths:
        shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert shown.exit_code == 0, (path, shown.output)
        assert "Usage" in shown.output
        for markup in ("``", ":func:", ":class:", ":mod:", ":meth:", ":attr:"):
            assert markup not in shown.output, (path, markup, shown.output)


def test_the_cli_package_is_a_tree() -> None:
    """Groups import only the shared modules of the package; nobody imports private names."""
    import houseedge.cli

    folder = Path(houseedge.cli.__file__).parent
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text())
        modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        ours = {m for m in modules if m.startswith("houseedge.cli")}
        shared = {"houseedge.cli._common", "houseedge.cli._venue"}  # options, printing, venues
        if f"houseedge.cli.{path.stem}" in shared:
            assert not ours, path
        elif path.stem not in ("__init__", "_app"):
            assert ours <= shared, (path, ours)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not [p for p in private if not p.startswith("__")], (path, private)
                outside = node.module and not node.module.startswith("houseedge.cli")
                assert not (outside and "._" in node.module), (path, node.module)  # type: ignore[operator]


def test_importing_the_cli_leaves_the_store_and_duckdb_for_later() -> None:
    """``houseedge --help`` stays fast: the store, DuckDB and research load inside commands."""
    heavy = ("duckdb", "houseedge.data.store", "houseedge.research.backtest")
    code = f"import sys, houseedge.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
