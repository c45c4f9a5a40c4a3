"""The test run is an edge, like the CLI: it configures logging once, quietly.

Library code never configures logging (see :mod:`houseedge.logs`); without this, structlog's
defaults would print every info event to standard output, into doctests' expected output.
Tests that configure logging themselves are undone by ``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

from houseedge import logs


def pytest_configure(config: pytest.Config) -> None:
    """Send warnings and errors to standard error as console lines, as the CLI does."""
    logs.configure(level="WARNING", json=False)
