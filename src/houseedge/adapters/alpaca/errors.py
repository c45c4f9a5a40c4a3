"""The one place alpaca-py's (and its transports') exceptions become houseedge errors.

Every call into alpaca-py, ``requests``, ``aiohttp`` or ``websockets`` goes through
:func:`translated`, which re-raises as a :class:`~houseedge.errors.BrokerError` leaf ``from`` the
original. :data:`TRANSLATIONS` is the table (a test checks it covers every exception class the
installed alpaca package defines):

=====================================  ==========================================================
``APIError`` 422 code 40010001         :class:`~houseedge.core.broker.DuplicateOrder`
``APIError`` 404                       :class:`~houseedge.core.broker.OrderNotFound`
``APIError`` 429, 5xx                  :class:`~houseedge.errors.BrokerUnavailable`
``APIError`` 401                       :class:`~houseedge.errors.BrokerError` (credentials)
``APIError`` 403, 422 (others)         :class:`~houseedge.errors.OrderRejected`
``RetryException``                     :class:`~houseedge.errors.BrokerUnavailable`
``requests`` / ``aiohttp`` / ws errors :class:`~houseedge.errors.BrokerUnavailable`
a malformed answer (pydantic, msgspec) :class:`~houseedge.errors.BrokerError`
=====================================  ==========================================================

Messages never include request headers, so credentials cannot leak through an error.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from typing import Final, Protocol, cast

import aiohttp
import msgspec
import pydantic
import requests
import websockets
from alpaca.common.exceptions import APIError, RetryException

from houseedge.core.broker import DuplicateOrder, OrderNotFound
from houseedge.errors import BrokerError, BrokerUnavailable, OrderRejected

__all__ = ["TRANSLATIONS", "translate", "translated"]

DUPLICATE_CODE: Final = 40010001


class _ApiErrorFields(Protocol):
    """What :func:`_api_error` reads of alpaca-py's ``APIError`` (unannotated properties)."""

    @property
    def status_code(self) -> int | None: ...  # the requests response's status, if any
    @property
    def code(self) -> object: ...  # parsed from the body: may raise
    @property
    def message(self) -> object: ...


def _api_error(exc: BaseException, operation: str) -> BrokerError:
    # The table dispatches by type, so exc is an APIError; alpaca-py leaves its properties
    # untyped, hence the protocol.
    api = cast(_ApiErrorFields, exc)
    status = api.status_code
    try:
        code, message = api.code, api.message
    except (ValueError, KeyError, TypeError):  # a body that is not Alpaca's JSON (a proxy's)
        code, message = None, str(exc)[:200]
    text = f"alpaca {operation}: HTTP {status} code {code}: {message}"
    if status == 422 and code == DUPLICATE_CODE:
        return DuplicateOrder(text)
    if status == 404:
        return OrderNotFound(text)
    if status is None or status == 429 or status >= 500:
        return BrokerUnavailable(text)
    if status in (403, 422):
        return OrderRejected(text)
    return BrokerError(text)


def _unavailable(exc: BaseException, operation: str) -> BrokerError:
    detail = f": {exc}" if str(exc) else ""
    return BrokerUnavailable(f"alpaca {operation}: {type(exc).__name__}{detail}")


def _malformed(exc: BaseException, operation: str) -> BrokerError:
    return BrokerError(f"alpaca {operation}: malformed answer: {type(exc).__name__}")


TRANSLATIONS: Final = (
    (APIError, _api_error),
    (RetryException, _unavailable),
    (requests.RequestException, _unavailable),
    (aiohttp.ClientError, _unavailable),
    (websockets.WebSocketException, _unavailable),
    (OSError, _unavailable),
    (TimeoutError, _unavailable),
    (pydantic.ValidationError, _malformed),
    (msgspec.ValidationError, _malformed),
    (json.JSONDecodeError, _malformed),
)
"""(exception type, translator) pairs, most specific first."""


def translate(exc: BaseException, operation: str) -> BrokerError | None:
    """Return the houseedge error for a third-party exception (None: not ours to translate).

    Examples
    --------
    >>> type(translate(RetryException(), "submit")).__name__
    'BrokerUnavailable'
    >>> translate(KeyError("x"), "submit") is None
    True
    """
    if isinstance(exc, BrokerError):
        return exc
    for kind, make in TRANSLATIONS:
        if isinstance(exc, kind):
            return make(exc, operation)
    return None


@contextlib.contextmanager
def translated(operation: str) -> Generator[None]:
    """Re-raise third-party exceptions in the block as houseedge errors.

    Examples
    --------
    >>> with translated("account"):
    ...     raise RetryException()
    Traceback (most recent call last):
    ...
    houseedge.errors.BrokerUnavailable: alpaca account: RetryException
    """
    try:
        yield
    except Exception as exc:
        error = translate(exc, operation)
        if error is None or error is exc:
            raise
        raise error from exc
