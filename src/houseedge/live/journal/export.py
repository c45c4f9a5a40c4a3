"""Live activity into the Parquet store, so it is SQL next to backtests.

:func:`export_live` reads a journal and writes four datasets; :func:`export_live_file` is what
``houseedge live export`` (and the service's periodic export task) calls.

==================  ======================================  ==============  =====================
dataset             key                                     partitioned by  one row per
==================  ======================================  ==============  =====================
``live_orders``     ``account, ts, client_order_id``        ``account``     order, with status
``live_fills``      ``account, symbol, ts, fill_id``        ``symbol/year`` fill (as ``bars``)
``live_positions``  ``account, policy, symbol, ts, seq``    ``account``     fill: book after it
``live_events``     ``account, ts, event_id``               ``account``     journaled event
==================  ======================================  ==============  =====================

(The store wants the time column in every key; an order's, fill's or event's time never
changes, so the id alone still identifies the row.)

Every row is a function of the journal alone, so exporting again writes nothing new (the store
de-duplicates on the keys), and an order's row is replaced as its status moves. ``account``
names the journal, so several accounts (or a paper and a live one) share a store.
``live_positions`` is the position history: after each booked fill, that policy's quantity,
average price, realised PnL and fees in the fill's symbol (``seq`` is the fill's journal id).
``live_fills`` is partitioned like ``bars`` so a join on symbol and time prunes both.

Examples
--------
>>> import tempfile, pathlib
>>> from houseedge.core.types import Fill, Order
>>> from houseedge.data.store import Store
>>> from houseedge.live.journal import Journal
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> with Journal(root / "live.db") as journal:
...     _ = journal.record_order(Order(client_order_id="o1", symbol="X", side="buy", qty=1),
...         policy="p")
...     _ = journal.record_fill(Fill(fill_id="f1", order_id="o1", symbol="X", side="buy",
...         qty=1, price=10.0, ts=10**18))
>>> report = export_live_file(root / "live.db", root / "store", account="demo")
>>> report.rows
{'live_orders': 1, 'live_fills': 1, 'live_positions': 1, 'live_events': 0}
>>> Store(root / "store").sql("SELECT policy, qty FROM live_positions").rows()
[('p', 1.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from houseedge.core.types import Fill, OrderReport
from houseedge.data.schemas import TS, DatasetSpec, register
from houseedge.data.store import Store
from houseedge.live.journal._journal import Journal
from houseedge.live.journal.ledger import Ledger
from houseedge.live.journal.state import LedgerState

__all__ = [
    "LIVE_EVENTS",
    "LIVE_FILLS",
    "LIVE_ORDERS",
    "LIVE_POSITIONS",
    "ExportReport",
    "export_live",
    "export_live_file",
]

F, INT, S = pl.Float64(), pl.Int64(), pl.String()

LIVE_ORDERS = register(
    DatasetSpec(
        name="live_orders",
        columns={
            "account": S,
            "client_order_id": S,
            "policy": S,
            "symbol": S,
            "side": S,
            "type": S,
            "tif": S,
            "qty": F,
            "limit_price": F,
            "stop_price": F,
            "ts": TS,
            "status": S,
            "filled_qty": F,
            "avg_fill_price": F,
            "venue_order_id": S,
            "reason": S,
            "tag": S,
        },
        key=("account", "ts", "client_order_id"),
        partitions=("account",),
        nullable=frozenset({"limit_price", "stop_price", "avg_fill_price"}),
    )
)
LIVE_FILLS = register(
    DatasetSpec(
        name="live_fills",
        columns={
            "account": S,
            "fill_id": S,
            "order_id": S,
            "policy": S,
            "symbol": S,
            "side": S,
            "qty": F,
            "price": F,
            "fee": F,
            "liquidity": S,
            "ts": TS,
            "seq": INT,
        },
        key=("account", "symbol", "ts", "fill_id"),
        partitions=("symbol", "year"),
    )
)
LIVE_POSITIONS = register(
    DatasetSpec(
        name="live_positions",
        columns={
            "account": S,
            "policy": S,
            "symbol": S,
            "seq": INT,
            "ts": TS,
            "fill_id": S,
            "qty": F,
            "avg_price": F,
            "realised": F,
            "fees": F,
        },
        key=("account", "policy", "symbol", "ts", "seq"),
        partitions=("account",),
        nullable=frozenset({"avg_price"}),
    )
)
LIVE_EVENTS = register(
    DatasetSpec(
        name="live_events",
        columns={"account": S, "event_id": INT, "kind": S, "ts": TS, "payload": S},
        key=("account", "ts", "event_id"),
        partitions=("account",),
    )
)
_SPECS = (LIVE_ORDERS, LIVE_FILLS, LIVE_POSITIONS, LIVE_EVENTS)


@dataclass(frozen=True)
class ExportReport:
    """What one export did: rows added per dataset (0 everywhere when nothing changed)."""

    account: str
    rows: dict[str, int]


def export_live(
    journal: Journal, store: Store, *, account: str = "live", ledger: Ledger | None = None
) -> ExportReport:
    """Write a journal's orders, fills, position history and events into ``store``.

    All four datasets land in one store write (all or none). ``ledger`` carries the
    instruments the positions are rounded with (``Ledger()`` by default).
    """
    fills: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    policies = journal.fill_policies()

    def on_report(report_id: int, report: OrderReport, state: LedgerState) -> None:
        if not isinstance(report, Fill):
            return
        policy = state.policies.get(report.order_id, policies.get(report.fill_id, ""))
        fills.append(_fill_row(account, report_id, report, policy))
        holding = state.ledger.holding(report.symbol, policy=policy)
        positions.append(
            {
                "account": account,
                "policy": policy,
                "symbol": report.symbol,
                "seq": report_id,
                "ts": report.ts,
                "fill_id": report.fill_id,
                "qty": float(holding.qty),
                "avg_price": None if holding.avg_price is None else float(holding.avg_price),
                "realised": float(holding.realised),
                "fees": float(holding.fees),
            }
        )

    state = journal.rebuild(ledger=ledger, on_report=on_report)
    frames = {
        LIVE_ORDERS.name: _orders(account, state),
        LIVE_FILLS.name: fills,
        LIVE_POSITIONS.name: positions,
        LIVE_EVENTS.name: _events(account, journal),
    }
    items = [
        (spec, pl.DataFrame(frames[spec.name], schema=_physical(spec), orient="row"))
        for spec in _SPECS
        if frames[spec.name]
    ]
    written = {report.dataset: report.rows_added for report in store.write_many(items)}
    return ExportReport(account=account, rows={s.name: written.get(s.name, 0) for s in _SPECS})


def export_live_file(
    journal_path: str | Path, store: str | Path | Store | None = None, *, account: str = "live"
) -> ExportReport:
    """Export the journal at ``journal_path`` (opened read-only) into a store.

    This is the function behind ``houseedge live export``; it may run while the engine
    writes (WAL readers see the last committed state). ``store`` is a store or its root
    (``HOUSEEDGE_STORE`` or ``./data/store`` when omitted).
    """
    target = store if isinstance(store, Store) else Store(store)
    with Journal(journal_path, readonly=True) as journal:
        return export_live(journal, target, account=account)


def _physical(spec: DatasetSpec) -> dict[str, pl.DataType]:
    # rows carry nanosecond integers; the store casts them to the UTC timestamp type
    return {n: (INT if t == TS else t) for n, t in spec.schema.items()}


def _fill_row(account: str, report_id: int, fill: Fill, policy: str) -> dict[str, Any]:
    return {
        "account": account,
        "fill_id": fill.fill_id,
        "order_id": fill.order_id,
        "policy": policy,
        "symbol": fill.symbol,
        "side": str(fill.side),
        "qty": fill.qty,
        "price": fill.price,
        "fee": fill.fee,
        "liquidity": str(fill.liquidity),
        "ts": fill.ts,
        "seq": report_id,
    }


def _orders(account: str, state: LedgerState) -> list[dict[str, Any]]:
    return [
        {
            "account": account,
            "client_order_id": order.client_order_id,
            "policy": state.policies[order.client_order_id],
            "symbol": order.symbol,
            "side": str(order.side),
            "type": str(order.type),
            "tif": str(order.tif),
            "qty": order.qty,
            "limit_price": order.limit_price,
            "stop_price": order.stop_price,
            "ts": order.ts,
            "status": str(o.status),
            "filled_qty": o.filled_qty,
            "avg_fill_price": o.avg_price,
            "venue_order_id": o.venue_order_id,
            "reason": o.reason,
            "tag": order.tag,
        }
        for o in state.orders.values()
        for order in (o.order,)
    ]


def _events(account: str, journal: Journal) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = 0
    while batch := journal.events_after(after, limit=10_000):
        rows += [
            {
                "account": account,
                "event_id": e.id,
                "kind": e.kind,
                "ts": e.ts,
                "payload": msgspec.json.encode(e.payload).decode(),
            }
            for e in batch
        ]
        after = batch[-1].id
    return rows
