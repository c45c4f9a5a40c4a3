"""The journal's on-disk format: SQLite schema, write statements and the bodies' JSON codec.

Tables
    ``orders`` (client order id primary key, policy, the order as msgspec JSON), ``reports``
    (every report as msgspec JSON in arrival order, fills included; ``id`` is the journal
    order), ``fills`` (a view of the fill reports with their columns; ``fill_id`` — the venue's
    id — is unique, so a duplicated or replayed fill is recorded once), ``events`` (``id``
    autoincrement: the SSE event id, increasing and never reused) and ``meta`` (schema version,
    last reconciliation time). Reports and events are append-only: triggers refuse updates and
    deletes. Keeping fills in the reports table gives one ordered log to replay and costs one
    row per fill, not two.

Bodies are msgspec JSON (decimals as strings), decoded straight into their types.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from houseedge.core.types import Fill, Order, OrderReport

_APPEND_ONLY = ("reports", "events")
DDL: Final = (
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS orders (
        client_order_id TEXT PRIMARY KEY, policy TEXT NOT NULL, symbol TEXT NOT NULL,
        ts INTEGER NOT NULL, after_report INTEGER NOT NULL, body TEXT NOT NULL)""",
    # Reports never go away (a trigger refuses deletes), so plain rowids are never reused and
    # AUTOINCREMENT's extra bookkeeping per insert would buy nothing here.
    """CREATE TABLE IF NOT EXISTS reports (
        id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, type TEXT NOT NULL,
        ts INTEGER NOT NULL, fill_id TEXT UNIQUE, policy TEXT, symbol TEXT, side TEXT,
        qty REAL, price REAL, fee REAL, body TEXT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS reports_by_order ON reports (order_id)""",
    """CREATE INDEX IF NOT EXISTS fills_by_ts ON reports (ts) WHERE fill_id IS NOT NULL""",
    """CREATE VIEW IF NOT EXISTS fills AS
        SELECT fill_id, id AS report_id, order_id, policy, symbol, side, qty, price, fee, ts
        FROM reports WHERE fill_id IS NOT NULL""",
    # Event ids are SSE ids: AUTOINCREMENT guarantees one is never handed out twice.
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ts INTEGER NOT NULL,
        payload TEXT NOT NULL)""",
    *(
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, 'journal {table} are append-only'); END"""
        for table in _APPEND_ONLY
        for verb in ("UPDATE", "DELETE")
    ),
)

INSERT_REPORT: Final = "INSERT INTO reports (order_id, type, ts, body) VALUES (?, ?, ?, ?)"
# A fill whose fill_id is journaled already changes nothing (rowcount 0): the de-duplication.
INSERT_FILL: Final = (
    "INSERT INTO reports "
    "(order_id, type, ts, fill_id, policy, symbol, side, qty, price, fee, body) "
    "VALUES (?, 'fill', ?, ?, "
    "COALESCE(?, (SELECT policy FROM orders WHERE client_order_id = ?), ''), "
    "?, ?, ?, ?, ?, ?) ON CONFLICT (fill_id) DO NOTHING"
)
INSERT_ORDER: Final = (
    "INSERT INTO orders (client_order_id, policy, symbol, ts, after_report, body) "
    "VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM reports), ?) "
    "ON CONFLICT (client_order_id) DO NOTHING"
)

# What a restart needs to put the operator controls back: breaker transitions (risk events
# with a state: trips, kill, reset) and the engine's pause, resume and kill audit events.
CONTROL_EVENTS: Final = (
    "SELECT id FROM events WHERE "
    "(kind = 'risk' AND json_extract(payload, '$.state') IS NOT NULL) OR "
    "(kind = 'engine' AND json_extract(payload, '$.event') IN ('paused', 'resumed', 'killed')) "
    "ORDER BY id"
)

_encoder = msgspec.json.Encoder(decimal_format="string")
REPORTS: Final = msgspec.json.Decoder(OrderReport)
ORDERS: Final = msgspec.json.Decoder(Order)
FILLS: Final = msgspec.json.Decoder(Fill)
PAYLOADS: Final = msgspec.json.Decoder(dict[str, Any])


def to_json(value: object) -> str:
    """Return a body as the journal stores it (msgspec JSON, decimals as strings).

    Examples
    --------
    >>> order = Order(client_order_id="p.1", symbol="X", side="buy", qty=2)
    >>> ORDERS.decode(to_json(order)) == order
    True
    """
    return _encoder.encode(value).decode()
