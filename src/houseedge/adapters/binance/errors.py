"""The one place python-binance's (and the transport's) exceptions become houseedge errors.

::

    BrokerError
    └── BinanceError               code / status / retry_after from the venue
        ├── BinanceUnavailable     (also BrokerUnavailable) transport, 5xx, -1007, ws closed
        │   └── RateLimited        429 / 418 with Retry-After
        ├── BinanceAuthError       -1021 stale timestamp, -1022 bad signature, -2014/-2015 key
        ├── BinanceOrderNotFound   (also core.broker.OrderNotFound) -2011 / -2013
        └── BinanceOrderRejected   (also OrderRejected) -1013 filters, -2010, ...
            ├── BinanceDuplicateOrder  (also core.broker.DuplicateOrder) -2010 "Duplicate
            │                      order sent."
            └── FilterViolation    our pre-submit filter check

:data:`MAPPED` lists every exception type translated; a test checks it covers every exception
class python-binance defines. Messages never include request parameters (they hold the
signature) or keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Final, Protocol

import aiohttp

from houseedge.adapters.binance._lib import binance_exceptions as bx
from houseedge.core.broker import DuplicateOrder, OrderNotFound
from houseedge.errors import BrokerError, BrokerUnavailable, OrderRejected

__all__ = [
    "MAPPED",
    "BinanceAuthError",
    "BinanceDuplicateOrder",
    "BinanceError",
    "BinanceOrderNotFound",
    "BinanceOrderRejected",
    "BinanceUnavailable",
    "FilterViolation",
    "RateLimited",
    "translate",
]


class BinanceError(BrokerError):
    """A Binance call failed; ``code`` is Binance's error code (0 when none)."""

    def __init__(
        self, message: str, *, code: int = 0, status: int = 0, retry_after: float | None = None
    ) -> None:
        self.code, self.status, self.retry_after = code, status, retry_after
        super().__init__(message)


class BinanceUnavailable(BinanceError, BrokerUnavailable):
    """Binance could not be reached, timed out, or answered 5xx: the outcome is unknown."""


class RateLimited(BinanceUnavailable):
    """Binance answered 429 (too many requests) or 418 (IP banned); wait ``retry_after`` s."""


class BinanceAuthError(BinanceError):
    """The key, the signature or the request's timestamp was refused."""


class BinanceOrderNotFound(BinanceError, OrderNotFound):
    """Binance does not know the order (-2011 on cancel, -2013 on query)."""


class BinanceOrderRejected(BinanceError, OrderRejected):
    """Binance refused an order."""


class BinanceDuplicateOrder(BinanceOrderRejected, DuplicateOrder):
    """An open order with this ``newClientOrderId`` exists (-2010 "Duplicate order sent.")."""


class FilterViolation(BinanceOrderRejected):
    """An order breaks a symbol filter (lot size, tick size, min notional); not sent."""


_AUTH: Final = frozenset({-1021, -1022, -2014, -2015})
_NOT_FOUND: Final = frozenset({-2011, -2013})
_UNKNOWN_OUTCOME: Final = frozenset({-1000, -1001, -1006, -1007})
DUPLICATE_MESSAGE: Final = "Duplicate order sent."

MAPPED: Final[dict[type[BaseException], type[BinanceError]]] = {
    bx.BinanceAPIException: BinanceError,  # refined by code and status in _api_error
    bx.BinanceRequestException: BinanceUnavailable,
    bx.BinanceOrderException: BinanceOrderRejected,
    bx.BinanceOrderMinAmountException: FilterViolation,
    bx.BinanceOrderMinPriceException: FilterViolation,
    bx.BinanceOrderMinTotalException: FilterViolation,
    bx.BinanceOrderUnknownSymbolException: BinanceOrderRejected,
    bx.BinanceOrderInactiveSymbolException: BinanceOrderRejected,
    bx.BinanceWebsocketUnableToConnect: BinanceUnavailable,
    bx.BinanceWebsocketQueueOverflow: BinanceUnavailable,
    bx.BinanceWebsocketClosed: BinanceUnavailable,
    bx.ReadLoopClosed: BinanceUnavailable,
    bx.NotImplementedException: BinanceError,
    bx.UnknownDateFormat: BinanceError,
    bx.BinanceRegionException: BinanceError,
    aiohttp.ClientError: BinanceUnavailable,
    asyncio.TimeoutError: BinanceUnavailable,
    ConnectionError: BinanceUnavailable,
}
"""Every exception translated, most specific first (a subclass is looked up before its base)."""


def translate(exc: BaseException) -> BinanceError:
    """Return the houseedge error for a python-binance or transport exception.

    Examples
    --------
    >>> from binance.exceptions import BinanceOrderMinAmountException
    >>> error = translate(BinanceOrderMinAmountException("0.001"))
    >>> type(error).__name__, error.code
    ('FilterViolation', -1013)
    """
    if isinstance(exc, BinanceError):
        return exc
    if isinstance(exc, bx.BinanceAPIException):
        return _api_error(exc)
    for kind in type(exc).__mro__:
        target = MAPPED.get(kind)
        if target is not None:
            code = getattr(exc, "code", 0)
            text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            return target(f"binance: {type(exc).__name__}: {text}", code=code)
    msg = f"binance: unexpected {type(exc).__name__}: {exc}"
    return BinanceError(msg)


class _ApiErrorFields(Protocol):
    """What is read of python-binance's ``BinanceAPIException`` (set, untyped, in its init)."""

    @property
    def code(self) -> int | None: ...  # from the JSON body; 0 when the body is not JSON
    @property
    def status_code(self) -> int | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def response(self) -> object: ...  # the aiohttp response: its headers hold Retry-After


def _api_error(exc: _ApiErrorFields) -> BinanceError:
    code, status = int(exc.code or 0), int(exc.status_code or 0)
    text = f"binance: code {code} (HTTP {status}): {exc.message}"
    if status in (418, 429):
        return RateLimited(text, code=code, status=status, retry_after=_retry_after(exc))
    if status >= 500 or code in _UNKNOWN_OUTCOME:
        return BinanceUnavailable(text, code=code, status=status)
    if code in _AUTH or status in (401, 403):
        return BinanceAuthError(text, code=code, status=status)
    if code in _NOT_FOUND:
        return BinanceOrderNotFound(text, code=code, status=status)
    if code == -2010 and exc.message == DUPLICATE_MESSAGE:
        return BinanceDuplicateOrder(text, code=code, status=status)
    if code in (-1013, -2010, -1111, -1116, -1121):
        return BinanceOrderRejected(text, code=code, status=status)
    return BinanceError(text, code=code, status=status)


def _retry_after(exc: _ApiErrorFields) -> float | None:
    headers: Mapping[str, str] = getattr(exc.response, "headers", None) or {}
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
