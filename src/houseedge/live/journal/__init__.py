"""The crash-safe journal (SQLite WAL), its writer, the ledger and export to the store."""

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
