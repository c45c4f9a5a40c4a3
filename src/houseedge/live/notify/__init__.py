"""Notifications: the engine's events as messages to people, sent without slowing trading.

A :class:`Notifier` sends a :class:`Notification`; :class:`WebhookNotifier` (JSON POST) and
:class:`TelegramNotifier` (Bot API ``sendMessage``, the token from the environment only) are the
sinks. :class:`EventNotifications` maps published events to notifications with a level,
:class:`Dispatcher` queues them per sink (bounded, filtered, retried with backoff, then dropped
with a log line), and :class:`NotificationRelay` follows an engine's
:meth:`~houseedge.live.control.EngineHandle.subscribe` stream into a dispatcher, with
:class:`RiskProximity` warnings from its risk snapshot when a loss monitor nears a threshold.
The service runs one when ``[[service.notify]]`` tables (:class:`NotifySinkConfig`) are
configured.
"""

from houseedge.live.notify._config import NotifySinkConfig, build_dispatcher
from houseedge.live.notify._dispatch import Dispatcher, SinkOptions, SinkStats
from houseedge.live.notify._mapping import KINDS, EventNotifications
from houseedge.live.notify._message import LEVELS, Level, Notification, Notifier, NotifyError
from houseedge.live.notify._proximity import RiskProximity
from houseedge.live.notify._relay import NotificationRelay, relay_events
from houseedge.live.notify._sinks import (
    TELEGRAM_TOKEN_ENV,
    TelegramNotifier,
    WebhookNotifier,
    telegram_text,
)

__all__ = [
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
]
