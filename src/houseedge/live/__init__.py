"""The async live engine, its journal and ledger, the paper venue and the HTTP service.

Subpackages, each re-exporting its public names (imports run downward only)::

    engine/    Engine: feed -> bars -> policies -> risk gate -> journal -> broker; reconcile
    journal/   the crash-safe journal (SQLite WAL), its group-commit writer, the exact ledger,
               the state rebuilt from the journal, export to the store
    notify/    notifications: the engine's events to a webhook or Telegram, never blocking
    paper/     PaperBroker: a venue simulated in-process with the backtest's matching
    service/   the engine over HTTP: health, metrics, SSE events, authenticated operator commands

Shared by them, at this level: ``aggregate`` (bars from trades), ``control`` (what the service
sees of an engine), ``feeds``, ``history`` (per-symbol bar columns), ``instruments``,
``observability`` (with ``figures`` and ``tracing``: the operator figures on /metrics and the
OTLP export) and ``telemetry``. These import no subpackage. live/ never imports research/,
adapters/ or the app; the broker protocol it drives is :mod:`houseedge.core.broker`.
"""
