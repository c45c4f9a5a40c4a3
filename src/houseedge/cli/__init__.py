"""The ``houseedge`` command line."""

from houseedge.cli._app import main

__all__ = ["main"]
