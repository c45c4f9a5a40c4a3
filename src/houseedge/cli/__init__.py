"""The ``houseedge`` command line: ``main`` is the console script, ``app`` the Typer app."""

from houseedge.cli._app import app, main

__all__ = ["app", "main"]
