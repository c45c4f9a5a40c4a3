"""Connect to TWS and reconnect with backoff: ib-async itself never reconnects.

A connection attempt races ``IB.connectAsync`` against TWS's error 326 (client id in use),
which ib-async would otherwise wait out to its timeout, and moves on to the next spare client id.
After a loss, :func:`reconnect` retries with jittered exponential backoff until it connects or
the adapter closes; the caller then reconciles (:mod:`houseedge.adapters.ib.reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

import ib_async

from houseedge.adapters.ib.config import IbConfig
from houseedge.adapters.ib.errors import ClientIdInUse, translate
from houseedge.errors import BrokerUnavailable

__all__ = ["Backoff", "open_connection", "reconnect"]


class Backoff:
    """Jittered exponential delays: ``initial * 2**n`` capped at ``maximum``.

    Examples
    --------
    >>> backoff = Backoff(0.5, 4.0, jitter=0.0)
    >>> [backoff.next() for _ in range(5)]
    [0.5, 1.0, 2.0, 4.0, 4.0]
    >>> backoff.reset(); backoff.next()
    0.5
    """

    def __init__(
        self,
        initial: float,
        maximum: float,
        *,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.initial, self.maximum, self.jitter = initial, maximum, jitter
        self.rng = rng or random.Random()  # noqa: S311 (spreading retries, not secrets)
        self.attempt = 0

    def next(self) -> float:
        """Return the next delay in seconds."""
        base = min(self.maximum, self.initial * 2**self.attempt)
        self.attempt += 1
        return base * (1 + self.rng.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        """Start again from ``initial`` (after a success)."""
        self.attempt = 0


async def _attempt(ib: ib_async.IB, config: IbConfig, client_id: int) -> None:
    refused = asyncio.Event()

    def on_error(req_id: int, code: int, *_: Any) -> None:
        if code == 326:
            refused.set()

    ib.errorEvent += on_error
    connect = asyncio.ensure_future(
        ib.connectAsync(
            config.host,
            config.port,
            clientId=client_id,
            timeout=config.connect_timeout_seconds,
            account=config.account,
        )
    )
    watch = asyncio.ensure_future(refused.wait())
    try:
        await asyncio.wait({connect, watch}, return_when=asyncio.FIRST_COMPLETED)
        if refused.is_set():
            connect.cancel()
            with contextlib.suppress(BaseException):
                await connect
            ib.disconnect()
            msg = f"ib client id {client_id} is in use"
            raise ClientIdInUse(msg)
        connect.result()
    except ClientIdInUse:
        raise
    except Exception as exc:
        raise translate(exc, "connect") from exc
    finally:
        watch.cancel()
        ib.errorEvent -= on_error


async def open_connection(ib: ib_async.IB, config: IbConfig, log: Any) -> int:
    """Connect once, trying each client id of the config; return the one that connected.

    Raises
    ------
    ClientIdInUse
        Every client id was refused.
    BrokerUnavailable
        TWS could not be reached or did not finish the handshake in time.
    """
    last: BrokerUnavailable | None = None
    for client_id in config.client_ids:
        try:
            await _attempt(ib, config, client_id)
        except ClientIdInUse as exc:
            log.warning("ib.client_id_in_use", client_id=client_id)
            last = exc
            continue
        return client_id
    if last is None:
        msg = "the config has no client id to try"
        raise ValueError(msg)
    raise last


async def reconnect(
    connect: Callable[[], Awaitable[int]],
    backoff: Backoff,
    *,
    closing: Callable[[], bool],
    log: Any,
    attempts: int | None = None,
) -> int | None:
    """Call ``connect`` until it succeeds, sleeping ``backoff`` between failures.

    Returns the client id, or None when ``closing()`` became true first. With ``attempts``
    set, the last failure is raised after that many.
    """
    tries = 0
    while not closing():
        try:
            client_id = await connect()
        except BrokerUnavailable as exc:
            tries += 1
            if attempts is not None and tries >= attempts:
                raise
            delay = backoff.next()
            log.warning(
                "ib.connect_failed",
                attempt=tries,
                retry_in_s=round(delay, 3),
                error=type(exc).__name__,
            )
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        return client_id
    return None
