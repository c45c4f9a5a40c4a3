"""The one import of python-binance, and the types the adapter gives its untyped corners.

python-binance 1.0.37 imports ``websockets.WebSocketClientProtocol``, which websockets 14+
deprecates on access; the project's warnings-as-errors filter only excuses the legacy-module
warning, so this import excuses this one too, here and nowhere else.

python-binance ships no stubs (nor ``py.typed``): pyright infers its types from the source,
which leaves some parameters and every JSON answer unknown. The adapter meets those corners
through the protocols here (:class:`ClientFactory`, :class:`MessageSocket`) and treats
messages as ``Any`` JSON narrowed by :func:`is_object`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"websockets\.\w+ is deprecated", category=DeprecationWarning
    )
    # No stubs exist for python-binance; its inline annotations are what pyright reads.
    from binance import AsyncClient  # pyright: ignore[reportMissingTypeStubs]
    from binance import exceptions as binance_exceptions  # pyright: ignore[reportMissingTypeStubs]
    from binance.ws.constants import WSListenerState  # pyright: ignore[reportMissingTypeStubs]
    from binance.ws.streams import BinanceSocketManager  # pyright: ignore[reportMissingTypeStubs]

if TYPE_CHECKING:
    from houseedge.adapters.binance.config import BinanceConfig

__all__ = [
    "AsyncClient",
    "BinanceSocketManager",
    "ClientFactory",
    "MessageSocket",
    "WSListenerState",
    "binance_exceptions",
    "client_class",
    "close_client",
    "create_client",
    "is_object",
    "receive",
]


class ClientFactory(Protocol):
    """``AsyncClient.create`` as the adapter calls it (python-binance leaves ``loop`` untyped)."""

    def create(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        session_params: dict[str, Any] | None = None,
    ) -> Awaitable[AsyncClient]:
        """Return a connected client (time offset and exchange pings done)."""
        ...


class MessageSocket(Protocol):
    """A python-binance ``ReconnectingWebsocket`` as read here (its ``recv`` is untyped)."""

    async def recv(self) -> Any:
        """Return the next JSON message (a dict; an error dict when the socket failed)."""
        ...


def create_client(
    factory: ClientFactory, api_key: str, api_secret: str, session_params: dict[str, Any]
) -> Awaitable[AsyncClient]:
    """Return ``factory.create(...)``: an ``AsyncClient`` (subclass) with keys and a session."""
    return factory.create(api_key, api_secret, session_params=session_params)


def receive(socket: MessageSocket) -> Coroutine[Any, Any, Any]:
    """Return the coroutine of the socket's next message (for ``asyncio.wait_for``)."""
    return socket.recv()


def is_object(value: object) -> TypeGuard[dict[str, Any]]:
    """Return whether a JSON value is an object (a dict keyed by strings).

    Examples
    --------
    >>> is_object({"e": "executionReport"}), is_object(["e"])
    (True, False)
    """
    return isinstance(value, dict)


def client_class(config: BinanceConfig) -> type[AsyncClient]:
    """Return an ``AsyncClient`` subclass with the configured URLs (class-level overrides).

    Examples
    --------
    >>> from houseedge.adapters.binance.config import BinanceConfig
    >>> cls = client_class(BinanceConfig(api_url="http://127.0.0.1:1/api"))
    >>> cls.API_URL, cls.WS_API_URL == AsyncClient.WS_API_URL
    ('http://127.0.0.1:1/api', True)
    """
    overrides = {
        "API_URL": config.api_url,
        "WS_API_URL": config.ws_api_url,
        "FUTURES_URL": config.futures_url,
    }
    return type(
        "HouseEdgeAsyncClient",
        (AsyncClient,),
        {k: v for k, v in overrides.items() if v is not None},
    )


async def close_client(client: Any) -> None:
    """Close a client at once.

    python-binance's WebSocket-API read loop waits up to 10 s in ``recv`` before it notices
    it should exit; marking it exiting and closing the socket first ends it now.
    """
    api = getattr(client, "ws_api", None)
    if api is not None and api.ws is not None:
        api.ws_state = WSListenerState.EXITING
        with contextlib.suppress(Exception):
            await api.ws.close()
    await client.close_connection()
