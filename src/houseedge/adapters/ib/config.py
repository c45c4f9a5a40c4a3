"""Settings of the Interactive Brokers adapter (pydantic settings, as every adapter's).

Fields read ``HOUSEEDGE_IB_<FIELD>`` and the ``[ib]`` table of the live settings
(:func:`config_from_settings`). TWS needs no keys: the socket is the credential.

Examples
--------
>>> IbConfig(port=4002, client_id=7).order_ref_prefix
'he:'
>>> IbConfig(contracts={"ES": {"sec_type": "FUT", "symbol": "ES", "exchange": "CME"}}).contracts[
...     "ES"
... ].exchange
'CME'
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from houseedge.adapters.ib.contracts import ContractSpec
from houseedge.adapters.venue import VenueSettings, load_config

__all__ = ["IbConfig", "config_from_settings"]


class IbConfig(BaseSettings):
    """Where TWS/Gateway listens and how the adapter keeps the connection.

    Parameters
    ----------
    host, port
        The TWS or Gateway API socket (7497 paper TWS, 4002 paper Gateway).
    client_id
        The API client id; ``spare_client_ids`` are tried in turn when TWS says it is in use
        (error 326).
    account
        The account to trade; the only managed account when empty.
    connect_timeout_seconds
        Seconds one connection attempt may take (handshake and start-up snapshots).
    connect_attempts
        Attempts :meth:`~houseedge.adapters.ib.client.IbBroker.connect` makes before it gives
        up; reconnects after a loss retry until :meth:`close`.
    backoff_initial_seconds, backoff_max_seconds, backoff_jitter
        Reconnect delays: doubling from ``backoff_initial_seconds`` up to
        ``backoff_max_seconds``, each randomised by up to ``backoff_jitter`` of itself.
    reconcile_interval_seconds
        Seconds between periodic reconciliations while connected (0: only after reconnects).
    order_ref_prefix
        Prefix of the ``orderRef`` that carries our client order id; orders without it are not
        ours and are ignored.
    contracts
        Symbol -> contract for futures, crypto and anything the naming conventions of
        :func:`~houseedge.adapters.ib.contracts.spec_for` do not cover.

    Examples
    --------
    >>> IbConfig(backoff_initial_seconds=0)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for IbConfig
    ...
    """

    model_config = SettingsConfigDict(env_prefix="HOUSEEDGE_IB_", extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    spare_client_ids: tuple[int, ...] = ()
    account: str = ""
    connect_timeout_seconds: float = Field(default=4.0, gt=0)
    connect_attempts: int = Field(default=3, ge=1)
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    backoff_jitter: float = Field(default=0.2, ge=0, lt=1)
    reconcile_interval_seconds: float = Field(default=30.0, ge=0)
    order_ref_prefix: str = Field(default="he:", min_length=1)
    contracts: dict[str, ContractSpec] = Field(default_factory=dict[str, ContractSpec])

    @model_validator(mode="after")
    def _backoff_in_order(self) -> Self:
        if not 0 < self.backoff_initial_seconds <= self.backoff_max_seconds:
            msg = "backoff_initial_seconds must be > 0 and <= backoff_max_seconds"
            raise ValueError(msg)
        return self

    @property
    def client_ids(self) -> tuple[int, ...]:
        """Return the client ids to try, in order."""
        return (self.client_id, *self.spare_client_ids)


def config_from_settings(settings: VenueSettings) -> IbConfig:
    """Return the IB config: ``HOUSEEDGE_IB_*``, then the ``[ib]`` table.

    Raises
    ------
    ConfigError
        A value is invalid (the message names the field).

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> config_from_settings(LiveSettings(ib={"port": 4002, "client_id": 3})).port
    4002
    """
    return load_config(IbConfig, "ib", settings)
