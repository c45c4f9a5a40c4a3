"""Build the Binance broker and feed from live settings (the engine's ``broker = "binance"``).

Configuration: a ``[binance]`` table of the settings (any :class:`BinanceConfig` field but the
keys), then ``HOUSEEDGE_BINANCE_*`` variables; the keys come from the environment only
(``HOUSEEDGE_BINANCE_API_KEY`` / ``_API_SECRET``, or the settings' ``broker_key`` /
``broker_secret``, themselves environment-only). The engine's ``symbols`` are the broker's when
the table names none.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, ValidationError

from houseedge.adapters.binance.client import BinanceBroker
from houseedge.adapters.binance.config import BinanceConfig
from houseedge.adapters.binance.feed import BinanceFeed
from houseedge.errors import ConfigError

__all__ = ["broker_and_feed", "config_from_settings"]

_KEYS = frozenset({"api_key", "api_secret"})


def config_from_settings(settings: Any) -> BinanceConfig:
    """Return the Binance config of :class:`~houseedge.app.settings.LiveSettings`.

    Raises
    ------
    ConfigError
        The ``[binance]`` table holds a key, or a value is invalid.

    Examples
    --------
    >>> class Settings:
    ...     symbols = ["ETHUSDT"]; binance = {"kline_interval": "5m"}
    ...     broker_key = broker_secret = None
    >>> config = config_from_settings(Settings())
    >>> config.symbols, config.kline_interval
    (['ETHUSDT'], '5m')
    """
    table = dict(getattr(settings, "binance", None) or {})
    for name in sorted(_KEYS & table.keys()):
        msg = f"binance settings: {name} is a secret: set HOUSEEDGE_BINANCE_{name.upper()}"
        raise ConfigError(msg)
    table.setdefault("symbols", list(getattr(settings, "symbols", None) or ["BTCUSDT"]))
    for field, source in (("api_key", "broker_key"), ("api_secret", "broker_secret")):
        secret: SecretStr | None = getattr(settings, source, None)
        if secret is not None:
            table[field] = secret
    try:
        return BinanceConfig(**table)
    except ValidationError as exc:
        msg = f"binance settings: {exc}"
        raise ConfigError(msg) from exc


def broker_and_feed(settings: Any) -> tuple[BinanceBroker, BinanceFeed]:
    """Return the broker and its live feed (sharing last prices) for the settings.

    Examples
    --------
    >>> class Settings:
    ...     symbols = ["BTCUSDT"]; binance = None; broker_key = broker_secret = None
    >>> broker, feed = broker_and_feed(Settings())
    >>> broker.name, feed.marks is broker.marks
    ('binance', True)
    """
    config = config_from_settings(settings)
    broker = BinanceBroker(config)
    return broker, BinanceFeed(config, marks=broker.marks)
