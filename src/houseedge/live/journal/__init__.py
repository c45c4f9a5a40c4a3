"""The crash-safe journal (SQLite WAL), its writer, the ledger and export to the store.

API (one writer per file; times are UTC nanoseconds)::

    journal = Journal(path)                    # creates or opens; Journal(path, readonly=True)
    journal.record_order(order, policy=...)    # -> bool: False if the id was journaled before
    journal.record_report(report)              # -> journal row id (0: a fill seen before)
    journal.record_fill(fill)                  # -> bool: False if the fill_id was there
    journal.append_event(kind, payload, ts)    # -> the event id
    with journal.batch():                      # one transaction, one fsync, all or nothing
        ...
    journal.events_after(event_id, limit)      # SSE resume
    journal.fills(since_ts) / orders() / reports_for(order_id) / last_fill_ts()
    journal.rebuild(ledger=...)                # -> LedgerState: every order and report replayed
    journal.open_orders()
"""

from houseedge.live.journal._journal import SCHEMA_VERSION, Journal, JournaledOrder, JournalEvent
from houseedge.live.journal.export import (
    LIVE_EVENTS,
    LIVE_FILLS,
    LIVE_ORDERS,
    LIVE_POSITIONS,
    ExportReport,
    export_live,
    export_live_file,
)
from houseedge.live.journal.ledger import Difference, Holding, Ledger, LedgerSnapshot, PolicyTotals
from houseedge.live.journal.state import LedgerState, replay
from houseedge.live.journal.writer import JournalWriter

__all__ = [
    "LIVE_EVENTS",
    "LIVE_FILLS",
    "LIVE_ORDERS",
    "LIVE_POSITIONS",
    "SCHEMA_VERSION",
    "Difference",
    "ExportReport",
    "Holding",
    "Journal",
    "JournalEvent",
    "JournalWriter",
    "JournaledOrder",
    "Ledger",
    "LedgerSnapshot",
    "LedgerState",
    "PolicyTotals",
    "export_live",
    "export_live_file",
    "replay",
]
