"""The sinks: a generic JSON webhook and a Telegram bot (Bot API ``sendMessage``).

Both post with aiohttp from one session each (made on first use, closed by ``aclose``). A
failure is a :class:`~houseedge.live.notify._message.NotifyError` naming the sink and the HTTP
status or the exception's type, never the URL: a Telegram URL holds the bot token
(``{base}/bot<token>/sendMessage``) and a webhook URL often holds a secret of its own.
"""

from __future__ import annotations

import os
from typing import Any, Final

import aiohttp
import msgspec

from houseedge.errors import ConfigError
from houseedge.live.notify._message import Notification, NotifyError

__all__ = ["TELEGRAM_TOKEN_ENV", "TelegramNotifier", "WebhookNotifier", "telegram_text"]

TELEGRAM_TOKEN_ENV: Final = "HOUSEEDGE_TELEGRAM_BOT_TOKEN"  # noqa: S105 (a variable name)
_TELEGRAM_LIMIT: Final = 4096  # the Bot API's longest message text


class _HttpSink:
    """One aiohttp session, JSON posts, and errors that never carry the URL."""

    name: str

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def _post(self, url: str, body: bytes) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"Content-Type": "application/json"})
        try:
            async with self._session.post(url, data=body) as response:
                return response.status, await response.read()
        except aiohttp.ClientError as exc:
            # ``from None``: the cause's text may hold the URL, and with it the secret.
            msg = f"{self.name}: {type(exc).__name__}"
            raise NotifyError(msg) from None

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class WebhookNotifier(_HttpSink):
    """POST each notification as JSON (the :class:`Notification` fields) to ``url``.

    Any 2xx answer is a delivery; anything else raises :class:`NotifyError` with the status.

    Examples
    --------
    >>> sink = WebhookNotifier("http://127.0.0.1:9/hook", name="ops")
    >>> sink.name, "127.0.0.1" in repr(sink)
    ('ops', False)
    """

    def __init__(self, url: str, *, name: str = "webhook") -> None:
        super().__init__()
        if not url.startswith(("http://", "https://")):
            msg = f"webhook {name!r}: url must start with http:// or https://"
            raise ConfigError(msg)
        self.name, self._url = name, url

    def __repr__(self) -> str:
        return f"WebhookNotifier(name={self.name!r})"

    async def send(self, message: Notification) -> None:
        """POST ``message`` as JSON; raise NotifyError unless the answer is 2xx."""
        status, _ = await self._post(self._url, msgspec.json.encode(message))
        if not 200 <= status < 300:
            msg = f"{self.name}: the webhook answered HTTP {status}"
            raise NotifyError(msg)


class TelegramNotifier(_HttpSink):
    """Send each notification to a Telegram chat through a bot (Bot API ``sendMessage``).

    Parameters
    ----------
    chat_id
        The chat (a user, group or channel id, or ``@channel``).
    token_env
        The environment variable holding the bot token (read once, here); the token is never
        taken from a file, and never appears in a log, an error or a ``repr``.
    base_url
        The Bot API's address (a loopback fake in tests).
    name
        The sink's name in logs and counters.

    Examples
    --------
    >>> import os
    >>> os.environ["DOCTEST_BOT_TOKEN"] = "123:secret"
    >>> sink = TelegramNotifier("42", token_env="DOCTEST_BOT_TOKEN")
    >>> "secret" in repr(sink), sink.name
    (False, 'telegram')
    >>> del os.environ["DOCTEST_BOT_TOKEN"]
    """

    def __init__(
        self,
        chat_id: str | int,
        *,
        token_env: str = TELEGRAM_TOKEN_ENV,
        base_url: str = "https://api.telegram.org",
        name: str = "telegram",
    ) -> None:
        super().__init__()
        token = os.environ.get(token_env, "").strip()
        if not token:
            msg = f"telegram sink {name!r}: set the bot token in the environment as {token_env}"
            raise ConfigError(msg)
        self.name, self.chat_id = name, str(chat_id)
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"

    def __repr__(self) -> str:
        return f"TelegramNotifier(name={self.name!r}, chat_id={self.chat_id!r})"

    async def send(self, message: Notification) -> None:
        """Call ``sendMessage``; raise NotifyError unless the Bot API answers ``ok``."""
        body = msgspec.json.encode({"chat_id": self.chat_id, "text": telegram_text(message)})
        status, answer = await self._post(self._url, body)
        ok = False
        description = ""
        try:
            decoded: Any = msgspec.json.decode(answer)
            ok = isinstance(decoded, dict) and decoded.get("ok") is True  # pyright: ignore[reportUnknownMemberType]
            if isinstance(decoded, dict):
                description = str(decoded.get("description", ""))[:200]  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        except msgspec.DecodeError:
            pass
        if status != 200 or not ok:
            msg = f"{self.name}: sendMessage answered HTTP {status} {description}".rstrip()
            raise NotifyError(msg)


def telegram_text(message: Notification) -> str:
    """Return a notification as a chat message: level and title, the text, the key figures.

    Examples
    --------
    >>> print(telegram_text(Notification(level="critical", title="Kill switch", kind="kill",
    ...     text="halted by operator ops", fields={"flatten": True})))
    [CRITICAL] Kill switch
    halted by operator ops
    flatten: True
    """
    lines = [f"[{message.level.upper()}] {message.title}", message.text]
    lines += [f"{key}: {value}" for key, value in message.fields.items()]
    return "\n".join(line for line in lines if line)[:_TELEGRAM_LIMIT]
