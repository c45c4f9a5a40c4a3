"""The demo's live session: engine, service and a real SSE client on 127.0.0.1."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from houseedge.app.demo import FILLS_SHOWN, run_live_session
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars


def test_the_live_session_streams_fills_over_sse(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.write(
        "bars",
        synthetic_bars(
            ["SYNA", "SYNB"],
            periods=400,
            timeframe="1d",
            start="2023-01-01",
            seed=11,
            session="equity",
        ),
    )
    out = io.StringIO()
    run_live_session(store, Console(file=out, width=200))
    lines = [line for line in out.getvalue().splitlines() if "SSE id" in line]
    assert len(lines) == FILLS_SHOWN
    ids = [int(line.split()[2]) for line in lines]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert [line.split()[4] for line in lines] == [f"paper-{n}" for n in range(1, FILLS_SHOWN + 1)]
    assert "http://127.0.0.1:" in out.getvalue()
