"""Market feeds for the live engine: a replay of stored bars, a scripted feed, and staleness.

:class:`StoreReplayFeed` replays bars from a :class:`~houseedge.data.store.Store` in time order
(ties by symbol) at a chosen speed; :class:`IterableFeed` yields given events (tests, demos). Both
implement :class:`~houseedge.core.broker.MarketFeed` and can be paused, resumed and stalled, so
tests can drive the engine's staleness handling. :class:`FeedStaleness` is the monotonic timer
the engine consults to stop trading when no event arrived for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

import polars as pl

from houseedge.core.broker import MarketEvent
from houseedge.core.types import Bar
from houseedge.data.store import Store
from houseedge.data.timeparse import TimeLike

__all__ = ["FeedStaleness", "IterableFeed", "StoreReplayFeed"]

_CHUNK = 10_000  # rows turned into Python objects at a time
_YIELD_EVERY = 256  # at full speed, let other tasks run this often


class _Pacer:
    """Pause, resume, stall and close, shared by the feeds."""

    def __init__(self) -> None:
        self._running = asyncio.Event()
        self._running.set()
        self._stall = 0.0
        self._closed = False
        self.delivered = 0
        """Events yielded so far."""

    def pause(self) -> None:
        """Hold the stream before its next event until :meth:`resume`."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused stream go on."""
        self._running.set()

    def stall(self, seconds: float) -> None:
        """Delay the next event by ``seconds`` of wall time (a silent feed, for tests)."""
        self._stall += seconds

    async def close(self) -> None:
        """End the stream (a paused stream ends too)."""
        self._closed = True
        self._running.set()

    async def _gate(self) -> bool:
        """Wait out a pause or stall; return False once closed."""
        if self._stall > 0:
            stall, self._stall = self._stall, 0.0
            await asyncio.sleep(stall)
        if not self._running.is_set():
            await self._running.wait()
        return not self._closed


class IterableFeed(_Pacer):
    """A feed of the given events, in the given order.

    Examples
    --------
    >>> from houseedge.core.broker import Trade
    >>> async def collect(feed):
    ...     return [event.price async for event in feed.events()]
    >>> asyncio.run(collect(IterableFeed([Trade(symbol="X", ts=1, price=10.0, size=1.0),
    ...                                   Trade(symbol="X", ts=2, price=10.5, size=2.0)])))
    [10.0, 10.5]
    """

    def __init__(self, events: Iterable[MarketEvent]) -> None:
        super().__init__()
        self._events = events

    async def events(self) -> AsyncIterator[MarketEvent]:
        """Yield the events, letting other tasks run between them."""
        for event in self._events:
            if not await self._gate():
                return
            self.delivered += 1
            yield event
            await asyncio.sleep(0)


class StoreReplayFeed(_Pacer):
    """Replay stored bars in time order across symbols (ties by symbol) at ``speed``.

    Parameters
    ----------
    store
        The store holding the ``bars`` dataset.
    symbols, timeframe, start, end
        What to replay (``start`` inclusive, ``end`` exclusive, as :meth:`Store.scan`).
    speed
        0: as fast as possible; 1: real time between bar timestamps; ``k``: ``k`` times faster.

    Examples
    --------
    >>> import tempfile
    >>> from houseedge.data.synthetic import synthetic_bars
    >>> store = Store(tempfile.mkdtemp())
    >>> _ = store.write("bars", synthetic_bars(["A", "B"], periods=3, timeframe="1d", seed=1))
    >>> async def collect(feed):
    ...     return [(e.ts, e.symbol) async for e in feed.events()]
    >>> events = asyncio.run(collect(StoreReplayFeed(store, symbols=["A", "B"], timeframe="1d")))
    >>> [symbol for _, symbol in events], events[0][0] < events[2][0]
    (['A', 'B', 'A', 'B', 'A', 'B'], True)
    """

    def __init__(
        self,
        store: Store,
        *,
        symbols: Sequence[str],
        timeframe: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        speed: float = 0.0,
    ) -> None:
        if not speed >= 0:
            msg = f"speed must be >= 0 (0: as fast as possible), got {speed}"
            raise ValueError(msg)
        super().__init__()
        self.store, self.symbols, self.timeframe = store, list(symbols), timeframe
        self.start, self.end, self.speed = start, end, speed

    def frame(self) -> pl.LazyFrame:
        """Return the bars to replay, sorted by ``ts, symbol``, ``ts`` as UTC nanoseconds."""
        scan = self.store.scan(
            "bars", symbols=self.symbols, start=self.start, end=self.end, timeframe=self.timeframe
        )
        columns = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume")
        return scan.select(columns).with_columns(pl.col("ts").dt.epoch("ns")).sort("ts", "symbol")

    async def events(self) -> AsyncIterator[Bar]:
        """Yield the bars, sleeping ``Δts / speed`` between them when ``speed > 0``."""
        frame = await asyncio.to_thread(lambda: self.frame().collect())
        loop = asyncio.get_running_loop()
        anchor: tuple[float, int] | None = None  # (loop time, bar ts) the schedule runs from
        for part in frame.iter_slices(_CHUNK):
            for row in part.iter_rows(named=True):
                bar = Bar(**row)
                paused = self._stall > 0 or not self._running.is_set()
                if not await self._gate():
                    return
                if paused or anchor is None:
                    anchor = (loop.time(), bar.ts)  # a pause shifts the schedule, not skips it
                if self.speed > 0:
                    due = anchor[0] + (bar.ts - anchor[1]) / 1e9 / self.speed
                    await asyncio.sleep(max(due - loop.time(), 0.0))
                elif self.delivered % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                self.delivered += 1
                yield bar


class FeedStaleness:
    """A monotonic timer: stale when no event arrived for ``threshold`` seconds.

    Call :meth:`touch` on every event. The timer starts at construction, so a feed that never
    delivers becomes stale too. ``clock`` (seconds, monotonic) is injectable for tests.

    Examples
    --------
    >>> now = [100.0]
    >>> staleness = FeedStaleness(5.0, clock=lambda: now[0])
    >>> staleness.stale
    False
    >>> now[0] = 106.0
    >>> staleness.stale, staleness.age()
    (True, 6.0)
    >>> staleness.touch()
    >>> staleness.stale
    False
    """

    def __init__(self, threshold: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not threshold > 0:
            msg = f"threshold must be > 0 seconds, got {threshold}"
            raise ValueError(msg)
        self.threshold = threshold
        self._clock = clock
        self._last = clock()
        self._arrived = asyncio.Event()
        self.events = 0
        """Events seen."""

    def touch(self) -> None:
        """Record that an event arrived now."""
        self._last = self._clock()
        self.events += 1
        self._arrived.set()

    def age(self) -> float:
        """Return the seconds since the last event (or since the timer started)."""
        return self._clock() - self._last

    @property
    def stale(self) -> bool:
        """Return whether no event arrived for more than ``threshold`` seconds."""
        return self.age() > self.threshold

    async def wait_stale(self) -> None:
        """Return once the feed is stale."""
        # Staleness is the passing of time, not an event: sleep until it is due, then recheck
        # (an event in between pushes it back).
        while (remaining := self.threshold - self.age()) >= 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining + 1e-3)

    async def wait_fresh(self) -> None:
        """Return once an event arrives, if the feed is stale; at once otherwise."""
        if self.stale:
            self._arrived.clear()
            await self._arrived.wait()
