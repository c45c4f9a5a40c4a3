"""The test run is an edge, like the CLI: it configures logging once, quietly.

Library code never configures logging (see :mod:`houseedge.logs`), and its loggers are quiet
until a program configures structlog; the test run configures it as the CLI does, so tests that
read log events see the same rendering. Tests that configure logging themselves are undone by
``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

from houseedge import logs


def pytest_configure(config: pytest.Config) -> None:
    """Send warnings and errors to standard error as console lines, as the CLI does."""
    logs.configure(level="WARNING", json=False)
