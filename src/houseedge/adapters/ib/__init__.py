"""Interactive Brokers adapter on ib-async: a :class:`~houseedge.core.broker.Broker` for TWS.

Package shape (as every adapter): ``config`` (:class:`IbConfig`), ``client`` (:class:`IbBroker`),
``contracts`` and ``orders`` (our symbols and orders to IB's), ``mapping`` (IB values to ours),
``errors`` (TWS codes and ib-async exceptions, translated once), ``reconnect`` and ``reconcile``
(ib-async does neither), ``history`` (``reqHistoricalData`` into the store) and ``factory``.
"""

from houseedge.adapters.ib.client import IbBroker
from houseedge.adapters.ib.config import IbConfig
from houseedge.adapters.ib.contracts import ContractSpec
from houseedge.adapters.ib.errors import ClientIdInUse, ContractNotFound
from houseedge.adapters.ib.orders import Trailing

__all__ = ["ClientIdInUse", "ContractNotFound", "ContractSpec", "IbBroker", "IbConfig", "Trailing"]
