"""Live engine settings: pydantic-settings from ``HOUSEEDGE_*`` variables and a TOML file.

Precedence: keyword arguments, then the environment (``HOUSEEDGE_TIMEFRAME=1h``; nested fields
with ``__``: ``HOUSEEDGE_RISK__MAX_LONG=100``), then the TOML file given to
:meth:`LiveSettings.load`, then the defaults — which run the paper broker on the demo store, so
``houseedge live run`` works on a fresh machine. Secrets (the service's bearer token, broker keys)
are ``SecretStr`` and come only from the environment: a TOML file that holds one is refused.

``broker`` names a venue of the broker registry (:mod:`houseedge.app.registry`: ``paper``,
``alpaca``, ``binance``, ``ib``, or a third party's); its options are the table of the same name
(``[alpaca]``, ``[kraken]``), its keys ``HOUSEEDGE_BROKER_KEY`` / ``HOUSEEDGE_BROKER_SECRET``.
An unknown name is a ``ConfigError`` listing the known ones; a venue whose extra is not
installed a ``BrokerUnavailable`` naming it.

A ``live.toml``::

    broker = "paper"
    store = "data/store"
    symbols = ["SYNA", "SYNB"]
    timeframe = "1d"
    replay_speed = 0            # 0: as fast as possible; 1: real time
    journal = "data/live/journal.db"
    staleness_seconds = 30
    drain_timeout = 10
    cash = 100000

    [costs]                     # LinearCostModel parameters (the paper broker's fills)
    commission_bps = 1

    [risk]                      # the account's limits: RiskLimits.from_config's table
    max_gross_notional = 500000

    [[policies]]
    name = "sma"
    policy = "sma_cross"        # a built-in name, package.module:Class or path/file.py:Class
    params = { fast = 10, slow = 50, mode = "long_short" }
    sizer = "fixed_units"       # a built-in sizer (SIZERS) or a reference, as policy
    sizer_params = { units = 10 }

    risk = { max_long = 100, max_short = 100 }   # this policy's own budget
``kind = "sma_cross"`` is read as ``policy`` (built-ins only); ``[[blackouts]]``: app._manage.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from houseedge.app._manage import BlackoutConfig, manage
from houseedge.app._shape import refuse_secrets, settings_shape
from houseedge.app.references import SIZERS, build
from houseedge.app.registry import known_brokers
from houseedge.config import unknown_keys
from houseedge.core.costs import LinearCostModel
from houseedge.core.policies import registry
from houseedge.core.risk.gate import RiskLimits
from houseedge.errors import ConfigError, HouseEdgeError

if TYPE_CHECKING:
    from houseedge.core.broker import MarketFeed
    from houseedge.live.engine import Engine
    from houseedge.live.engine.pipeline import PolicySpec
    from houseedge.live.observability import Observability

__all__ = [
    "POLICIES",
    "SECRETS",
    "SIZERS",
    "CostConfig",
    "LiveSettings",
    "PolicyConfig",
    "build_engine",
]

POLICIES: Final = registry.POLICIES
"""Policies a config names by ``kind``: :mod:`houseedge.core.policies.registry`."""

SECRETS: Final = frozenset({"api_token", "broker_key", "broker_secret"})
"""Fields only the environment may set."""


class PolicyConfig(BaseModel):
    """One policy of the engine: a reference with its parameters, sizer and risk table.

    Examples
    --------
    >>> PolicyConfig(name="sma", policy="sma_cross", params={"fast": 5, "slow": 20}).sizer
    'fixed_units'
    >>> PolicyConfig(name="sma", kind="sma_cross").reference  # kind: the old spelling
    'sma_cross'
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    policy: str | None = None  # a built-in name, package.module:Class or path/file.py:Class
    kind: str | None = None  # an alias of policy for built-in names
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] | None = None  # the engine's symbols when None
    sizer: str = "fixed_units"
    sizer_params: dict[str, Any] = Field(default_factory=lambda: {"units": 1})
    risk: dict[str, Any] = Field(default_factory=dict)
    allow_short: bool | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> PolicyConfig:
        """Require exactly one of ``policy`` and ``kind``; ``kind`` names built-ins only."""
        if (self.policy is None) == (self.kind is None):
            msg = f"policy {self.name!r}: give policy = '<reference>' (or kind, not both)"
            raise ValueError(msg)
        if self.kind is not None and self.kind not in POLICIES:
            msg = f"policy {self.name!r}: kind {self.kind!r} names built-ins only: use policy"
            raise ValueError(msg)
        return self

    @property
    def reference(self) -> str:
        """Return the policy's reference (``policy``, else the built-in ``kind``)."""
        return self.policy or self.kind or ""


# The defaults come from a default cost model, so the two cannot drift apart.
_COST_DEFAULTS: Final = LinearCostModel()


class CostConfig(BaseModel):
    """The ``[costs]`` table: the numeric parameters of the paper broker's cost model.

    ``slippage_scale`` (a column of a backtest's bars) has no meaning for live fills, so a
    config cannot set it; an unknown key is refused, as the cost model would refuse it.

    Examples
    --------
    >>> CostConfig(commission_bps=1).cost_model().commission_bps
    1.0
    """

    model_config = ConfigDict(extra="forbid")

    commission_per_share: float = _COST_DEFAULTS.commission_per_share
    commission_bps: float = _COST_DEFAULTS.commission_bps
    min_commission: float = _COST_DEFAULTS.min_commission
    spread_bps: float = _COST_DEFAULTS.spread_bps
    slippage_bps: float = _COST_DEFAULTS.slippage_bps
    slippage_fraction: float = _COST_DEFAULTS.slippage_fraction
    borrow_bps: float = _COST_DEFAULTS.borrow_bps
    periods_per_year: float = _COST_DEFAULTS.periods_per_year

    def cost_model(self) -> LinearCostModel:
        """Return the :class:`~houseedge.core.costs.LinearCostModel` these parameters give."""
        return LinearCostModel(
            commission_per_share=self.commission_per_share,
            commission_bps=self.commission_bps,
            min_commission=self.min_commission,
            spread_bps=self.spread_bps,
            slippage_bps=self.slippage_bps,
            slippage_fraction=self.slippage_fraction,
            borrow_bps=self.borrow_bps,
            periods_per_year=self.periods_per_year,
        )


def _default_policies() -> list[PolicyConfig]:
    return [PolicyConfig(name="sma", kind="sma_cross", params={"fast": 10, "slow": 50})]


class LiveSettings(BaseSettings):
    """Everything ``houseedge live run`` needs (see the module doc for the TOML shape).

    Examples
    --------
    >>> import os
    >>> os.environ["HOUSEEDGE_TIMEFRAME"] = "1h"
    >>> settings = LiveSettings()
    >>> settings.broker, settings.timeframe, settings.policies[0].kind
    ('paper', '1h', 'sma_cross')
    >>> del os.environ["HOUSEEDGE_TIMEFRAME"]
    >>> LiveSettings(api_token="s3cret")  # secrets never print
    LiveSettings(...api_token=SecretStr('**********')...)
    """

    model_config = SettingsConfigDict(
        env_prefix="HOUSEEDGE_", env_nested_delimiter="__", extra="ignore"
    )

    broker: str = "paper"  # a name of the broker registry (houseedge.app.registry)
    store: Path = Path("data/store")
    symbols: list[str] = Field(default_factory=lambda: ["SYNA", "SYNB"])
    timeframe: str = "1d"
    start: str | None = None
    end: str | None = None
    replay_speed: float = Field(default=0.0, ge=0)
    policies: list[PolicyConfig] = Field(default_factory=_default_policies)
    blackouts: list[BlackoutConfig] = Field(default_factory=list[BlackoutConfig])
    risk: dict[str, Any] = Field(default_factory=dict)
    costs: CostConfig = Field(default_factory=CostConfig)
    latency_ms: float = Field(default=0.0, ge=0)
    cash: float = Field(default=100_000.0, gt=0)
    journal: Path = Path("data/live/journal.db")
    staleness_seconds: float = Field(default=30.0, gt=0)
    drain_timeout: float = Field(default=10.0, ge=0)
    host: str = "127.0.0.1"
    port: int = 8787
    api_token: SecretStr | None = None
    broker_key: SecretStr | None = None
    broker_secret: SecretStr | None = None
    # Venue options (never keys: each adapter refuses a secret here), e.g. [binance] symbols.
    alpaca: dict[str, Any] = Field(default_factory=dict)
    binance: dict[str, Any] = Field(default_factory=dict)
    ib: dict[str, Any] = Field(default_factory=dict)
    venues: dict[str, dict[str, Any]] = Field(default_factory=dict)  # third-party venues' tables

    @field_validator("broker")
    @classmethod
    def _registered(cls, name: str) -> str:
        """Refuse a broker the registry lacks, or whose packages are not installed.

        Raises ``ConfigError`` (naming the key and the known brokers) or ``BrokerUnavailable``
        (naming the extra to install), which pydantic lets through unwrapped.
        """
        from houseedge.app.registry import require_broker

        require_broker(name)
        return name

    @model_validator(mode="before")
    @classmethod
    def _third_party_table(cls, data: Any) -> Any:
        """Keep the table named after a third-party broker (``[kraken]``) in ``venues``."""
        if not isinstance(data, dict):
            return data
        values: dict[str, Any] = dict(data)  # pyright: ignore[reportUnknownArgumentType]
        name = values.get("broker")
        if isinstance(name, str) and name not in cls.model_fields:
            table = values.get(name)
            if isinstance(table, dict):
                values["venues"] = {**values.get("venues", {}), name: table}
        return values

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read keyword arguments, then the environment, then the TOML file (if any)."""
        toml = settings_cls.model_config.get("toml_file")
        file = [] if toml is None else [TomlConfigSettingsSource(settings_cls, toml_file=toml)]
        return (init_settings, env_settings, *file)

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> LiveSettings:
        r"""Return the settings from the environment and the TOML file ``path``.

        Raises
        ------
        ConfigError
            The file is missing or not TOML, it holds a secret, or a value is invalid.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "live.toml"
        >>> lines = ['timeframe = "1h"', "[[policies]]", 'name = "a"', 'kind = "buy_and_hold"']
        >>> _ = path.write_text("\n".join(lines))
        >>> settings = LiveSettings.load(path)
        >>> settings.timeframe, [p.name for p in settings.policies]
        ('1h', ['a'])
        >>> _ = path.write_text('api_token = "oops"')
        >>> LiveSettings.load(path)
        Traceback (most recent call last):
        ...
        houseedge.errors.ConfigError: live.toml: api_token is a secret: set HOUSEEDGE_API_TOKEN ...
        """
        if path is None:
            return cls(**overrides)
        path = Path(path)
        try:
            table = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            msg = f"{path.name}: cannot read the settings file: {exc}"
            raise ConfigError(msg) from exc
        refuse_secrets(path.name, table, SECRETS)
        shape = settings_shape(cls, PolicyConfig, CostConfig, known_brokers())
        unknown_keys(table, shape, source=path.name)
        config = cls.model_config.copy()
        config["toml_file"] = path
        loaded = type(cls.__name__, (cls,), {"model_config": config})
        try:
            return loaded(**overrides)
        except ValueError as exc:
            msg = f"{path.name}: invalid settings: {exc}"
            raise ConfigError(msg) from exc

    def venue_options(self, name: str) -> Mapping[str, Any]:
        """Return the options table of venue ``name`` (``[alpaca]``; a third party's too).

        Examples
        --------
        >>> LiveSettings(ib={"port": 4002}).venue_options("ib")
        {'port': 4002}
        """
        builtin = {"alpaca": self.alpaca, "binance": self.binance, "ib": self.ib}
        return builtin.get(name, self.venues.get(name, {}))

    def cost_model(self) -> LinearCostModel:
        """Return the paper broker's cost model (the ``[costs]`` table)."""
        return self.costs.cost_model()

    def replay_feed(self) -> MarketFeed:
        """Return a replay of the store's bars of the settings' symbols, timeframe and range."""
        from houseedge.data.store import Store
        from houseedge.live.feeds import StoreReplayFeed

        return StoreReplayFeed(
            Store(self.store),
            symbols=self.symbols,
            timeframe=self.timeframe,
            start=self.start,
            end=self.end,
            speed=self.replay_speed,
        )

    def risk_limits(self) -> RiskLimits:
        """Return the account's risk limits."""
        return RiskLimits.from_config(self.risk)

    def policy_specs(self) -> list[PolicySpec]:
        """Return the engine's :class:`~houseedge.live.engine.PolicySpec` list.

        A policy's ``risk`` table overrides the account's (``[risk]``) field by field.
        """
        from houseedge.live.engine.pipeline import PolicySpec

        specs: list[PolicySpec] = []
        for config in self.policies:
            try:
                policy = build(config.reference, config.params)
                sizer = build(config.sizer, config.sizer_params, "sizer")
                limits = RiskLimits.from_config({**self.risk, **config.risk})
            except (HouseEdgeError, TypeError, ValueError) as exc:
                msg = f"policy {config.name!r}: {exc}"
                raise ConfigError(msg) from exc
            symbols = config.symbols if config.symbols is not None else self.symbols
            spec = PolicySpec(
                config.name,
                policy,
                symbols,
                sizer=sizer,
                limits=limits,
                allow_short=config.allow_short,
            )
            specs.append(spec)
        return specs


def build_engine(settings: LiveSettings, *, observability: Observability | None = None) -> Engine:
    """Return an :class:`~houseedge.live.engine.Engine` with the parts the settings name.

    The broker and its feed come from the venue the registry knows as ``settings.broker``
    (:mod:`houseedge.app.registry`). ``observability`` (the one the service serves on
    ``GET /metrics``) receives the engine's order latency and traces.

    Examples
    --------
    >>> engine = build_engine(LiveSettings(symbols=["SYNA"], store="/tmp/houseedge-no-store"))
    >>> engine.broker.name, list(engine.specs), engine.staleness_seconds
    ('paper', ['sma'], 30.0)
    """
    from houseedge.app.registry import require_broker
    from houseedge.live.engine import Engine

    broker, feed = require_broker(settings.broker)(settings)
    engine = Engine(
        broker=broker,
        feed=feed,
        policies=settings.policy_specs(),
        journal=settings.journal,
        risk=settings.risk_limits(),
        cash=settings.cash,
        costs=settings.cost_model(),
        staleness_seconds=settings.staleness_seconds,
        drain_timeout=settings.drain_timeout,
        observability=observability,
    )
    return manage(engine, settings.policies, settings.blackouts)
