"""The dispatcher: one bounded queue and one sending task per sink, so nothing waits on a sink.

:meth:`Dispatcher.publish` is synchronous and never waits: it filters the message per sink
(level threshold, kinds) and appends it to that sink's queue. A full queue drops its oldest
message (counted as ``dropped_full``). Each sink's task sends in order; a failed or timed-out
attempt is retried after an exponentially growing delay, and after ``attempts`` tries (or
``give_up_after`` seconds) the message is dropped with a ``notification_dropped`` log line
(counted as ``dropped_failed``). The loop trading never awaits any of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import msgspec

from houseedge import logs
from houseedge.live.notify._message import Level, Notification, Notifier, NotifyError, level_rank

__all__ = ["Dispatcher", "SinkOptions", "SinkStats"]

log = logs.get_logger("houseedge.live.notify")


class SinkOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What one sink receives and how hard the dispatcher tries.

    Examples
    --------
    >>> options = SinkOptions(min_level="warning", kinds=frozenset({"feed_stale"}))
    >>> options.accepts(Notification(level="critical", title="t", text="", kind="feed_stale"))
    True
    >>> options.accepts(Notification(level="info", title="t", text="", kind="feed_stale"))
    False
    """

    min_level: Level = "info"
    kinds: frozenset[str] | None = None  # only these notification kinds (None: every kind)
    exclude: frozenset[str] = frozenset()
    queue_size: int = 1000
    attempts: int = 5  # tries per message, the first included
    backoff: float = 0.5  # seconds before the first retry; doubled each time
    max_backoff: float = 30.0
    timeout: float = 10.0  # seconds one attempt may take
    give_up_after: float = 120.0  # seconds from the first attempt after which no retry starts

    def __post_init__(self) -> None:
        level_rank(self.min_level)
        for name in ("queue_size", "attempts"):
            if getattr(self, name) < 1:
                msg = f"SinkOptions.{name} must be >= 1, not {getattr(self, name)}"
                raise ValueError(msg)
        for name in ("backoff", "max_backoff", "timeout", "give_up_after"):
            if not getattr(self, name) >= 0:
                msg = f"SinkOptions.{name} must be >= 0, not {getattr(self, name)}"
                raise ValueError(msg)

    def accepts(self, message: Notification) -> bool:
        """Return whether this sink wants ``message`` (level and kind filters)."""
        if level_rank(message.level) < level_rank(self.min_level):
            return False
        if self.kinds is not None and message.kind not in self.kinds:
            return False
        return message.kind not in self.exclude


class SinkStats(msgspec.Struct, kw_only=True):
    """Counters of one sink (tests and the service's logs read them)."""

    queued: int = 0
    sent: int = 0
    failed_attempts: int = 0
    retries: int = 0
    dropped_full: int = 0
    dropped_failed: int = 0
    filtered: int = 0


class _Lane:
    """One sink with its queue, options, counters and sending task."""

    def __init__(self, sink: Notifier, options: SinkOptions) -> None:
        self.sink, self.options, self.stats = sink, options, SinkStats()
        self.queue: deque[Notification] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None

    def put(self, message: Notification) -> None:
        if not self.options.accepts(message):
            self.stats.filtered += 1
            return
        if len(self.queue) >= self.options.queue_size:
            self.queue.popleft()
            self.stats.dropped_full += 1
        self.queue.append(message)
        self.stats.queued += 1
        self.idle.clear()
        self.wake.set()

    async def run(self) -> None:
        while True:
            if not self.queue:
                self.idle.set()
                self.wake.clear()
                await self.wake.wait()
                continue
            await self._deliver(self.queue.popleft())

    async def _deliver(self, message: Notification) -> None:
        options, stats = self.options, self.stats
        began, delay, attempt = time.monotonic(), options.backoff, 0
        for attempt in range(1, options.attempts + 1):
            error = await self._attempt(message)
            if error is None:
                stats.sent += 1
                return
            stats.failed_attempts += 1
            last = attempt == options.attempts
            if last or time.monotonic() + delay - began > options.give_up_after:
                break
            log.info("notification_retrying", sink=self.sink.name, attempt=attempt, error=error)
            stats.retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, options.max_backoff)
        stats.dropped_failed += 1
        log.warning(
            "notification_dropped",
            sink=self.sink.name,
            kind=message.kind,
            event_id=message.event_id,
            attempts=attempt,
        )

    async def _attempt(self, message: Notification) -> str | None:
        """Send once; return None on success, else what went wrong (no URL, no token)."""
        try:
            async with asyncio.timeout(self.options.timeout):
                await self.sink.send(message)
        except TimeoutError:
            return f"timed out after {self.options.timeout} s"
        except Exception as exc:  # any failure of a sink is a failed attempt, never a crash
            # A sink's own error names no secret; another's text might (a URL), so: its type.
            return str(exc) if isinstance(exc, NotifyError) else type(exc).__name__
        return None


class Dispatcher:
    """Fan notifications out to sinks without ever making the caller wait.

    Parameters
    ----------
    sinks
        ``(notifier, options)`` pairs.

    Examples
    --------
    >>> import asyncio
    >>> class Memory:
    ...     name = "memory"
    ...     def __init__(self):
    ...         self.got = []
    ...     async def send(self, message):
    ...         self.got.append(message.title)
    >>> async def main():
    ...     memory = Memory()
    ...     dispatcher = Dispatcher([(memory, SinkOptions(min_level="warning"))])
    ...     dispatcher.start()
    ...     for level in ("info", "warning", "critical"):
    ...         dispatcher.publish(Notification(level=level, title=level, text="", kind="x"))
    ...     await dispatcher.close(timeout=1)
    ...     return memory.got, dispatcher.stats()["memory"].filtered
    >>> asyncio.run(main())
    (['warning', 'critical'], 1)
    """

    def __init__(self, sinks: Sequence[tuple[Notifier, SinkOptions]]) -> None:
        names = [sink.name for sink, _ in sinks]
        if len(set(names)) != len(names):
            msg = f"notification sink names must be unique, got {names}"
            raise ValueError(msg)
        self._lanes = [_Lane(sink, options) for sink, options in sinks]

    def start(self) -> None:
        """Start one sending task per sink (call from the running loop)."""
        spawn = asyncio.get_running_loop().create_task
        for lane in self._lanes:
            if lane.task is None:
                lane.task = spawn(lane.run(), name=f"notify:{lane.sink.name}")

    def publish(self, message: Notification) -> None:
        """Queue ``message`` for every sink whose filters accept it; never waits."""
        for lane in self._lanes:
            lane.put(message)

    def stats(self) -> dict[str, SinkStats]:
        """Return each sink's counters by name."""
        return {lane.sink.name: lane.stats for lane in self._lanes}

    async def flush(self, timeout: float) -> bool:  # noqa: ASYNC109 (a bound, not a scope)
        """Wait up to ``timeout`` s for every queue to empty; return whether they did."""
        waits = [lane.idle.wait() for lane in self._lanes]
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*waits)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Send what is queued (for up to ``timeout`` s), stop the tasks, close the sinks."""
        flushed = await self.flush(timeout)
        for lane in self._lanes:
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
                lane.task = None
            aclose = getattr(lane.sink, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        counts = {name: msgspec.to_builtins(stats) for name, stats in self.stats().items()}
        unsent = sum(len(lane.queue) for lane in self._lanes)
        log.info("notifications_closed", flushed=flushed, unsent=unsent, sinks=counts)
        return {"flushed": flushed, "unsent": unsent, "sinks": counts}
