"""Exporting a live journal to the Parquet store: idempotent, SQL next to bars."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from houseedge.core.types import Fill, Order, OrderAccepted, Side
from houseedge.data.store import Store
from houseedge.data.synthetic import synthetic_bars
from houseedge.live.journal import Journal
from houseedge.live.journal.export import export_live, export_live_file

DAY = 86_400 * 10**9


def _journal(path: Path, bars: pl.DataFrame) -> Journal:
    journal = Journal(path)
    rows = bars.filter(pl.col("symbol") == bars["symbol"][0]).head(6).to_dicts()
    symbol = rows[0]["symbol"]
    for i, row in enumerate(rows):
        ts = row["ts"].timestamp() * 10**9
        side = Side.BUY if i % 3 != 2 else Side.SELL
        oid = f"o{i}"
        journal.record_order(
            Order(client_order_id=oid, symbol=symbol, side=side, qty=2, ts=int(ts)),
            policy="trend" if i % 2 else "revert",
        )
        journal.record_report(OrderAccepted(order_id=oid, ts=int(ts)))
        journal.record_fill(
            Fill(
                fill_id=f"v{i}",
                order_id=oid,
                symbol=symbol,
                side=side,
                qty=2,
                price=row["close"],
                fee=0.1,
                ts=int(ts),
            )
        )
        journal.append_event("fill", {"fill_id": f"v{i}", "n": i}, ts=int(ts))
    journal.record_order(
        Order(client_order_id="open", symbol=symbol, side=Side.BUY, qty=1, ts=int(ts) + 1),
        policy="trend",
    )
    return journal


def test_export_is_sql_next_to_bars_and_idempotent(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    bars = synthetic_bars(["AAA", "BBB"], periods=20, timeframe="1d", seed=3)
    store.write("bars", bars)
    with _journal(tmp_path / "live.db", bars) as journal:
        first = export_live(journal, store, account="paper")
        again = export_live(journal, store, account="paper")
    assert first.rows == {"live_orders": 7, "live_fills": 6, "live_positions": 6, "live_events": 6}
    assert set(again.rows.values()) == {0}
    joined = store.sql(
        "SELECT f.fill_id, f.price, b.close FROM live_fills f "
        "JOIN bars b ON b.symbol = f.symbol AND b.ts = f.ts AND b.timeframe = '1d' "
        "ORDER BY f.seq"
    )
    assert joined.height == 6
    assert joined["price"].to_list() == joined["close"].to_list()
    orders = store.sql("SELECT status, count(*) AS n FROM live_orders GROUP BY status ORDER BY 1")
    assert orders.rows() == [("filled", 6), ("new", 1)]
    last = store.sql(
        "SELECT policy, qty FROM live_positions "
        "QUALIFY row_number() OVER (PARTITION BY policy ORDER BY seq DESC) = 1 ORDER BY policy"
    )
    # revert: fills 0 (buy), 2 (sell), 4 (buy); trend: 1 (buy), 3 (buy), 5 (sell)
    assert last.rows() == [("revert", 2.0), ("trend", 2.0)]
    events = store.sql("SELECT json_extract(payload, '$.n')::INT AS n FROM live_events ORDER BY 1")
    assert events["n"].to_list() == list(range(6))


def test_export_file_reads_while_the_engine_writes_and_picks_up_new_rows(tmp_path: Path) -> None:
    bars = synthetic_bars(["AAA"], periods=10, timeframe="1d", seed=1)
    with _journal(tmp_path / "live.db", bars) as journal:
        first = export_live_file(tmp_path / "live.db", tmp_path / "store", account="a")
        journal.record_fill(
            Fill(
                fill_id="late",
                order_id="open",
                symbol="AAA",
                side=Side.BUY,
                qty=1,
                price=5.0,
                ts=20 * DAY,
            )
        )
        second = export_live_file(tmp_path / "live.db", tmp_path / "store", account="a")
    assert first.rows["live_fills"] == 6
    assert second.rows["live_fills"] == 1
    assert second.rows["live_orders"] == 0  # the order row is replaced (status), not added
    store = Store(tmp_path / "store")
    status = store.sql("SELECT status FROM live_orders WHERE client_order_id = 'open'")
    assert status["status"].to_list() == ["filled"]
