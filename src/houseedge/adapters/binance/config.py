"""Binance adapter settings: keys from the environment only, endpoints overridable per market.

Keys are ``SecretStr`` read from ``HOUSEEDGE_BINANCE_API_KEY`` / ``HOUSEEDGE_BINANCE_API_SECRET``
(or given by the caller, e.g. from :class:`~houseedge.app.settings.LiveSettings`'s
``broker_key`` / ``broker_secret``); they are never logged and never read from a file. Every URL
defaults to Binance's production endpoint of the chosen ``market``; tests point them at
127.0.0.1.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from houseedge.adapters.venue import VenueSettings, load_config

__all__ = ["ENDPOINTS", "BinanceConfig", "config_from_settings"]

Market = Literal["spot", "usdm"]

ENDPOINTS: Final[dict[str, dict[str, str]]] = {
    "spot": {
        "create_order": "create_order",
        "get_order": "get_order",
        "cancel_order": "cancel_order",
        "open_orders": "get_open_orders",
        "all_orders": "get_all_orders",
        "my_trades": "get_my_trades",
        "account": "get_account",
        "exchange_info": "get_exchange_info",
        "klines": "get_klines",
        "server_time": "get_server_time",
    },
    "usdm": {
        "create_order": "futures_create_order",
        "get_order": "futures_get_order",
        "cancel_order": "futures_cancel_order",
        "open_orders": "futures_get_open_orders",
        "all_orders": "futures_get_all_orders",
        "my_trades": "futures_account_trades",
        "account": "futures_account",
        "exchange_info": "futures_exchange_info",
        "klines": "futures_klines",
        "server_time": "futures_time",
    },
}
"""The ``AsyncClient`` method behind each role, per market: the one switch between spot and
USD-M futures (the request shapes and answers are the same where it matters here)."""


class BinanceConfig(BaseSettings):
    """How to reach Binance and how patient to be.

    Examples
    --------
    >>> config = BinanceConfig(api_key="k", api_secret="s", symbols=["BTCUSDT"])
    >>> config.market, config.quote_asset, config.api_secret
    ('spot', 'USDT', SecretStr('**********'))
    """

    model_config = SettingsConfigDict(env_prefix="HOUSEEDGE_BINANCE_", extra="forbid")

    api_key: SecretStr = SecretStr("")
    api_secret: SecretStr = SecretStr("")
    market: Market = "spot"
    symbols: list[str] = Field(default_factory=lambda: ["BTCUSDT"])
    quote_asset: str = "USDT"
    api_url: str | None = None  # e.g. "http://127.0.0.1:P/api"
    ws_api_url: str | None = None  # e.g. "ws://127.0.0.1:P/ws-api/v3"
    stream_url: str | None = None  # e.g. "ws://127.0.0.1:P/"
    futures_url: str | None = None  # e.g. "http://127.0.0.1:P/fapi"
    futures_stream_url: str | None = None
    kline_interval: str = "1m"
    feed_trades: bool = False  # also yield the trade stream (marks between bars)
    staleness_seconds: float = Field(default=30.0, gt=0)
    resubscribe_timeout_seconds: float = Field(default=15.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)  # per REST call through 429/418/timeouts
    backoff_max_seconds: float = Field(default=60.0, gt=0)
    queue_size: int = Field(default=10_000, ge=100)  # market stream queue (python-binance's)


def config_from_settings(settings: VenueSettings) -> BinanceConfig:
    """Return the Binance config: ``HOUSEEDGE_BINANCE_*``, the ``[binance]`` table, the keys.

    The engine's ``symbols`` are the broker's when neither names any.

    Raises
    ------
    ConfigError
        The ``[binance]`` table holds a key, or a value is invalid.

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> settings = LiveSettings(symbols=["ETHUSDT"], binance={"kline_interval": "5m"})
    >>> config = config_from_settings(settings)
    >>> config.symbols, config.kline_interval
    (['ETHUSDT'], '5m')
    """
    return load_config(BinanceConfig, "binance", settings, symbols=list(settings.symbols))
