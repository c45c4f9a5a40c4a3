"""Rate limits: read Binance's usage headers, back off on 429/418 for Retry-After seconds.

Every REST call goes through :meth:`RateLimiter.call`, which translates errors (the one place,
:func:`~houseedge.adapters.binance.errors.translate`), waits out a ban, and retries a call that
was refused for rate or lost in transport, up to ``max_attempts``. ``X-MBX-USED-WEIGHT-1M`` is
recorded from every response (an aiohttp trace hook, so concurrent requests do not race on the
client's ``response`` attribute); above ``soft_limit`` calls are spaced out until the minute
rolls over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp

from houseedge import logs
from houseedge.adapters.binance.errors import BinanceUnavailable, RateLimited, translate

__all__ = ["RateLimiter"]

T = TypeVar("T")


class RateLimiter:
    """Pace and retry REST calls.

    Examples
    --------
    >>> limiter = RateLimiter(max_attempts=3, weight_limit=6000)
    >>> limiter.observe({"X-MBX-USED-WEIGHT-1M": "5990"})
    >>> limiter.used_weight, limiter.pause_for() > 0
    (5990, True)
    """

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        max_backoff: float = 60.0,
        weight_limit: int = 6000,
        soft_limit: float = 0.9,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_attempts, self.max_backoff = max_attempts, max_backoff
        self.weight_limit, self.soft_limit = weight_limit, soft_limit
        self._clock = clock
        self.used_weight = 0
        self.banned_until = 0.0
        self.backoffs = 0
        """How many times a call waited for a 429/418 or a lost request."""
        self.log = logs.get_logger("houseedge.adapters.binance")

    def observe(self, headers: Any) -> None:
        """Record the usage headers of one response."""
        used = headers.get("X-MBX-USED-WEIGHT-1M") or headers.get("x-mbx-used-weight-1m")
        if used is not None:
            self.used_weight = int(used)

    def pause_for(self) -> float:
        """Return how long to wait before the next request (0: go)."""
        ban = self.banned_until - self._clock()
        if ban > 0:
            return ban
        if self.used_weight >= self.soft_limit * self.weight_limit:
            return 60.0 - time.time() % 60.0  # until the minute window rolls over
        return 0.0

    def trace_config(self) -> aiohttp.TraceConfig:
        """Return an aiohttp trace hook that feeds :meth:`observe` (for ``session_params``)."""
        trace = aiohttp.TraceConfig()

        async def on_end(_: Any, __: SimpleNamespace, params: Any) -> None:
            self.observe(params.response.headers)

        trace.on_request_end.append(on_end)
        return trace

    async def call(
        self, make: Callable[[], Awaitable[T]], *, what: str, retry_unknown: bool = True
    ) -> T:
        """Run ``make()`` with pacing and retries; raise the translated error at the end.

        ``retry_unknown=False`` for requests whose outcome must be checked before a retry
        (order submission): a transport failure is raised at once.
        """
        for attempt in range(1, self.max_attempts + 1):
            if (wait := self.pause_for()) > 0:
                await asyncio.sleep(min(wait, self.max_backoff))
            try:
                return await make()
            except Exception as exc:  # translated here, the adapter's one edge
                error = translate(exc)
                if attempt == self.max_attempts or not self._retryable(error, retry_unknown):
                    raise error from exc
                delay = self._delay(error, attempt)
                self.backoffs += 1
                self.log.warning(
                    "binance.backoff",
                    call=what,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    code=error.code,
                )
                await asyncio.sleep(delay)
        msg = f"{what}: no attempt made"  # unreachable: max_attempts >= 1
        raise BinanceUnavailable(msg)

    @staticmethod
    def _retryable(error: Exception, retry_unknown: bool) -> bool:
        if isinstance(error, RateLimited):
            return True  # refused before it was processed: safe to send again
        return retry_unknown and isinstance(error, BinanceUnavailable)

    def _delay(self, error: Exception, attempt: int) -> float:
        if isinstance(error, RateLimited):
            wait = error.retry_after if error.retry_after is not None else 2.0**attempt
            self.banned_until = max(self.banned_until, self._clock() + wait)
            return min(wait, self.max_backoff)
        return min(0.1 * 2.0**attempt, self.max_backoff)
