"""Logging is configured only at the edges: a library user's process keeps its own logging.

Each check runs in a fresh interpreter, so no earlier test (nor the test run's own quiet
configuration, see the root conftest) can hide a configuration made at import or construction.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LIBRARY_USE = """
import asyncio, logging, pathlib, sys, tempfile
import structlog

wire = ("websockets", "binance", "alpaca", "ib_async", "aiohttp.client")
before = (logging.getLogger().handlers[:], logging.getLogger().level,
          [logging.getLogger(n).level for n in wire])

import houseedge
from houseedge.core.policies.builtin import SmaCross
from houseedge.core.types import Bar
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.paper import PaperBroker
from houseedge.live.service import Service, ServiceSettings

folder = pathlib.Path(tempfile.mkdtemp())
Store(folder / "store").write("bars", synthetic_bars(["X"], periods=5))
bars = [Bar(symbol="X", timeframe="1d", ts=i, open=1.0, high=1.0, low=1.0, close=1.0,
            volume=1.0) for i in range(3)]
engine = Engine(broker=PaperBroker(), feed=IterableFeed(bars),
                policies=[PolicySpec("sma", SmaCross(1, 2), ["X"])], journal=folder / "j.db")
Service(engine, ServiceSettings(port=0))

after = (logging.getLogger().handlers[:], logging.getLogger().level,
         [logging.getLogger(n).level for n in wire])
print(structlog.is_configured(), before == after)
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_and_building_the_library_leaves_logging_unconfigured() -> None:
    result = _python(LIBRARY_USE)
    assert result.returncode == 0, result.stderr
    # structlog.is_configured() false; stdlib root handlers/levels and wire loggers untouched;
    # and the store's info event printed nothing (houseedge's loggers are quiet until configured).
    assert result.stdout.split() == ["False", "True"]


def test_the_service_edge_logs_json_without_frame_locals() -> None:
    """``houseedge live run`` configures as below (cli.live): JSON lines, no frame locals."""
    code = """
    import sys, structlog
    from houseedge import logs
    from houseedge.config import Settings

    logs.configure(level=Settings().log_level, json=True)
    log = structlog.get_logger("houseedge.live.service")
    log.info("service_started", host="127.0.0.1", port=0)
    secret = "s3cr3t-api-key"
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("service_failed")
    """
    result = _python(code)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [r["event"] for r in records] == ["service_started", "service_failed"]
    assert records[0]["level"] == "info" and "timestamp" in records[0]
    assert "s3cr3t-api-key" not in result.stderr


def test_the_cli_edge_configures_logging() -> None:
    """``houseedge`` (its ``main``) configures once: warnings as console lines on stderr."""
    code = """
    import sys, structlog
    from houseedge.cli import main

    sys.argv = ["houseedge", "--help"]
    try:
        main()
    except SystemExit:
        pass
    print(structlog.is_configured(), file=sys.stdout)
    """
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


QUIET_LIBRARY = """
import pathlib, tempfile
from houseedge import logs
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars

Store(pathlib.Path(tempfile.mkdtemp()) / "store").write("bars", synthetic_bars(["X"], periods=5))
logs.get_logger("houseedge.example", broker="paper").warning("feed_stale", symbol="X")
"""


def test_an_unconfigured_library_prints_only_warnings_and_only_to_stderr() -> None:
    """Writing a dataset logs at info: silent; a warning is one console line on stderr."""
    result = _python(QUIET_LIBRARY)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "[warning" in lines[0] and "feed_stale" in lines[0] and "broker=paper" in lines[0]
    assert "dataset_written" not in result.stderr
