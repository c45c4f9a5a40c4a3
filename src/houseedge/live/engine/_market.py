"""From the feed to closed bars: the engine's market path and its staleness watch.

:class:`MarketMixin` is the part of :class:`~houseedge.live.engine.Engine` that reads the feed:
each market event touches the staleness clock, goes to an in-process venue first (the paper
broker, whose fills are booked before the bar is decided on), moves the marks and the engine's
market clock, and extends the bar being built; each bar it closes goes to the decision path
(:meth:`~houseedge.live.engine._decisions.DecisionMixin._on_bar`). A silent feed pauses
decisions (engine event ``feed_stale``) until the next event (``feed_recovered``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from houseedge.core.broker import MarketEvent, Quote, Trade
from houseedge.core.types import Bar

if TYPE_CHECKING:
    from houseedge.core.broker import MarketFeed
    from houseedge.live.aggregate import BarAggregator
    from houseedge.live.feeds import FeedStaleness

__all__ = ["MarketMixin"]


class MarketMixin:
    """The feed → paper venue → aggregator → closed bar path (see the module doc)."""

    if TYPE_CHECKING:
        feed: MarketFeed
        log: Any
        marks: dict[str, float]
        aggregator: BarAggregator | None
        _forward: Callable[[MarketEvent], bool] | None
        _staleness: FeedStaleness
        _market_now: int
        _stale: bool
        _stopping: bool
        _feed_done: bool

        def _fail(self, exc: BaseException) -> None: ...
        async def _settle(self) -> None: ...
        async def _on_bar(self, bar: Bar, arrived: float) -> None: ...
        async def _engine_event(self, name: str, **payload: Any) -> None: ...

    async def _market(self) -> None:
        try:
            async for event in self.feed.events():
                if self._stopping:
                    break
                await self._on_market(event, time.perf_counter())
        except Exception as exc:  # the feed or a bug: stop trading, keep the error
            self._fail(exc)
        finally:
            self._feed_done = True

    async def _on_market(self, event: MarketEvent, arrived: float) -> None:
        self._staleness.touch()
        if self._stale:
            self._stale = False
            await self._engine_event("feed_recovered", symbol=event.symbol, ts=event.ts)
        forward = self._forward
        if forward is not None and forward(event):
            await self._settle()
        if not isinstance(event, Bar):
            self._market_now = max(self._market_now, event.ts)
        if isinstance(event, Trade):
            self.marks[event.symbol] = event.price
        elif isinstance(event, Quote):
            self.marks[event.symbol] = (event.bid + event.ask) / 2
        if self.aggregator is not None:
            bars = self.aggregator.update(event)
        else:
            bars = [event] if isinstance(event, Bar) else []
        for bar in bars:  # usually none: most events only extend the bar being built
            await self._on_bar(bar, arrived)

    async def _watch(self) -> None:
        staleness = self._staleness
        while not self._stopping:
            await staleness.wait_stale()
            if self._stopping or self._feed_done:
                return
            if not self._stale:
                self._stale = True
                self.log.warning("feed.stale", age_s=round(staleness.age(), 3))
                await self._engine_event("feed_stale", age_s=round(staleness.age(), 3))
            await staleness.wait_fresh()
