"""Our symbols to IB contracts (stocks, futures, FX, crypto), qualified through the API.

Conventions when a symbol has no entry in the config's ``contracts`` table: ``EUR.USD`` (two
three-letter codes) is an IDEALPRO FX pair; anything else a US stock routed SMART. Futures and
crypto need a table entry (expiry, exchange). Qualification asks TWS for the contract details and
fills in the ``conId``; the answer is cached, and executions and positions are mapped back to our
symbol by ``conId``.
"""

from __future__ import annotations

from typing import Any, Literal

import ib_async
from pydantic import BaseModel, ConfigDict

from houseedge.adapters.ib.errors import ContractNotFound, translated

__all__ = ["ContractBook", "ContractSpec", "spec_for", "to_contract"]

SecType = Literal["STK", "FUT", "CASH", "CRYPTO"]


class ContractSpec(BaseModel):
    """What identifies one contract before qualification (a row of the config's ``contracts``).

    Examples
    --------
    >>> ContractSpec(sec_type="FUT", symbol="ES", exchange="CME", expiry="202603").currency
    'USD'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sec_type: SecType = "STK"
    symbol: str
    exchange: str = "SMART"
    currency: str = "USD"
    expiry: str = ""
    multiplier: str = ""
    local_symbol: str = ""
    primary_exchange: str = ""


def spec_for(symbol: str, table: dict[str, ContractSpec] | None = None) -> ContractSpec:
    """Return the contract spec of one of our symbols (the table first, then conventions).

    Examples
    --------
    >>> spec_for("AAPL").sec_type, spec_for("EUR.USD").sec_type, spec_for("EUR.USD").currency
    ('STK', 'CASH', 'USD')
    """
    if table and symbol in table:
        return table[symbol]
    base, _, quote = symbol.partition(".")
    if len(base) == 3 and len(quote) == 3 and base.isalpha() and quote.isalpha():
        return ContractSpec(sec_type="CASH", symbol=base, currency=quote, exchange="IDEALPRO")
    return ContractSpec(symbol=symbol)


def to_contract(spec: ContractSpec) -> ib_async.Contract:
    """Return the unqualified ib-async contract of a spec.

    Examples
    --------
    >>> to_contract(ContractSpec(sec_type="CRYPTO", symbol="BTC", exchange="PAXOS")).secType
    'CRYPTO'
    """
    return ib_async.Contract(
        secType=spec.sec_type,
        symbol=spec.symbol,
        exchange=spec.exchange,
        currency=spec.currency,
        lastTradeDateOrContractMonth=spec.expiry,
        multiplier=spec.multiplier,
        localSymbol=spec.local_symbol,
        primaryExchange=spec.primary_exchange,
    )


class ContractBook:
    """Qualified contracts by our symbol, and our symbol by ``conId``."""

    def __init__(self, table: dict[str, ContractSpec] | None = None) -> None:
        self.table = dict(table or {})
        self._by_symbol: dict[str, ib_async.Contract] = {}
        self._by_con_id: dict[int, str] = {}

    async def qualify(self, ib: ib_async.IB, symbol: str) -> ib_async.Contract:
        """Return the qualified contract of ``symbol`` (asked once, then cached).

        Raises
        ------
        ContractNotFound
            TWS knows no contract, or more than one, for the symbol.
        """
        known = self._by_symbol.get(symbol)
        if known is not None:
            return known
        contract = to_contract(spec_for(symbol, self.table))
        with translated("qualify"):
            result: list[Any] = await ib.qualifyContractsAsync(contract)
        if not result or not isinstance(result[0], ib_async.Contract) or not result[0].conId:
            msg = f"no single IB contract for {symbol!r} ({contract.secType})"
            raise ContractNotFound(msg)
        self.remember(symbol, result[0])
        return result[0]

    def remember(self, symbol: str, contract: ib_async.Contract) -> None:
        """Cache a qualified contract under our symbol."""
        self._by_symbol[symbol] = contract
        self._by_con_id[contract.conId] = symbol

    def symbol_of(self, contract: ib_async.Contract) -> str:
        """Return our symbol for a contract TWS reported (its local symbol when unknown)."""
        known = self._by_con_id.get(contract.conId)
        if known is not None:
            return known
        for symbol, spec in self.table.items():
            if spec.symbol == contract.symbol and spec.sec_type == contract.secType:
                return symbol
        if contract.secType == "CASH":
            return f"{contract.symbol}.{contract.currency}"
        return contract.symbol or contract.localSymbol

    def multiplier(self, contract: ib_async.Contract) -> float:
        """Return the contract's multiplier (1 when it has none)."""
        return float(contract.multiplier or 1)
