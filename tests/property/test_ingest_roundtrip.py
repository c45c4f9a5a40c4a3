"""Any valid daily bars written as a Yahoo CSV, in either column order, read back unchanged."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.data.ingest import read_file

price = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def daily_bars(draw: st.DrawFn) -> list[tuple[date, float, float, float, float, float, int]]:
    start = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1)))
    rows = []
    day = start
    for _ in range(draw(st.integers(2, 30))):
        o, c, a = draw(price), draw(price), draw(price)
        high = max(o, c) + draw(st.floats(0, 10))
        low = min(o, c) * draw(st.floats(0.5, 1))
        rows.append((day, o, high, low, c, a, draw(st.integers(0, 10**9))))
        day += timedelta(days=1)
    return rows


@settings(max_examples=25, deadline=None)
@given(rows=daily_bars(), adj_last=st.booleans())
def test_yahoo_csv_round_trips(
    rows: list[tuple[date, float, float, float, float, float, int]], adj_last: bool
) -> None:
    header = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
    order = [0, 1, 2, 3, 4, 6, 5] if adj_last else list(range(7))
    lines = [",".join(header[i] for i in order)]
    lines += [",".join((r[0].isoformat(), *map(repr, r[1:]))[i] for i in order) for r in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "SYM.csv"
        path.write_text("\n".join(lines) + "\n")
        bars = read_file(path)[0].frame
    assert bars["timeframe"].unique().to_list() == ["1d"]
    got = bars.select("ts", "open", "high", "low", "close", "adj_close", "volume").rows()
    expected = [
        (datetime(d.year, d.month, d.day, tzinfo=UTC), o, h, low, c, a, float(v))
        for d, o, h, low, c, a, v in rows
    ]
    assert got == expected
