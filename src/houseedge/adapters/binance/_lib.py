"""The one import of python-binance.

python-binance 1.0.37 imports ``websockets.WebSocketClientProtocol``, which websockets 14+
deprecates on access; the project's warnings-as-errors filter only excuses the legacy-module
warning, so this import excuses this one too, here and nowhere else.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"websockets\.\w+ is deprecated", category=DeprecationWarning
    )
    from binance import AsyncClient
    from binance import exceptions as binance_exceptions
    from binance.ws.constants import WSListenerState
    from binance.ws.streams import BinanceSocketManager

__all__ = ["AsyncClient", "BinanceSocketManager", "WSListenerState", "binance_exceptions"]
