"""The wiring: follow an engine's published events and hand their notifications to sinks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from houseedge import logs
from houseedge.live.control import EngineHandle, PublishedEvent
from houseedge.live.notify._config import NotifySinkConfig, build_dispatcher
from houseedge.live.notify._dispatch import Dispatcher
from houseedge.live.notify._mapping import EventNotifications
from houseedge.live.notify._proximity import RiskProximity

__all__ = ["NotificationRelay", "relay_events", "watch_risk"]

log = logs.get_logger("houseedge.live.notify")


async def relay_events(
    events: AsyncIterator[PublishedEvent], mapper: EventNotifications, dispatcher: Dispatcher
) -> None:
    """Map each event of ``events`` and queue its notifications, until the stream ends.

    Queuing never waits, so this keeps pace with the engine however slow a sink is. A mapping
    that fails (an event of a shape it does not know) is logged and skipped.
    """
    async for event in events:
        try:
            notes = mapper(event)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("notification_mapping_failed", event_id=event.id, error=repr(exc))
            continue
        for note in notes:
            dispatcher.publish(note)


async def watch_risk(
    engine: EngineHandle, proximity: RiskProximity, dispatcher: Dispatcher, interval: float
) -> None:
    """Read ``engine.risk()`` every ``interval`` s and queue its proximity warnings (forever)."""
    while True:
        await asyncio.sleep(interval)
        try:
            risk = engine.risk()
        except Exception as exc:  # an engine not (or no longer) running: try again later
            log.debug("notification_risk_unavailable", error=type(exc).__name__)
            continue
        for note in proximity(risk, time.time_ns()):
            dispatcher.publish(note)


class NotificationRelay:
    """An engine's events to a dispatcher's sinks: subscribe, map, queue; stop on request.

    Parameters
    ----------
    dispatcher
        Where notifications go (started by :meth:`start`, closed by :meth:`stop`).
    risk_interval
        Seconds between reads of the engine's risk snapshot for ``risk_proximity`` warnings
        (:class:`~houseedge.live.notify._proximity.RiskProximity`); 0 turns them off.
    proximity
        The proximity rule (warn at 80% of a threshold by default).

    Examples
    --------
    >>> import asyncio
    >>> from houseedge.live.notify._dispatch import SinkOptions
    >>> class Memory:
    ...     name = "memory"
    ...     def __init__(self):
    ...         self.got = []
    ...     async def send(self, message):
    ...         self.got.append(message.kind)
    >>> class Engine:  # just enough of an EngineHandle
    ...     def __init__(self):
    ...         self.queue = asyncio.Queue()
    ...     def positions(self):
    ...         return []
    ...     async def subscribe(self):
    ...         while (event := await self.queue.get()) is not None:
    ...             yield event
    >>> async def main():
    ...     memory, engine = Memory(), Engine()
    ...     relay = NotificationRelay(Dispatcher([(memory, SinkOptions())]))
    ...     relay.start(engine)
    ...     engine.queue.put_nowait(PublishedEvent(id=1, kind="engine", ts=0,
    ...         payload={"event": "feed_stale", "age_s": 31.0}))
    ...     engine.queue.put_nowait(None)
    ...     await relay.stop(timeout=1)
    ...     return memory.got
    >>> asyncio.run(main())
    ['feed_stale']
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        risk_interval: float = 5.0,
        proximity: RiskProximity | None = None,
    ) -> None:
        if not risk_interval >= 0:
            msg = f"risk_interval must be >= 0 seconds, not {risk_interval}"
            raise ValueError(msg)
        self.dispatcher, self.risk_interval = dispatcher, risk_interval
        self.proximity = proximity or RiskProximity()
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    def from_configs(cls, configs: Sequence[NotifySinkConfig]) -> NotificationRelay | None:
        """Return a relay over the configured sinks, or None when there are none."""
        return cls(build_dispatcher(configs)) if configs else None

    def start(self, engine: EngineHandle) -> None:
        """Subscribe to ``engine`` now and relay its events from a background task."""
        events = engine.subscribe()  # registered here: nothing published from now is missed
        held: Sequence[Mapping[str, Any]] = ()
        with contextlib.suppress(Exception):  # an engine not started yet holds nothing
            held = engine.positions()
        mapper = EventNotifications(held)
        self.dispatcher.start()
        spawn = asyncio.get_running_loop().create_task
        self._task = spawn(relay_events(events, mapper, self.dispatcher), name="notify:relay")
        if self.risk_interval > 0:
            watch = watch_risk(engine, self.proximity, self.dispatcher, self.risk_interval)
            self._watch = spawn(watch, name="notify:risk")

    async def stop(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Relay what the stream still holds, send what is queued (bounded), and close."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self._task is not None:
            # The engine's stream ends when it stops; one that lingers is cut after a moment.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), min(timeout, 1.0))
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return await self.dispatcher.close(timeout)
