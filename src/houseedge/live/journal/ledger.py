"""The live ledger: exact positions, cash and PnL, attributed per policy and symbol.

Exactness
    Quantities are integers in units of the instrument's ``qty_increment``, prices integers in
    ticks, cash an integer in :data:`~houseedge.live.instruments.CASH_UNIT`; see
    :mod:`houseedge.live.instruments`. Nothing is ever summed as a float, so a million fills of
    ``0.1`` and ``-0.1`` leave exactly zero. Figures leave the ledger as ``Decimal``.
Realised PnL: FIFO
    Each (policy, symbol) book keeps its open lots in arrival order; a fill against the position
    closes the oldest lots first, and a fill through zero closes them all and opens a lot the
    other way. This is the matching :mod:`houseedge.research.backtest.ledger` does, so live and
    backtest
    round trips agree. Realised PnL here is *gross* (price moves only); fees are kept apart
    (``fees``) and ``net = realised + unrealised - fees``. The research ledger spreads fees over
    trades pro rata, which cannot be exact in integers; its totals match ``realised - fees``.
Attribution
    Every fill belongs to one policy (``""`` for fills no policy asked for: manual orders,
    fills found at reconciliation for unknown orders). Books are kept per (policy, symbol); the
    account's position in a symbol is the sum over policies, and its realised PnL the sum of the
    books' (FIFO within each policy, not across them).
Currency
    One ledger, one currency: a fill in an instrument of another currency raises ``ValueError``
    (there is no FX conversion here).

The ledger does not de-duplicate: :meth:`houseedge.live.journal.Journal.record_fill` is the gate,
and a fill is applied only when it returns True.

Examples
--------
>>> from houseedge.core.types import Fill
>>> ledger = Ledger(cash=1000)
>>> buy = Fill(fill_id="1", order_id="a", symbol="X", side="buy", qty=3, price=10.0, fee=0.1)
>>> sell = Fill(fill_id="2", order_id="b", symbol="X", side="sell", qty=1, price=12.5)
>>> ledger.apply_fill(buy, policy="sma"), ledger.apply_fill(sell, policy="sma")
(Decimal('0'), Decimal('2.5'))
>>> ledger.mark({"X": 11.0})
>>> snap = ledger.snapshot()
>>> snap.positions, snap.cash, snap.equity
({'X': Decimal('2.00000000')}, Decimal('982.4'), Decimal('1004.4'))
>>> snap.realised, snap.unrealised, snap.fees, snap.policies["sma"].net
(Decimal('2.5'), Decimal('2'), Decimal('0.1'), Decimal('4.4'))
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from houseedge.core.types import Fill, Position
from houseedge.live.instruments import (
    Instrument,
    Instruments,
    Number,
    cash_of,
    cash_units,
)

__all__ = ["Difference", "Holding", "Ledger", "LedgerSnapshot", "PolicyTotals"]

_ZERO = Decimal(0)


class Holding(msgspec.Struct, frozen=True, kw_only=True):
    """One policy's book in one symbol.

    ``avg_price`` is the quantity-weighted price of the open lots (None when flat);
    ``unrealised`` is None while the symbol has no mark.
    """

    policy: str
    symbol: str
    qty: Decimal
    avg_price: Decimal | None
    realised: Decimal
    unrealised: Decimal | None
    fees: Decimal


class PolicyTotals(msgspec.Struct, frozen=True, kw_only=True):
    """A policy's PnL over all its symbols; ``net = realised + unrealised - fees``."""

    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    net: Decimal


class LedgerSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger at one moment.

    ``positions`` holds the account's non-zero net quantity per symbol; ``equity`` is cash plus
    every position at its mark, an unmarked position counted at its cost (``unmarked`` lists
    those symbols).
    """

    cash: Decimal
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    equity: Decimal
    positions: dict[str, Decimal]
    holdings: list[Holding]
    policies: dict[str, PolicyTotals]
    unmarked: list[str]


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    """A symbol whose position differs between the ledger and the broker."""

    symbol: str
    ours: Decimal
    broker: Decimal

    @property
    def delta(self) -> Decimal:
        """Return the broker's quantity minus ours."""
        return self.broker - self.ours


@dataclass(slots=True)
class _Book:
    """One (policy, symbol): FIFO lots as ``[signed units, ticks]``, all of one sign."""

    instrument: Instrument
    factor: int  # the instrument's cash factor, looked up once
    lots: deque[list[int]] = field(default_factory=deque[list[int]])
    position: int = 0  # signed units
    cost: int = 0  # sum of units x ticks over the open lots, signed
    realised: int = 0  # cash units
    fees: int = 0  # cash units

    def fill(self, units: int, ticks: int) -> int:
        """Book ``units`` (signed) at ``ticks``; return the realised PnL in cash units."""
        realised = 0
        self.position += units
        lots = self.lots
        while units and lots and (lots[0][0] > 0) != (units > 0):
            lot = lots[0]
            close = min(abs(lot[0]), abs(units))
            step = close if lot[0] > 0 else -close  # the lot's sign
            realised += step * (ticks - lot[1])
            self.cost -= step * lot[1]
            lot[0] -= step
            units += step
            if not lot[0]:
                lots.popleft()
        if units:
            lots.append([units, ticks])
            self.cost += units * ticks
        if realised:
            realised *= self.factor
            self.realised += realised
        return realised


class Ledger:
    """Exact positions, cash and PnL of a live account.

    Parameters
    ----------
    cash
        Cash at the start (before any fill), in ``currency``.
    instruments
        The instrument registry; unknown symbols get default increments.
    currency
        The account currency.

    Examples
    --------
    >>> from houseedge.core.types import Fill
    >>> ledger = Ledger()
    >>> for i in range(1000):
    ...     side = "buy" if i % 2 == 0 else "sell"
    ...     _ = ledger.apply_fill(Fill(fill_id=str(i), order_id="o", symbol="X", side=side,
    ...         qty=0.1, price=0.3), policy="p")
    >>> ledger.position("X"), ledger.snapshot().cash
    (Decimal('0E-8'), Decimal('0'))
    """

    def __init__(
        self,
        *,
        cash: Number = 0,
        instruments: Instruments | None = None,
        currency: str = "USD",
    ) -> None:
        self.instruments = instruments if instruments is not None else Instruments()
        self.currency = currency
        self._cash = cash_units(cash)
        self._books: dict[tuple[str, str], _Book] = {}
        self._marks: dict[str, int] = {}  # ticks
        self.fills_applied = 0
        self.last_fill_ts: int | None = None

    def apply_fill(self, fill: Fill, *, policy: str = "") -> Decimal:
        """Book one fill for ``policy``; return the (gross) PnL it realised.

        The fill's quantity and price are rounded to the instrument's increments; its fee is
        paid from cash. Call only with fills the journal accepted (it de-duplicates).
        """
        book = self._books.get((policy, fill.symbol))
        if book is None:
            book = self._book(policy, fill.symbol)
        instrument = book.instrument
        units = instrument.qty_units(fill.qty)
        if fill.side.sign < 0:
            units = -units
        ticks = instrument.price_ticks(fill.price)
        fee = cash_units(fill.fee) if fill.fee else 0
        realised = book.fill(units, ticks)
        book.fees += fee
        self._cash -= units * ticks * book.factor + fee
        self.fills_applied += 1
        if self.last_fill_ts is None or fill.ts > self.last_fill_ts:
            self.last_fill_ts = fill.ts
        return cash_of(realised) if realised else _ZERO

    def _book(self, policy: str, symbol: str) -> _Book:
        instrument = self.instruments.get(symbol)
        if instrument.currency != self.currency:
            msg = f"{symbol} trades in {instrument.currency}, the ledger is in {self.currency}"
            raise ValueError(msg)
        book = self._books[policy, symbol] = _Book(instrument, instrument.cash_factor)
        return book

    def mark(self, prices: Mapping[str, Number]) -> None:
        """Set the mark (last price) of each symbol in ``prices``, rounded to its tick."""
        for symbol, price in prices.items():
            self._marks[symbol] = self.instruments.get(symbol).price_ticks(price)

    def position(self, symbol: str, *, policy: str | None = None) -> Decimal:
        """Return the net quantity held of ``symbol`` (by one policy, or by all)."""
        instrument = self.instruments.get(symbol)
        units = sum(
            book.position
            for (owner, sym), book in self._books.items()
            if sym == symbol and (policy is None or owner == policy)
        )
        return instrument.qty_of(units)

    def positions(self) -> dict[str, Position]:
        """Return the account's non-zero positions as core :class:`Position` values (floats).

        This is the form brokers report and risk checks read; the exact figures are in
        :meth:`snapshot`.
        """
        result: dict[str, Position] = {}
        for symbol, units, cost in self._net():
            if units:
                instrument = self.instruments.get(symbol)
                avg = _average(cost, units, instrument)
                result[symbol] = Position(
                    symbol=symbol, qty=float(instrument.qty_of(units)), avg_price=float(avg)
                )
        return result

    def _net(self) -> Iterable[tuple[str, int, int]]:
        net: dict[str, list[int]] = {}
        for (_, symbol), book in self._books.items():
            entry = net.setdefault(symbol, [0, 0])
            entry[0] += book.position
            entry[1] += book.cost
        return [(symbol, units, cost) for symbol, (units, cost) in sorted(net.items())]

    def snapshot(self) -> LedgerSnapshot:
        """Return positions, cash, realised and unrealised PnL, fees and equity, exactly."""
        holdings = [self._holding(policy, symbol) for policy, symbol in sorted(self._books)]
        unmarked = sorted(
            {h.symbol for h in holdings if h.qty and h.unrealised is None},
        )
        value = sum(self._value(symbol, units, cost) for symbol, units, cost in self._net())
        realised = sum((h.realised for h in holdings), Decimal(0))
        unrealised = sum((h.unrealised or Decimal(0) for h in holdings), Decimal(0))
        fees = sum((h.fees for h in holdings), Decimal(0))
        positions = {
            symbol: self.instruments.get(symbol).qty_of(units)
            for symbol, units, _ in self._net()
            if units
        }
        return LedgerSnapshot(
            cash=cash_of(self._cash),
            realised=realised,
            unrealised=unrealised,
            fees=fees,
            equity=cash_of(self._cash + value),
            positions=positions,
            holdings=holdings,
            policies=_policy_totals(holdings),
            unmarked=unmarked,
        )

    def _value(self, symbol: str, units: int, cost: int) -> int:
        """Return a net position's market value (at cost when unmarked), in cash units."""
        factor = self.instruments.get(symbol).cash_factor
        mark = self._marks.get(symbol)
        return (cost if mark is None else units * mark) * factor

    def holding(self, symbol: str, *, policy: str = "") -> Holding:
        """Return one policy's book in ``symbol`` (flat and empty if it never traded it).

        Examples
        --------
        >>> Ledger().holding("X", policy="p").qty
        Decimal('0E-8')
        """
        if (policy, symbol) not in self._books:
            self._book(policy, symbol)
        return self._holding(policy, symbol)

    def _holding(self, policy: str, symbol: str) -> Holding:
        book = self._books[policy, symbol]
        instrument = book.instrument
        units, cost = book.position, book.cost
        mark = self._marks.get(symbol)
        unrealised = None
        if mark is not None:
            unrealised = cash_of((units * mark - cost) * instrument.cash_factor)
        return Holding(
            policy=policy,
            symbol=symbol,
            qty=instrument.qty_of(units),
            avg_price=_average(cost, units, instrument) if units else None,
            realised=cash_of(book.realised),
            unrealised=unrealised,
            fees=cash_of(book.fees),
        )

    def equals_broker(self, positions: Mapping[str, Position]) -> list[Difference]:
        """Return the symbols whose net position differs from the broker's (empty: in sync).

        The broker's quantities are rounded to each instrument's increment first, so float
        noise below a lot does not count as a difference.

        Examples
        --------
        >>> from houseedge.core.types import Fill
        >>> ledger = Ledger()
        >>> _ = ledger.apply_fill(Fill(fill_id="1", order_id="o", symbol="X", side="buy",
        ...     qty=0.3, price=1.0))
        >>> ledger.equals_broker({"X": Position(symbol="X", qty=0.1 + 0.2)})
        []
        >>> [(d.symbol, d.ours, d.broker) for d in ledger.equals_broker({})]
        [('X', Decimal('0.30000000'), Decimal('0E-8'))]
        """
        ours = {symbol: units for symbol, units, _ in self._net()}
        theirs = {s: self.instruments.get(s).qty_units(p.qty) for s, p in positions.items()}
        differences: list[Difference] = []
        for symbol in sorted(ours.keys() | theirs.keys()):
            mine, broker = ours.get(symbol, 0), theirs.get(symbol, 0)
            if mine != broker:
                instrument = self.instruments.get(symbol)
                differences.append(
                    Difference(
                        symbol=symbol,
                        ours=instrument.qty_of(mine),
                        broker=instrument.qty_of(broker),
                    )
                )
        return differences


def _average(cost: int, units: int, instrument: Instrument) -> Decimal:
    # cost/units is in ticks; the quotient may need more digits than a tick has (mixed lots).
    return instrument.price_of(1) * Decimal(cost) / Decimal(units)


def _policy_totals(holdings: list[Holding]) -> dict[str, PolicyTotals]:
    sums: dict[str, list[Decimal]] = {}
    for h in holdings:
        entry = sums.setdefault(h.policy, [Decimal(0)] * 3)
        entry[0] += h.realised
        entry[1] += h.unrealised or Decimal(0)
        entry[2] += h.fees
    return {
        policy: PolicyTotals(realised=r, unrealised=u, fees=f, net=r + u - f)
        for policy, (r, u, f) in sums.items()
    }
