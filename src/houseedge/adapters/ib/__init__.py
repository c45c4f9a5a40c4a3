"""Interactive Brokers adapter on ib-async: a :class:`~houseedge.core.broker.Broker` for TWS.

Package shape (as every adapter, see ``adapters/README.md``): ``config`` (:class:`IbConfig`),
``client`` (:class:`IbBroker`), ``feed`` (the store's replay), ``history``
(``reqHistoricalData`` into the store), ``mapping`` (IB values to ours), ``errors`` (TWS codes
and ib-async exceptions, translated once), ``reconcile`` (ib-async replays nothing) and
``factory`` (``build_venue``); besides them ``contracts`` and ``orders`` (our symbols and
orders to IB's), ``reconnect`` (ib-async never reconnects) and the private ``_state``.
"""

from houseedge.adapters.ib.client import IbBroker
from houseedge.adapters.ib.config import IbConfig, config_from_settings
from houseedge.adapters.ib.contracts import ContractSpec
from houseedge.adapters.ib.errors import ClientIdInUse, ContractNotFound
from houseedge.adapters.ib.factory import build_venue
from houseedge.adapters.ib.history import ingest_bars

__all__ = [
    "ClientIdInUse",
    "ContractNotFound",
    "ContractSpec",
    "IbBroker",
    "IbConfig",
    "build_venue",
    "config_from_settings",
    "ingest_bars",
]
