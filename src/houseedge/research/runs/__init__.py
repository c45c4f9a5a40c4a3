"""Backtest runs as data: saving, loading and content-addressed run ids."""

from houseedge.research.runs._runs import (
    RunRecord,
    bars_fingerprint,
    code_version,
    frame_digest,
    list_runs,
    load_run,
    save_run,
    save_runs,
)

__all__ = [
    "RunRecord",
    "bars_fingerprint",
    "code_version",
    "frame_digest",
    "list_runs",
    "load_run",
    "save_run",
    "save_runs",
]
