"""``houseedge backtest``, ``report`` and ``runs`` as real processes on a store in tmp_path."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import SmaCross
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars
from houseedge.research.backtest import backtest
from houseedge.research.report import infer_periods_per_year
from houseedge.research.runs import list_runs, load_run, save_run


def run(
    *args: str, store: Path, cwd: Path | None = None, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "houseedge", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": str(columns)},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("research") / "store"
    bars = synthetic_bars(
        ["AAA", "BBB"], periods=400, timeframe="1d", start="2018-01-01", seed=3, session="equity"
    )
    Store(root).write("bars", bars)
    return root


def test_backtest_saves_the_run_the_library_would_save(store: Path, tmp_path: Path) -> None:
    args = "backtest sma_cross --param fast=5 -p slow=20 --symbols AAA,BBB --fee-bps 10"
    done = run(*args.split(), "--start", "2018-03-01", "--tag", "cli", store=store)
    assert done.returncode == 0, done.stderr
    run_id = re.search(r"run id: (\w+)", done.stdout).group(1)  # type: ignore[union-attr]
    assert "sharpe_ratio" in done.stdout and "max_drawdown" in done.stdout

    # the same backtest in-process is the same run: same definition, data and results
    target = Store(store)
    bars = target.read("bars", symbols=["AAA", "BBB"], start="2018-03-01", timeframe="1d")
    per_year = infer_periods_per_year(bars["ts"]) or 252.0
    costs = LinearCostModel(commission_bps=10, periods_per_year=per_year)
    result = backtest(bars, SmaCross(5, 20), costs=costs, periods_per_year=per_year)
    assert save_run(result, Store(tmp_path / "other"), bars=bars) == run_id

    stored = load_run(target, run_id)
    assert stored.run["tag"] == "cli" and stored.run["symbols"] == ["AAA", "BBB"]
    assert stored.run["timeframe"] == "1d" and stored.run["data_files"]
    assert stored.metrics["total_return"] == pytest.approx(result.metrics["total_return"])

    listed = run("runs", store=store)
    assert listed.returncode == 0 and run_id in listed.stdout
    assert "no runs stored match" in run("runs", "--policy", "ema_cross", store=store).stdout


def test_report_of_a_stored_run_is_one_self_contained_page(store: Path, tmp_path: Path) -> None:
    target = Store(store)
    bars = target.read("bars", symbols=["AAA"], timeframe="1d")
    run_id = save_run(backtest(bars, SmaCross(10, 40)), target, bars=bars)
    done = run("report", run_id, store=store, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = tmp_path / "reports" / f"{run_id}.html"
    html = page.read_text()
    assert run_id in html and "sma_cross" in html
    assert "<script" not in html and 'src="http' not in html and "<link" not in html
    assert "data:image/png;base64," in html
    assert (tmp_path / "reports" / f"{run_id}_equity.png").exists()
    chosen = tmp_path / "elsewhere" / "r.html"
    assert run("report", run_id, "--output", str(chosen), store=store).returncode == 0
    assert chosen.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "nope", "-s", "AAA"], "unknown policy 'nope'"),
        (["backtest", "sma_cross", "-s", "AAA", "-p", "fastt=5"], "did you mean 'fast'"),
        (["backtest", "sma_cross", "-s", "AAA", "-p", "fast=ten", "-p", "slow=5"], "valid int"),
        (["backtest", "sma_cross", "-s", "AAA", "-p", "fast=5"], "missing required parameter slow"),
        (["backtest", "sma_cross", "-s", "ZZZ", "-p", "fast=5", "-p", "slow=9"], "no 1d bars"),
        (["backtest", "buy_and_hold", "-s", "AAA", "--sizing", "half"], "--sizing 'half'"),
        (["report", "0123456789abcdef"], "no run '0123456789abcdef'"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(
    store: Path, args: list[str], message: str
) -> None:
    before = len(list_runs(Store(store)))
    done = run(*args, store=store)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert len(list_runs(Store(store))) == before


def test_the_demo_research_tour_saves_runs_once_and_writes_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.console import Console

    from houseedge.cli.demo import DAILY, SWEEP, research_tour

    store = Store(tmp_path / "store")
    store.write("bars", synthetic_bars(list(DAILY), periods=300, timeframe="1d", seed=2))
    console = Console(file=open(tmp_path / "out.txt", "w"), width=200)  # noqa: SIM115
    page = research_tour(store, console, reports=tmp_path / "reports")
    assert page.exists() and list_runs(store, tag="demo").height == len(SWEEP)
    state = {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*.parquet")}
    research_tour(store, console, reports=tmp_path / "reports")
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*.parquet")} == state
    console.file.close()
    assert "ORDER BY sharpe_ratio DESC" in (tmp_path / "out.txt").read_text()
    assert "sma_cross runs by Sharpe ratio" in capsys.readouterr().out


@pytest.fixture
def prefixed(tmp_path: Path) -> tuple[Path, list[str]]:
    """Return a store holding three runs, two of whose ids share the prefix 'abc'."""
    root = tmp_path / "store"
    target = Store(root)
    bars = synthetic_bars(["AAA"], periods=120, timeframe="1d", seed=5)
    target.write("bars", bars)
    ids = [
        save_run(backtest(bars, SmaCross(fast, 30)), target, bars=bars, run_id=run_id)
        for fast, run_id in ((5, "abc1230000000001"), (10, "abc4560000000002"), (15, None))
    ]
    return root, ids


def test_report_takes_a_unique_prefix_of_a_run_id(
    prefixed: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, ids = prefixed
    done = run("report", "abc1", store=root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = tmp_path / "reports" / f"{ids[0]}.html"
    assert page.exists() and ids[0] in page.read_text()
    whole = run("report", ids[2], "-o", str(tmp_path / "whole.html"), store=root)
    assert whole.returncode == 0, whole.stderr
    assert ids[2] in (tmp_path / "whole.html").read_text()


@pytest.mark.parametrize(
    ("prefix", "messages"),
    [
        ("abc", ["ambiguous", "abc1230000000001", "abc4560000000002"]),
        ("fff0", ["no run 'fff0'", "no run matches"]),
        (" ", ["expected a run id or a unique prefix"]),
    ],
)
def test_an_ambiguous_or_unknown_prefix_is_one_line_and_exit_status_2(
    prefixed: tuple[Path, list[str]], tmp_path: Path, prefix: str, messages: list[str]
) -> None:
    done = run("report", prefix, store=prefixed[0], cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert all(m in done.stderr for m in messages), done.stderr
    assert not (tmp_path / "reports").exists()


def test_resolve_run_id_finds_the_one_id_a_prefix_starts(
    prefixed: tuple[Path, list[str]], tmp_path: Path
) -> None:
    from houseedge.cli._common import resolve_run_id
    from houseedge.errors import ConfigError, DatasetNotFound

    root, ids = prefixed
    target = Store(root)
    assert resolve_run_id(target, "abc4") == ids[1]
    assert resolve_run_id(target, ids[2]) == ids[2]
    assert resolve_run_id(target, f" {ids[0][:6]} ") == ids[0]
    with pytest.raises(ConfigError, match=r"'abc' is ambiguous: it matches abc1.*, abc4"):
        resolve_run_id(target, "abc")
    with pytest.raises(DatasetNotFound, match="no run matches"):
        resolve_run_id(target, "x'y")  # a quote cannot break the query
    with pytest.raises(DatasetNotFound, match="no run matches"):
        resolve_run_id(Store(tmp_path / "empty"), "abc")


def test_run_ids_are_whole_on_an_80_column_terminal(prefixed: tuple[Path, list[str]]) -> None:
    root, ids = prefixed
    listed = run("runs", store=root, columns=80)
    assert listed.returncode == 0, listed.stderr
    assert all(run_id in listed.stdout for run_id in ids), listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80
    # Whole columns or none: the headline metrics show, the rest are named as left out.
    header = next(line for line in listed.stdout.splitlines() if "run_id" in line)
    assert all(f" {name} " in header for name in ("policy", "sharpe", "trades")), header
    assert "…" not in header and "columns left out at this width: " in listed.stdout
    wide = run("runs", store=root, columns=250)
    assert "params" in wide.stdout and "left out" not in wide.stdout, wide.stdout

    grid = ["-g", "fast=3,4,6", "-g", "slow=20,25", "-s", "AAA", "--save"]
    swept = run("sweep", "sma_cross", *grid, "--tag", "narrow", store=root, columns=80)
    assert swept.returncode == 0, swept.stderr
    saved = list_runs(Store(root), tag="narrow").get_column("run_id").to_list()
    assert len(saved) == 6 and all(run_id in swept.stdout for run_id in saved), swept.stdout

    windows = ["--is", "60", "--oos", "30", "--save", "--tag", "wf"]
    walked = run("walkforward", "sma_cross", *grid[:-1], *windows, store=root, columns=80)
    assert walked.returncode == 0, walked.stderr
    oos = Store(root).sql("SELECT run_id FROM runs WHERE tag LIKE 'wf:%:oos'")["run_id"]
    assert oos.len() >= 1 and all(run_id in walked.stdout for run_id in oos), walked.stdout
