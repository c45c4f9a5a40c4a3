"""The ``[[service.notify]]`` tables: one sink each, validated once, built into a dispatcher.

A table names its ``type`` (``webhook`` or ``telegram``) with the sink's address, and the
dispatcher's filters and retry bounds. A secret is never read from the file: a key such as
``token`` is refused with the environment variable to use instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from houseedge.errors import ConfigError
from houseedge.live.notify._dispatch import Dispatcher, SinkOptions
from houseedge.live.notify._mapping import KINDS
from houseedge.live.notify._message import Level, Notifier
from houseedge.live.notify._sinks import TELEGRAM_TOKEN_ENV, TelegramNotifier, WebhookNotifier

__all__ = ["NotifySinkConfig", "build_dispatcher"]

_SECRETS = frozenset({"token", "bot_token", "api_token", "secret", "password"})


class NotifySinkConfig(BaseModel):
    """One notification sink from the service's config (``[[service.notify]]``).

    Examples
    --------
    >>> config = NotifySinkConfig(type="webhook", url="http://127.0.0.1:9/hook",
    ...     min_level="warning", kinds=["feed_stale"])
    >>> config.sink_name, config.options().min_level
    ('webhook', 'warning')
    >>> NotifySinkConfig(type="telegram", chat_id="1", token="x")
    Traceback (most recent call last):
    ...
    houseedge.errors.ConfigError: [[service.notify]] token is a secret: set it in the \
environment (HOUSEEDGE_TELEGRAM_BOT_TOKEN, or the variable token_env names)
    >>> NotifySinkConfig(type="telegram", chatid="1")
    Traceback (most recent call last):
    ...
    houseedge.errors.ConfigError: [[service.notify]] has an unknown key 'chatid' (did you \
mean 'chat_id'?)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    type: Literal["webhook", "telegram"]
    name: str | None = Field(default=None, description="in logs and counters (default: type)")
    url: str | None = Field(default=None, description="webhook: where to POST the JSON")
    chat_id: str | None = Field(default=None, description="telegram: the chat to message")
    token_env: str = Field(default=TELEGRAM_TOKEN_ENV, description="telegram: the token's env var")
    base_url: str = Field(default="https://api.telegram.org", description="telegram: Bot API")
    min_level: Level = "info"
    kinds: list[str] | None = Field(default=None, description="only these notification kinds")
    exclude: list[str] = Field(default_factory=list, description="never these kinds")
    queue_size: int = Field(default=1000, ge=1)
    attempts: int = Field(default=5, ge=1)
    backoff: float = Field(default=0.5, ge=0, description="seconds before the first retry")
    max_backoff: float = Field(default=30.0, ge=0)
    timeout: float = Field(default=10.0, gt=0, description="seconds one attempt may take")
    give_up_after: float = Field(default=120.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """Refuse a secret or an unknown key by its name alone.

        Raised as ``ConfigError``, which pydantic lets through unwrapped: its own error would
        print the input, and a mistyped key may hold a token.
        """
        keys = _keys(data)
        for key in sorted(_SECRETS & keys):
            msg = (
                f"[[service.notify]] {key} is a secret: set it in the environment "
                f"({TELEGRAM_TOKEN_ENV}, or the variable token_env names)"
            )
            raise ConfigError(msg)
        for key in sorted(keys - set(cls.model_fields)):
            near = difflib.get_close_matches(key, sorted(cls.model_fields), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            msg = f"[[service.notify]] has an unknown key {key!r}{hint}"
            raise ConfigError(msg)
        return data

    @field_validator("kinds", "exclude")
    @classmethod
    def _known_kinds(cls, kinds: list[str] | None) -> list[str] | None:
        for kind in kinds or ():
            if kind not in KINDS:
                near = difflib.get_close_matches(kind, sorted(KINDS), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                msg = f"unknown notification kind {kind!r}{hint}; known: {sorted(KINDS)}"
                raise ValueError(msg)
        return kinds

    @model_validator(mode="after")
    def _address(self) -> NotifySinkConfig:
        if self.type == "webhook" and not self.url:
            msg = "notify: a webhook sink needs url"
            raise ValueError(msg)
        if self.type == "telegram" and not self.chat_id:
            msg = "notify: a telegram sink needs chat_id"
            raise ValueError(msg)
        return self

    @property
    def sink_name(self) -> str:
        """Return the sink's name (its ``type`` unless named)."""
        return self.name or self.type

    def options(self) -> SinkOptions:
        """Return the dispatcher's options for this sink."""
        return SinkOptions(
            min_level=self.min_level,
            kinds=None if self.kinds is None else frozenset(self.kinds),
            exclude=frozenset(self.exclude),
            queue_size=self.queue_size,
            attempts=self.attempts,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
            timeout=self.timeout,
            give_up_after=self.give_up_after,
        )

    def notifier(self) -> Notifier:
        """Return the sink (a Telegram sink reads its token from the environment now)."""
        if self.type == "webhook":
            return WebhookNotifier(str(self.url), name=self.sink_name)
        return TelegramNotifier(
            str(self.chat_id), token_env=self.token_env, base_url=self.base_url, name=self.sink_name
        )


def _keys(table: object) -> set[str]:
    return (
        {str(k) for k in cast("Mapping[str, Any]", table)} if isinstance(table, Mapping) else set()
    )


def build_dispatcher(configs: Sequence[NotifySinkConfig]) -> Dispatcher:
    """Return a dispatcher over the sinks ``configs`` describe (not started).

    Raises
    ------
    ConfigError
        A Telegram sink's token variable is not set.

    Examples
    --------
    >>> dispatcher = build_dispatcher([NotifySinkConfig(type="webhook",
    ...     url="http://127.0.0.1:9/hook", name="ops")])
    >>> list(dispatcher.stats())
    ['ops']
    """
    return Dispatcher([(config.notifier(), config.options()) for config in configs])
