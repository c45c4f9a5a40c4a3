"""TWS error codes and ib-async exceptions, translated once.

Everything the adapter raises is a :class:`~houseedge.errors.BrokerError`; third-party
exceptions are turned into ours here and nowhere else (:func:`translate`, :func:`translated`),
raised ``from`` the original. TWS reports through ``error`` messages; :func:`classify` names
what a code means for the adapter (:data:`CODES`).

======================  =================================================================
code                    meaning (kind)
======================  =================================================================
1100                    TWS lost its link to IB; the socket stays up (``link_lost``)
1101                    link restored, data lost: resubscribe and reconcile (``link_restored``)
1102                    link restored, data maintained: reconcile (``link_restored``)
2103, 2105, 2157        a data farm is down (``farm_down``)
2104, 2106, 2158        a data farm is OK (``farm_ok``)
326                     the client id is in use (``client_id_in_use``)
103                     duplicate order id (``order_rejected``)
201, 203                order rejected (``order_rejected``)
202                     order cancelled (``order_cancelled``)
161, 10147, 10148       the cancel cannot be done (``cancel_rejected``)
200                     no contract found (``no_contract``)
2100..2199 otherwise    informational warnings (``warning``)
======================  =================================================================
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from contextlib import contextmanager
from typing import Final

from ib_async.flexreport import FlexError
from ib_async.wrapper import RequestError

from houseedge.errors import BrokerError, BrokerUnavailable

__all__ = [
    "CODES",
    "UPSTREAM",
    "ClientIdInUse",
    "ContractNotFound",
    "classify",
    "translate",
    "translated",
]


class ClientIdInUse(BrokerUnavailable):
    """TWS refused the API client id (error 326): another session holds it."""


class ContractNotFound(BrokerError):
    """TWS knows no single contract for a symbol."""


CODES: Final[dict[int, str]] = {
    1100: "link_lost",
    1101: "link_restored",
    1102: "link_restored",
    1300: "link_lost",
    2103: "farm_down",
    2105: "farm_down",
    2157: "farm_down",
    2104: "farm_ok",
    2106: "farm_ok",
    2158: "farm_ok",
    326: "client_id_in_use",
    103: "order_rejected",
    201: "order_rejected",
    203: "order_rejected",
    202: "order_cancelled",
    161: "cancel_rejected",
    10147: "cancel_rejected",
    10148: "cancel_rejected",
    200: "no_contract",
}
"""TWS error code -> what it means to the adapter (see the module doc)."""


def classify(code: int) -> str:
    """Return the kind of a TWS error code (``"error"`` when it is not one we act on).

    Examples
    --------
    >>> classify(1101), classify(2104), classify(2150), classify(504)
    ('link_restored', 'farm_ok', 'warning', 'error')
    """
    kind = CODES.get(code)
    if kind is not None:
        return kind
    return "warning" if 2100 <= code < 2200 else "error"


UPSTREAM: Final[dict[type[BaseException], type[BrokerError]]] = {
    RequestError: BrokerError,
    FlexError: BrokerError,
    ConnectionError: BrokerUnavailable,  # includes ConnectionRefusedError, "Not connected"
    TimeoutError: BrokerUnavailable,  # asyncio.TimeoutError is TimeoutError on 3.11
    OSError: BrokerUnavailable,
}
"""Third-party exception -> our error (most specific first)."""


def translate(exc: BaseException, during: str) -> BrokerError:
    """Return the :class:`~houseedge.errors.BrokerError` for an exception raised by ib-async.

    Examples
    --------
    >>> translate(ConnectionRefusedError(111, "refused"), "connect")
    BrokerUnavailable('ib connect: ConnectionRefusedError: [Errno 111] refused')
    >>> type(translate(RequestError(7, 162, "no data"), "history")).__name__
    'BrokerError'
    """
    if isinstance(exc, BrokerError):
        return exc
    for kind, ours in UPSTREAM.items():
        if isinstance(exc, kind):
            return ours(f"ib {during}: {type(exc).__name__}: {exc}")
    return BrokerError(f"ib {during}: unexpected {type(exc).__name__}: {exc}")


@contextmanager
def translated(during: str) -> Generator[None]:
    """Translate whatever ib-async raises inside the block (cancellation passes through).

    Examples
    --------
    >>> with translated("submit"):
    ...     raise ConnectionError("Not connected")
    Traceback (most recent call last):
    ...
    houseedge.errors.BrokerUnavailable: ib submit: ConnectionError: Not connected
    """
    try:
        yield
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise translate(exc, during) from exc
