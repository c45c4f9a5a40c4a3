"""The README's Python tour runs as written, on the store `make demo` builds (no ../shared)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from houseedge.cli.demo import run_demo
from houseedge.data.store import Store

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_blocks() -> None:
    assert len(python_blocks()) >= 3


def test_python_tour_runs_in_order_on_the_demo_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run_demo(Store(tmp_path / "data" / "store"), include_real=False)
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(python_blocks(), start=1):
        code = compile(block, f"README.md python block {number}", "exec")
        exec(code, namespace)  # noqa: S102 - the README's own code, run as a user would
    assert (tmp_path / "reports" / "sma.html").is_file()
    assert (tmp_path / "reports" / "growth.png").is_file()
    runs = Store(tmp_path / "data" / "store").sql("SELECT count(*) AS n FROM runs")
    assert runs["n"][0] >= 1
