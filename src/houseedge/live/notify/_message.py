"""What a notification is and what a sink must do: :class:`Notification` and :class:`Notifier`."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

__all__ = ["LEVELS", "Level", "Notification", "Notifier", "NotifyError", "level_rank"]

Level = Literal["info", "warning", "critical"]
LEVELS: tuple[Level, ...] = ("info", "warning", "critical")
"""The levels, least urgent first (a sink's threshold keeps its level and those after it)."""


class NotifyError(Exception):
    """A sink could not deliver a message (the dispatcher retries, then drops it).

    The message names the sink and what went wrong, never a URL or a token.
    """


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One message for people: what happened, how urgent, and the event's figures.

    Examples
    --------
    >>> note = Notification(level="warning", title="Feed stale", text="no data for 31 s",
    ...     kind="feed_stale", fields={"age_s": 31.0}, ts=0, event_id=7)
    >>> msgspec.json.encode(note)[:40]
    b'{"level":"warning","title":"Feed stale",'
    """

    level: Level
    title: str
    text: str
    kind: str  # the notification kind ("trade_opened", "feed_stale", ...): what filters match
    fields: dict[str, Any] = msgspec.field(default_factory=dict[str, Any])
    ts: int = 0  # UTC nanoseconds of the event
    event_id: int = 0  # the journal's id of the event it came from (0: none)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            msg = f"Notification.level must be one of {LEVELS}, not {self.level!r}"
            raise ValueError(msg)


def level_rank(level: str) -> int:
    """Return a level's urgency, 0 for ``info``; raise ValueError naming the levels.

    Examples
    --------
    >>> level_rank("info"), level_rank("critical")
    (0, 2)
    """
    try:
        return LEVELS.index(level)  # type: ignore[arg-type]
    except ValueError:
        msg = f"unknown notification level {level!r}: expected one of {LEVELS}"
        raise ValueError(msg) from None


@runtime_checkable
class Notifier(Protocol):
    """A place notifications go (a chat, a webhook, a pager).

    ``send`` delivers one message or raises (:class:`NotifyError` for a refusal; any exception
    counts as a failed attempt). It need not time out by itself: the dispatcher bounds every
    attempt. ``name`` appears in logs and counters. A sink holding a connection pool may also
    have an ``async aclose()``, which the dispatcher calls when it closes.
    """

    name: str

    async def send(self, message: Notification) -> None:
        """Deliver ``message``; raise if it was not accepted."""
        ...
