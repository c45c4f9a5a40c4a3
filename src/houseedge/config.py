"""Settings from ``HOUSEEDGE_*`` environment variables and an optional TOML file.

Secrets (API keys, the service token) come only from the environment and are held as
``SecretStr`` so they never print.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STORE = Path("data/store")


class Settings(BaseSettings):
    """Process-wide settings.

    Examples
    --------
    >>> import os
    >>> os.environ["HOUSEEDGE_STORE"] = "/tmp/houseedge-doctest-store"
    >>> str(Settings().store)
    '/tmp/houseedge-doctest-store'
    >>> del os.environ["HOUSEEDGE_STORE"]
    """

    model_config = SettingsConfigDict(env_prefix="HOUSEEDGE_", extra="ignore")

    store: Path = Field(default=DEFAULT_STORE, description="root of the Parquet store")
    log_level: str = "INFO"


def store_root(explicit: str | Path | None = None) -> Path:
    """Return the store root: an explicit path, else ``HOUSEEDGE_STORE``, else ``./data/store``.

    Examples
    --------
    >>> str(store_root("/tmp/x"))
    '/tmp/x'
    """
    return Path(explicit) if explicit is not None else Settings().store
