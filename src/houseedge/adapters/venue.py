"""What every venue's factory takes and returns: the one shape the broker registry builds from.

Each venue package (``houseedge.adapters.alpaca``, ``.binance``, ``.ib``, a third party's) has a
``factory.build_venue(settings)`` that returns a :class:`Venue` (its broker and the market feed
that goes with it), registered under the ``houseedge.brokers`` entry-point group (see
``adapters/README.md``). ``settings`` is anything with the :class:`VenueSettings` attributes:
:class:`~houseedge.app.settings.LiveSettings` is one, a test's stand-in another.

This module imports no broker SDK: the registry and a third-party venue import it freely.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings

from houseedge.config import unknown_key
from houseedge.core.broker import Broker, MarketFeed
from houseedge.core.costs import LinearCostModel
from houseedge.errors import ConfigError

__all__ = [
    "Secret",
    "Venue",
    "VenueFactory",
    "VenueSettings",
    "keys_of",
    "load_config",
    "refuse_secrets",
]

C = TypeVar("C", bound=BaseSettings)


class Secret(Protocol):
    """A secret value (pydantic's ``SecretStr``): its text only on request, never in a repr."""

    def get_secret_value(self) -> str:
        """Return the secret's text."""
        ...


class VenueSettings(Protocol):
    """What a venue factory may read of the engine's settings."""

    @property
    def broker(self) -> str:
        """Return the registered name of the venue (``"alpaca"``)."""
        ...

    @property
    def symbols(self) -> Sequence[str]:
        """Return the engine's symbols."""
        ...

    @property
    def broker_key(self) -> Secret | None:
        """Return the venue's API key (environment only), if set."""
        ...

    @property
    def broker_secret(self) -> Secret | None:
        """Return the venue's API secret (environment only), if set."""
        ...

    @property
    def cash(self) -> float:
        """Return the starting cash of a simulated account."""
        ...

    @property
    def latency_ms(self) -> float:
        """Return the simulated order latency of the paper broker."""
        ...

    def cost_model(self) -> LinearCostModel:
        """Return the paper broker's cost model."""
        ...

    def venue_options(self, name: str) -> Mapping[str, Any]:
        """Return the table of options for venue ``name`` (``[alpaca]`` in the TOML)."""
        ...

    def replay_feed(self) -> MarketFeed:
        """Return a replay of the store's bars of the engine's symbols and timeframe."""
        ...


class Venue(NamedTuple):
    """A venue ready to trade: its broker and the market feed the engine runs on."""

    broker: Broker
    feed: MarketFeed


class VenueFactory(Protocol):
    """``build_venue``: what an entry point of the ``houseedge.brokers`` group loads."""

    def __call__(self, settings: VenueSettings) -> Venue:
        """Return the venue the settings configure."""
        ...


_KEYS = ("api_key", "api_secret")


def refuse_secrets(venue: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a venue's options table; a key or secret in it is a ConfigError.

    Examples
    --------
    >>> refuse_secrets("alpaca", {"paper": True})
    {'paper': True}
    >>> refuse_secrets("alpaca", {"api_secret": "x"})
    Traceback (most recent call last):
    ...
    houseedge.errors.ConfigError: [alpaca] api_secret is a secret: set HOUSEEDGE_ALPACA_API_SECRET \
(or HOUSEEDGE_BROKER_SECRET) in the environment, not in a file
    """
    for name in _KEYS:
        if name in table:
            common = "HOUSEEDGE_BROKER_KEY" if name == "api_key" else "HOUSEEDGE_BROKER_SECRET"
            msg = (
                f"[{venue}] {name} is a secret: set HOUSEEDGE_{venue.upper()}_{name.upper()} "
                f"(or {common}) in the environment, not in a file"
            )
            raise ConfigError(msg)
    return dict(table)


def keys_of(settings: VenueSettings) -> dict[str, Secret]:
    """Return the settings' broker key and secret as ``api_key`` / ``api_secret`` (when set).

    Examples
    --------
    >>> from pydantic import SecretStr
    >>> class Settings:
    ...     broker_key, broker_secret = SecretStr("k"), None
    >>> keys_of(Settings())
    {'api_key': SecretStr('**********')}
    """
    pairs = (("api_key", settings.broker_key), ("api_secret", settings.broker_secret))
    return {name: value for name, value in pairs if value is not None}


def _problem(kind: type[BaseSettings], venue: str, error: ErrorDetails) -> str:
    where = ".".join(map(str, error["loc"]))
    if error["type"] == "extra_forbidden":
        return unknown_key(where, venue, kind.model_fields)
    return f"{where}: {error['msg']}"


def load_config(kind: type[C], venue: str, settings: VenueSettings, **defaults: Any) -> C:
    """Return a venue's config: environment, then the ``[venue]`` table, then the settings' keys.

    Precedence is the live settings' own (the environment over the file): a
    ``HOUSEEDGE_<VENUE>_<FIELD>`` variable beats the table, which beats ``defaults`` (values the
    factory derives from the settings, e.g. the engine's symbols); the keys come from
    ``HOUSEEDGE_BROKER_KEY`` / ``HOUSEEDGE_BROKER_SECRET`` or the venue's own variables.

    Raises
    ------
    ConfigError
        The table holds a secret, or a value is missing or invalid (the message names the
        fields; pydantic shows secrets masked).
    """
    table = refuse_secrets(venue, settings.venue_options(venue))
    values: dict[str, Any] = {**defaults, **table, **keys_of(settings)}
    prefix = f"HOUSEEDGE_{venue.upper()}_"
    present = {name.upper() for name in os.environ if name.upper().startswith(prefix)}
    for field in list(values):
        if prefix + field.upper() in present:
            del values[field]  # BaseSettings reads it from the environment
    try:
        return kind(**values)
    except ValidationError as exc:
        problems = sorted({_problem(kind, venue, error) for error in exc.errors()})
        msg = (
            f"{venue} settings invalid or missing: {'; '.join(problems)} (the [{venue}] table or "
            f"{prefix}* variables; keys from HOUSEEDGE_BROKER_KEY / HOUSEEDGE_BROKER_SECRET)"
        )
        raise ConfigError(msg) from None
