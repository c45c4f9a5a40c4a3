"""Settings of the Alpaca adapter: credentials (secret), endpoints, stream and timing knobs.

Credentials are :class:`~pydantic.SecretStr` and come from the environment only: the live
settings' ``HOUSEEDGE_BROKER_KEY``/``HOUSEEDGE_BROKER_SECRET`` (see
:func:`config_from_settings`) or ``HOUSEEDGE_ALPACA_API_KEY``/
``HOUSEEDGE_ALPACA_API_SECRET``. Other fields read ``HOUSEEDGE_ALPACA_<FIELD>``. The URL
overrides point every client elsewhere (the loopback fake in tests); left unset, alpaca-py's
paper or live hosts are used.

Examples
--------
>>> config = AlpacaConfig(api_key="k", api_secret="s", base_url="http://127.0.0.1:1")
>>> config.events_base, config.stream
('http://127.0.0.1:1', 'websocket')
>>> "s" in repr(config.api_secret)
False
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from houseedge.adapters.venue import VenueSettings, load_config

__all__ = ["AlpacaConfig", "config_from_settings"]

_PAPER_REST = "https://paper-api.alpaca.markets"
_LIVE_REST = "https://api.alpaca.markets"


class AlpacaConfig(BaseSettings):
    """How to reach Alpaca and how hard to watch the stream.

    Parameters
    ----------
    api_key, api_secret
        The account's key pair (secret; never logged).
    paper
        Paper account (default) or live.
    base_url, stream_url, data_url
        Overrides of the Trading REST base (alpaca-py adds ``/v2``), the trade_updates
        WebSocket URL and the market-data base.
    stream
        ``"websocket"`` (alpaca-py's ``TradingStream``) or ``"sse"`` (``/v2/events/trades``).
    staleness_seconds
        No message and no heartbeat for this long: reconnect and reconcile.
    reconcile_margin_seconds
        Reconciliation asks from this long before the last message (clock skew, late stamps).
    request_timeout_seconds
        Timeout of every REST request (alpaca-py sets none).
    rest_retry_wait_seconds
        alpaca-py's wait between its 429/504 retries (its default is 3 s).
    sse_reconnect_seconds
        First delay before the SSE stream re-opens (doubling to 30 s while it fails).
    reconcile_settle_seconds
        How long reconciliation lets the stream deliver a fill it found before calling it missing.
    connect_timeout_seconds
        How long :meth:`~houseedge.adapters.alpaca.client.AlpacaBroker.connect` waits for the
        stream before carrying on with REST reconciliation alone.
    """

    model_config = SettingsConfigDict(env_prefix="HOUSEEDGE_ALPACA_", extra="forbid", frozen=True)

    api_key: SecretStr
    api_secret: SecretStr
    paper: bool = True
    base_url: str | None = None
    stream_url: str | None = None
    data_url: str | None = None
    stream: Literal["websocket", "sse"] = "websocket"
    staleness_seconds: float = Field(default=30.0, gt=0)
    reconcile_margin_seconds: float = Field(default=5.0, ge=0)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    rest_retry_wait_seconds: int | None = Field(default=None, ge=0)
    connect_timeout_seconds: float = Field(default=5.0, ge=0)
    sse_reconnect_seconds: float = Field(default=0.5, gt=0)
    reconcile_settle_seconds: float = Field(default=0.25, ge=0)

    @property
    def events_base(self) -> str:
        """Return the host of ``/v2/events/trades`` (the Trading API host, as the Go SDK uses)."""
        if self.base_url is not None:
            return self.base_url
        return _PAPER_REST if self.paper else _LIVE_REST


def config_from_settings(settings: VenueSettings) -> AlpacaConfig:
    """Return the adapter's config: ``HOUSEEDGE_ALPACA_*``, the ``[alpaca]`` table, the keys.

    Raises
    ------
    ConfigError
        No credentials, a key in the table, or a malformed value (the message never holds a
        secret: pydantic shows ``SecretStr`` fields masked).

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> settings = LiveSettings(broker_key="k", broker_secret="s", alpaca={"paper": False})
    >>> config_from_settings(settings).paper
    False
    """
    return load_config(AlpacaConfig, "alpaca", settings)
