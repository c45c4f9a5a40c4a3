"""Build the Alpaca broker from the live settings (the hook ``build_engine`` needs).

``LiveSettings.broker`` is ``Literal["paper"]`` today; with ``"alpaca"`` added there,
``build_engine`` calls :func:`build_broker` instead of constructing the paper broker. Keys come
from ``HOUSEEDGE_BROKER_KEY``/``HOUSEEDGE_BROKER_SECRET`` (the settings' secrets) or
``HOUSEEDGE_ALPACA_API_KEY``/``HOUSEEDGE_ALPACA_SECRET_KEY``; the rest from
``HOUSEEDGE_ALPACA_*`` (see :class:`~houseedge.adapters.alpaca.config.AlpacaConfig`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from houseedge.adapters.alpaca.client import AlpacaBroker
from houseedge.adapters.alpaca.config import AlpacaConfig
from houseedge.errors import ConfigError

__all__ = ["alpaca_config", "build_broker"]


def alpaca_config(settings: Any = None, **overrides: Any) -> AlpacaConfig:
    """Return the adapter's config: ``overrides``, then the settings' keys, then the environment.

    Raises
    ------
    ConfigError
        No credentials, or a malformed ``HOUSEEDGE_ALPACA_*`` value (the message never holds a
        secret: pydantic's errors on ``SecretStr`` fields show it masked).

    Examples
    --------
    >>> alpaca_config(api_key="k", secret_key="s", base_url="http://127.0.0.1:9").base_url
    'http://127.0.0.1:9'
    """
    keys: dict[str, Any] = {}
    if settings is not None:
        for name, field in (("api_key", "broker_key"), ("secret_key", "broker_secret")):
            value = getattr(settings, field, None)
            if value is not None:
                keys[name] = value
    try:
        return AlpacaConfig(**(keys | overrides))
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        msg = (
            f"alpaca settings invalid or missing: {', '.join(fields)} (set HOUSEEDGE_BROKER_KEY "
            "and HOUSEEDGE_BROKER_SECRET, or HOUSEEDGE_ALPACA_*)"
        )
        raise ConfigError(msg) from None


def build_broker(settings: Any = None, **overrides: Any) -> AlpacaBroker:
    """Return an :class:`AlpacaBroker` for ``settings`` (a ``LiveSettings``; see the module doc).

    Examples
    --------
    >>> build_broker(api_key="k", secret_key="s").name
    'alpaca'
    """
    return AlpacaBroker(alpaca_config(settings, **overrides))
