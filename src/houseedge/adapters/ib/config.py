"""Settings of the Interactive Brokers adapter."""

from __future__ import annotations

import msgspec

from houseedge.adapters.ib.contracts import ContractSpec

__all__ = ["IbConfig"]


class IbConfig(msgspec.Struct, frozen=True, kw_only=True):
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
    connect_timeout
        Seconds one connection attempt may take (handshake and start-up snapshots).
    connect_attempts
        Attempts :meth:`~houseedge.adapters.ib.client.IbBroker.connect` makes before it gives
        up; reconnects after a loss retry until :meth:`close`.
    backoff_initial, backoff_max, backoff_jitter
        Reconnect delays: doubling from ``backoff_initial`` up to ``backoff_max`` seconds, each
        randomised by up to ``backoff_jitter`` of itself.
    reconcile_interval
        Seconds between periodic reconciliations while connected (0: only after reconnects).
    order_ref_prefix
        Prefix of the ``orderRef`` that carries our client order id; orders without it are not
        ours and are ignored.
    contracts
        Symbol -> contract for futures, crypto and anything the naming conventions of
        :func:`~houseedge.adapters.ib.contracts.spec_for` do not cover.

    Examples
    --------
    >>> IbConfig(port=4002, client_id=7).order_ref_prefix
    'he:'
    >>> IbConfig(backoff_initial=0)
    Traceback (most recent call last):
    ...
    ValueError: backoff_initial must be > 0 and <= backoff_max
    """

    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    spare_client_ids: tuple[int, ...] = ()
    account: str = ""
    connect_timeout: float = 4.0
    connect_attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_jitter: float = 0.2
    reconcile_interval: float = 30.0
    order_ref_prefix: str = "he:"
    contracts: dict[str, ContractSpec] = msgspec.field(default_factory=dict[str, ContractSpec])

    def __post_init__(self) -> None:
        if not 0 < self.backoff_initial <= self.backoff_max:
            msg = "backoff_initial must be > 0 and <= backoff_max"
            raise ValueError(msg)
        if not 0 <= self.backoff_jitter < 1:
            msg = "backoff_jitter must be in [0, 1)"
            raise ValueError(msg)
        if self.connect_timeout <= 0 or self.connect_attempts < 1:
            msg = "connect_timeout must be > 0 and connect_attempts >= 1"
            raise ValueError(msg)
        if not self.order_ref_prefix:
            msg = "order_ref_prefix must not be empty: it tells our orders from others'"
            raise ValueError(msg)

    @property
    def client_ids(self) -> tuple[int, ...]:
        """Return the client ids to try, in order."""
        return (self.client_id, *self.spare_client_ids)
