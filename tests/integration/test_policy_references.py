"""Policies by reference: a class in a temporary .py file backtests, sweeps and runs from the CLI
and the service config, with errors naming the reference and what went wrong.

Real parts: the ``houseedge`` CLI as a process on a store in tmp_path, the process executor
(the file's class pickled into spawned workers), the run datasets, the live settings.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from houseedge.app.references import build, resolve
from houseedge.app.settings import LiveSettings
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars
from houseedge.errors import ConfigError, PolicyError
from houseedge.research.runs import load_run

MOMENTUM = '''
from dataclasses import dataclass
from typing import Literal

import polars as pl


@dataclass(frozen=True)
class Momentum:
    """Long (or short) while the close is above (below) the close ``lookback`` bars ago."""

    lookback: int = 10
    mode: Literal["long_only", "long_short"] = "long_only"

    @property
    def name(self) -> str:
        return "momentum"

    @property
    def warmup(self) -> int:
        return self.lookback

    def params(self) -> dict[str, object]:
        return {"lookback": self.lookback, "mode": self.mode}

    def target(self) -> pl.Expr:
        change = pl.col("close") / pl.col("close").shift(self.lookback) - 1.0
        low = -1.0 if self.mode == "long_short" else 0.0
        return pl.when(change > 0).then(1.0).when(change < 0).then(low).otherwise(0.0)


class BuyOnce:
    """Buy ``qty`` of every symbol once, then hold: an order policy."""

    name = "buy_once"

    def __init__(self, qty: float = 10.0) -> None:
        self.qty = qty

    def params(self) -> dict[str, object]:
        return {"qty": self.qty}

    def decide(self, portfolio, snapshot, context):
        return [
            context.order(symbol, "buy", self.qty)
            for symbol in snapshot.bars
            if not portfolio.qty(symbol) and not context.open_orders(symbol)
        ]


class NotAPolicy:
    def params(self) -> dict[str, object]:
        return {}
'''


def write_policies(folder: Path, extra: str = "") -> Path:
    path = folder / "strat.py"
    path.write_text(MOMENTUM + extra)
    return path


def run(*args: str, store: Path | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    where = ["--store", str(store)] if store is not None else []
    return subprocess.run(
        [sys.executable, "-m", "houseedge", *args, *where],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def run_id_of(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return re.search(r"run id: (\w+)", done.stdout).group(1)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("references") / "store"
    bars = synthetic_bars(["AAA", "BBB"], periods=300, timeframe="1d", seed=5)
    Store(root).write("bars", bars)
    return root


def test_a_file_policy_backtests_from_the_cli_and_records_its_code(
    store: Path, tmp_path: Path
) -> None:
    path = write_policies(tmp_path)
    args = ("backtest", "strat.py:Momentum", "-p", "lookback=15", "-s", "AAA,BBB")
    run_id = run_id_of(run(*args, store=store, cwd=tmp_path))
    record = load_run(Store(store), run_id)
    assert record.run["policy"] == "momentum"
    assert record.run["policy_reference"] == "strat.py:Momentum"
    assert record.run["policy_source"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.metrics["trades"] > 0
    # the same file unchanged is the same run
    assert run_id_of(run(*args, store=store, cwd=tmp_path)) == run_id


def test_the_same_file_edited_is_a_different_run(store: Path, tmp_path: Path) -> None:
    write_policies(tmp_path)
    args = ("backtest", "strat.py:Momentum", "-s", "AAA")
    first = run_id_of(run(*args, store=store, cwd=tmp_path))
    write_policies(tmp_path, extra="\n# a comment changes the source, not the trades\n")
    second = run_id_of(run(*args, store=store, cwd=tmp_path))
    assert first != second
    runs = {r: load_run(Store(store), r).run for r in (first, second)}
    assert runs[first]["policy_source"] != runs[second]["policy_source"]
    assert runs[first]["config_id"] != runs[second]["config_id"]


def test_an_order_policy_file_runs_in_the_event_driven_backtest(
    store: Path, tmp_path: Path
) -> None:
    write_policies(tmp_path)
    args = ("backtest", "strat.py:BuyOnce", "-p", "qty=3", "-s", "AAA,BBB")
    record = load_run(Store(store), run_id_of(run(*args, store=store, cwd=tmp_path)))
    assert record.run["execution"] == "events"
    assert record.run["policy_reference"] == "strat.py:BuyOnce"
    assert sorted(record.orders.select("symbol", "qty").rows()) == [("AAA", 3.0), ("BBB", 3.0)]


def test_a_file_policy_sweeps_in_worker_processes(store: Path, tmp_path: Path) -> None:
    write_policies(tmp_path)
    args = ("sweep", "strat.py:Momentum", "-g", "lookback=5,10,20", "-s", "AAA", "--save")
    done = run(*args, "--executor", "process", "--workers", "2", store=store, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "saved 3 runs" in done.stdout
    stored = Store(store).sql(
        "SELECT DISTINCT policy_reference FROM runs WHERE params LIKE '%lookback%'"
    )
    assert stored.get_column("policy_reference").to_list() == ["strat.py:Momentum"]


def test_a_file_policy_walks_forward(store: Path, tmp_path: Path) -> None:
    write_policies(tmp_path)
    args = ("walkforward", "strat.py:Momentum", "-g", "lookback=5,10", "-s", "AAA")
    done = run(*args, "--is", "100", "--oos", "50", store=store, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "strat.py:Momentum walk-forward" in done.stdout


def test_sizer_and_cost_model_by_reference_on_the_cli(store: Path, tmp_path: Path) -> None:
    write_policies(tmp_path)
    args = ["backtest", "strat.py:Momentum", "-s", "AAA", "--sizer", "fixed_units"]
    args += ["--sizer-param", "units=7", "--cost-model", "houseedge.core.costs:LinearCostModel"]
    args += ["--cost-param", "commission_bps=5"]
    run_ = load_run(Store(store), run_id_of(run(*args, store=store, cwd=tmp_path))).run
    assert (run_["sizing"], run_["costs"]) == ("fixed_units", "linear")
    assert '"units":7.0' in run_["sizing_params"]
    assert '"commission_bps":5.0' in run_["costs_params"]
    bad = run(*args[:-1], "commision_bps=5", store=store, cwd=tmp_path)
    assert bad.returncode == 2 and "did you mean 'commission_bps'" in bad.stderr


def test_a_bad_reference_on_the_cli_is_one_line_and_status_2(store: Path, tmp_path: Path) -> None:
    done = run("backtest", "missing.py:Trend", "-s", "AAA", store=store, cwd=tmp_path)
    assert done.returncode == 2
    assert "missing.py:Trend: no such file" in done.stderr and "Traceback" not in done.stderr


def test_policies_lists_built_ins_and_shows_a_reference(store: Path, tmp_path: Path) -> None:
    write_policies(tmp_path)
    listing = run("policies", store=None, cwd=tmp_path)
    assert "sma_cross (vector): fast: int, slow: int" in listing.stdout
    shown = run("policies", "strat.py:Momentum", store=None, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"lookback\s+.*int\s+.*10", shown.stdout)
    assert "Literal['long_only', 'long_short']" in shown.stdout


# -- one error each --------------------------------------------------------------------------


def test_error_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope\.py:X: no such file .*nope\.py"):
        resolve(f"{tmp_path}/nope.py:X")


def test_error_no_such_class_lists_the_classes(tmp_path: Path) -> None:
    path = write_policies(tmp_path)
    with pytest.raises(PolicyError, match=r"no class 'Momentun' there \(classes: BuyOnce, Mom"):
        resolve(f"{path}:Momentun")


def test_error_import_failure_names_the_exception_and_its_last_frame(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("import math\n\n\ndef f():\n    return 1 / 0\n\n\nf()\n")
    with pytest.raises(PolicyError, match=r"import failed: ZeroDivisionError: .*broken\.py:5 in f"):
        resolve(f"{path}:X")


def test_error_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.py"
    path.write_text("class X:\n    def (self):\n")
    with pytest.raises(PolicyError, match=r"import failed: SyntaxError: .*typo\.py:2"):
        resolve(f"{path}:X")


def test_error_unknown_module() -> None:
    with pytest.raises(PolicyError, match=r"nosuchpackage\.mod:X: no module named 'nosuchpackage'"):
        resolve("nosuchpackage.mod:X")


def test_error_not_a_policy_names_the_missing_members(tmp_path: Path) -> None:
    path = write_policies(tmp_path)
    expected = (
        r"NotAPolicy is not a policy: expected VectorPolicy \(missing name, warmup, target\) "
        r"or OrderPolicy \(missing name, decide\)"
    )
    with pytest.raises(PolicyError, match=expected):
        resolve(f"{path}:NotAPolicy")


def test_error_unknown_parameter_names_the_nearest(tmp_path: Path) -> None:
    path = write_policies(tmp_path)
    with pytest.raises(PolicyError, match=r"unknown parameter 'lookbak'; did you mean 'lookback'"):
        build(f"{path}:Momentum", ["lookbak=5"])


def test_error_missing_required_parameter() -> None:
    with pytest.raises(PolicyError, match=r"sma_cross: missing required parameter slow"):
        build("sma_cross", {"fast": 5})


def test_error_wrong_type_from_a_string_and_from_a_config(tmp_path: Path) -> None:
    path = write_policies(tmp_path)
    with pytest.raises(PolicyError, match=r"lookback='ten' is not a valid int"):
        build(f"{path}:Momentum", ["lookback=ten"])
    with pytest.raises(PolicyError, match=r"lookback=2\.5 is not a valid int"):
        build(f"{path}:Momentum", {"lookback": 2.5})
    with pytest.raises(PolicyError, match=r"mode='both' is not one of long_only, long_short"):
        build(f"{path}:Momentum", {"mode": "both"})


def test_error_bad_sizer_reference() -> None:
    with pytest.raises(ConfigError, match=r"unknown sizer 'kelly'; built-in: fixed_fraction"):
        build("kelly", {}, "sizer")


# -- the service config ----------------------------------------------------------------------


def test_service_config_takes_a_file_reference_and_checks_its_params(tmp_path: Path) -> None:
    path = write_policies(tmp_path)
    table = {"name": "mom", "policy": f"{path}:Momentum", "params": {"lookback": 7}}
    sizer = {
        "sizer": "houseedge.core.sizing.sizers:FixedFraction",
        "sizer_params": {"fraction": 0.5},
    }
    specs = LiveSettings(policies=[table | sizer]).policy_specs()
    assert specs[0].policy.params() == {"lookback": 7, "mode": "long_only"}
    assert specs[0].sizer.params() == {"fraction": 0.5, "whole_units": False}
    old = {"name": "sma", "kind": "sma_cross", "params": {"fast": 5, "slow": 20}}
    assert LiveSettings(policies=[old]).policy_specs()[0].policy.name == "sma_cross"
    bad = table | {"params": {"lookbak": 7}}
    with pytest.raises(ConfigError, match=r"policy 'mom': .*did you mean 'lookback'"):
        LiveSettings(policies=[bad]).policy_specs()


def test_service_config_loads_a_policy_reference_from_toml(tmp_path: Path) -> None:
    path = write_policies(tmp_path)
    config = tmp_path / "live.toml"
    config.write_text(
        f'[[policies]]\nname = "mom"\npolicy = "{path}:Momentum"\nparams = {{ lookback = 9 }}\n'
    )
    settings = LiveSettings.load(config)
    assert settings.policies[0].reference == f"{path}:Momentum"
    assert settings.policy_specs()[0].policy.params()["lookback"] == 9


def test_service_config_needs_one_of_policy_and_kind_and_kind_names_built_ins() -> None:
    with pytest.raises(ValueError, match=r"policy 'a': give policy = '<reference>'"):
        LiveSettings(policies=[{"name": "a", "policy": "sma_cross", "kind": "sma_cross"}])
    with pytest.raises(ValueError, match=r"policy 'a': give policy = '<reference>'"):
        LiveSettings(policies=[{"name": "a"}])
    with pytest.raises(ValueError, match=r"kind 'x.py:Y' names built-ins only: use policy"):
        LiveSettings(policies=[{"name": "a", "kind": "x.py:Y"}])
