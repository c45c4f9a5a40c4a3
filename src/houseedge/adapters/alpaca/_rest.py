"""The REST side of the Alpaca broker: a timed ``TradingClient``, order requests, status reports.

alpaca-py's ``TradingClient`` sets no request timeout, so :func:`make_trading_client` builds one
that does; :data:`ORDER_REQUESTS` picks the request class for an order type; and
:func:`status_report` turns a REST order snapshot into the report it stands for (the submit
acknowledgement and the gap reconciliation both read snapshots). Split out of :mod:`.client` so
that module holds the broker's order flow and stream handling only.
"""

from __future__ import annotations

import functools
from typing import Final

from alpaca.trading import requests as rq
from alpaca.trading.client import TradingClient

from houseedge.adapters.alpaca.config import AlpacaConfig
from houseedge.core.broker import BrokerEvent, OrderSnapshot

__all__ = ["ORDER_REQUESTS", "make_trading_client", "status_report"]

ORDER_REQUESTS: Final = {
    "market": rq.MarketOrderRequest,
    "limit": rq.LimitOrderRequest,
    "stop": rq.StopOrderRequest,
    "stop_limit": rq.StopLimitOrderRequest,
    "trailing_stop": rq.TrailingStopOrderRequest,
}
"""alpaca-py's request class by :func:`~houseedge.adapters.alpaca.mapping.order_fields` ``type``."""


class _TimedTradingClient(TradingClient):
    """A raw-data ``TradingClient`` with a request timeout (alpaca-py sets none).

    A subclass because the session and the retry wait are alpaca-py's protected attributes.
    """

    def __init__(self, config: AlpacaConfig) -> None:
        super().__init__(
            config.api_key.get_secret_value(),
            config.api_secret.get_secret_value(),
            paper=config.paper,
            raw_data=True,
            url_override=config.base_url,
        )
        session = self._session
        session.request = functools.partial(session.request, timeout=config.request_timeout_seconds)  # type: ignore[method-assign]
        if config.rest_retry_wait_seconds is not None:
            self._retry_wait = config.rest_retry_wait_seconds


def make_trading_client(config: AlpacaConfig) -> TradingClient:
    """Return a raw-data ``TradingClient`` with a request timeout (alpaca-py sets none)."""
    return _TimedTradingClient(config)


def status_report(snap: OrderSnapshot) -> BrokerEvent | None:
    """Return the report a REST order snapshot stands for (None when it says nothing new)."""
    return snap.report("rejected by alpaca")
