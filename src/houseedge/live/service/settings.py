"""The HTTP service's settings: host, port, bearer token, SSE stream and drain knobs.

:class:`ServiceSettings` reads ``HOUSEEDGE_SERVICE_*`` environment variables (or a TOML table)
and hands the ``GET /events`` part to :mod:`houseedge.live.service._sse` as a ``StreamSettings``. It
lives apart from :mod:`houseedge.live.service` so that module holds the routes and the drain
only; import it from there (``houseedge.live.service.ServiceSettings``), its public home.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from houseedge.live.notify import NotifySinkConfig
from houseedge.live.service._sse import StreamSettings

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """The service's settings: ``HOUSEEDGE_SERVICE_*`` environment variables or a TOML table.

    The token is read from the environment only (``HOUSEEDGE_SERVICE_TOKEN``); a config file
    that sets it is refused, so it never sits in a file next to the code. An unknown field is
    refused too (a misspelt knob must not silently keep its default).
    ``notify`` lists the notification sinks (``[[service.notify]]`` tables,
    :class:`~houseedge.live.notify.NotifySinkConfig`); the service relays the engine's events to
    them while it runs.

    Examples
    --------
    >>> settings = ServiceSettings(port=0, token=SecretStr("t"))
    >>> settings.host, settings.port, settings.token
    ('127.0.0.1', 0, SecretStr('**********'))
    """

    model_config = SettingsConfigDict(env_prefix="HOUSEEDGE_SERVICE_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535, description="0: an ephemeral port")
    token: SecretStr | None = Field(default=None, description="bearer token for mutations")
    operator: str = Field(default="bearer", description="operator name for authenticated calls")
    heartbeat: float = Field(default=15.0, gt=0, description="seconds between SSE heartbeats")
    retry_ms: int = Field(default=2000, ge=0, description="SSE reconnection hint")
    max_lag: int = Field(default=10_000, ge=1, description="events before a slow SSE client drops")
    page_size: int = Field(default=500, ge=1, description="journal events per replay read")
    batch_interval: float = Field(
        default=0.02, ge=0, description="seconds a stream waits after a write so events coalesce"
    )
    drain_timeout: float = Field(default=10.0, gt=0, description="seconds to stop the engine")
    notify: list[NotifySinkConfig] = Field(
        default_factory=list[NotifySinkConfig], description="[[service.notify]] sinks"
    )

    def stream_settings(self) -> StreamSettings:
        """Return the ``GET /events`` part of these settings."""
        return StreamSettings(
            heartbeat=self.heartbeat,
            retry_ms=self.retry_ms,
            max_lag=self.max_lag,
            page_size=self.page_size,
            batch_interval=self.batch_interval,
        )
