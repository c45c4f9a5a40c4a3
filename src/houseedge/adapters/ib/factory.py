"""Build the IB broker from live settings (the engine's ``broker = "ib"``)."""

from __future__ import annotations

import os
from typing import Any

from houseedge.adapters.ib.client import IbBroker
from houseedge.adapters.ib.config import IbConfig
from houseedge.errors import ConfigError

__all__ = ["broker_from_settings", "config_from"]


def config_from(table: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> IbConfig:
    """Return an :class:`IbConfig` from a settings table (``[ib]``) and ``HOUSEEDGE_IB_*`` vars.

    Examples
    --------
    >>> config_from({"port": 4002}, {"HOUSEEDGE_IB_CLIENT_ID": "9"}).client_id
    9
    """
    import msgspec

    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = dict(table or {})
    for field in IbConfig.__struct_fields__:
        raw = env.get(f"HOUSEEDGE_IB_{field.upper()}")
        if raw is not None:
            values[field] = raw
    try:
        return msgspec.convert(values, IbConfig, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        msg = f"ib settings: {exc}"
        raise ConfigError(msg) from exc


def broker_from_settings(settings: Any) -> IbBroker:
    """Return the IB broker for :class:`~houseedge.app.settings.LiveSettings` (its ``ib`` table).

    Examples
    --------
    >>> class Settings: ib = {"port": 4002, "client_id": 3}
    >>> broker_from_settings(Settings()).config.port
    4002
    """
    return IbBroker(config_from(getattr(settings, "ib", None)))
