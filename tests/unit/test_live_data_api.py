"""The public surface of live/ and data/ subpackages is pinned: changing it is a deliberate edit.

Each subpackage's ``__init__`` re-exports its public names with a sorted ``__all__``; callers
outside a subpackage use these, never its private ``_modules``.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC: dict[str, list[str]] = {
    "houseedge.live.journal": [
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
    ],
    "houseedge.live.notify": [
        "KINDS",
        "LEVELS",
        "TELEGRAM_TOKEN_ENV",
        "Dispatcher",
        "EventNotifications",
        "Level",
        "Notification",
        "NotificationRelay",
        "Notifier",
        "NotifyError",
        "NotifySinkConfig",
        "RiskProximity",
        "SinkOptions",
        "SinkStats",
        "TelegramNotifier",
        "WebhookNotifier",
        "build_dispatcher",
        "relay_events",
        "telegram_text",
    ],
    "houseedge.live.paper": ["PaperBroker"],
    "houseedge.live.service": ["KillRequest", "Service", "ServiceSettings", "run_service"],
    "houseedge.data.store": ["Store", "WriteReport"],
    "houseedge.data.ingest": [
        "FORMATS",
        "Container",
        "Format",
        "Options",
        "Parsed",
        "Reader",
        "detect_format",
        "ingest_file",
        "read_file",
    ],
    "houseedge.data.synthetic": [
        "DEFAULT_REGIMES",
        "Regime",
        "Session",
        "synthetic_bars",
        "synthetic_trades",
    ],
}

# The engine also re-exports the fast-path steppers, whose names belong to their own module.
ENGINE = [
    "Engine",
    "History",
    "LiveContext",
    "OrderRunner",
    "PolicySpec",
    "VectorRunner",
    "make_runner",
    "reconcile",
]


def isort_key(name: str) -> tuple[int, str]:
    """Sort as ruff's RUF022 does: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@pytest.mark.parametrize("name", [*PUBLIC, "houseedge.live.engine"])
def test_all_is_sorted_and_every_name_resolves(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__, key=isort_key)
    for attr in module.__all__:
        assert getattr(module, attr) is not None, attr


@pytest.mark.parametrize("name", list(PUBLIC))
def test_public_names_are_pinned(name: str) -> None:
    assert importlib.import_module(name).__all__ == PUBLIC[name]


def test_the_engine_exports_its_public_names() -> None:
    exported = importlib.import_module("houseedge.live.engine").__all__
    assert set(ENGINE) <= set(exported)
