"""Shared fixtures: the ../shared folder, a fresh store, and polling."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import structlog

from houseedge import logs

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REAL = SHARED / "data" / "real"
ORACLES = SHARED / "oracles" / "oracle_cases.json"

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo any logging configuration a test makes, so later tests see the run's quiet default.

    ``houseedge.logs.configure`` also raises the level of third-party wire loggers; those
    levels are restored too, or a later test that reads a library's DEBUG records would depend
    on test order.
    """
    saved = structlog.get_config()
    names = ("", *logs._WIRE_LOGGERS)
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    structlog.configure(**saved)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def real_data() -> Path:
    """Return ../shared/data/real, or skip when a fresh clone has no ../shared beside it."""
    if not REAL.is_dir():
        pytest.skip(f"real market data not found at {REAL} (../shared is absent in this clone)")
    return REAL


@pytest.fixture
def oracle_cases() -> Path:
    """Return ../shared/oracles/oracle_cases.json, or skip when it is absent."""
    if not ORACLES.is_file():
        pytest.skip(f"oracle cases not found at {ORACLES} (../shared is absent in this clone)")
    return ORACLES


def eventually(check: Callable[[], T], *, timeout: float = 5.0, interval: float = 0.01) -> T:
    """Poll ``check`` until it returns a truthy value or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"condition not met within {timeout}s"
            return value
        time.sleep(interval)
