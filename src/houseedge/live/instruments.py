"""Instruments: the increments that make live quantities, prices and cash exact integers.

The live ledger never adds floats. A quantity is held as an integer number of the instrument's
``qty_increment``, a price as an integer number of ticks (``price_increment``), and cash as an
integer number of :data:`CASH_UNIT` (``1e-18`` of the currency). Values cross the boundary as
``Decimal``: a float from a venue is read by its shortest repr (``0.1`` is ``Decimal("0.1")``,
not ``0.1000000000000000055...``) and rounded half-even to the increment.

Unknown symbols get :data:`DEFAULT_INCREMENT` (``1e-8``) for both quantity and price, which is
finer than any venue's lot or tick, so rounding to it never changes a venue's number.

Examples
--------
>>> registry = Instruments([Instrument(symbol="ES", qty_increment=1, price_increment="0.25",
...     multiplier=50)])
>>> es = registry.get("ES")
>>> es.qty_units(2.0), es.price_ticks(4500.25), es.cash_factor
(2, 18001, 12500000000000000000)
>>> registry.get("BTC-USD").qty_units(0.1)
10000000
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Final

import msgspec

__all__ = [
    "CASH_UNIT",
    "DEFAULT_INCREMENT",
    "Instrument",
    "Instruments",
    "cash_of",
    "cash_units",
    "to_decimal",
]

DEFAULT_INCREMENT: Final = Decimal("1e-8")
CASH_DIGITS: Final = 18
CASH_UNIT: Final = Decimal(1).scaleb(-CASH_DIGITS)
"""The ledger's unit of cash: every cash amount is an integer multiple of it."""

# Wide enough that dividing any float-sized value by an increment is exact before rounding.
_WIDE: Final = Context(prec=80, rounding=ROUND_HALF_EVEN)

Number = float | int | str | Decimal


def to_decimal(value: Number) -> Decimal:
    """Return ``value`` as a Decimal, reading floats by their shortest repr.

    Examples
    --------
    >>> to_decimal(0.1), to_decimal(3), to_decimal("2.50")
    (Decimal('0.1'), Decimal('3'), Decimal('2.50'))
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


@functools.lru_cache(maxsize=1 << 16)
def _units(value: Number, increment: Decimal) -> int:
    # Venues repeat the same few sizes and prices, so a cache keeps conversions off the hot path.
    exact = _WIDE.divide(to_decimal(value), increment)
    return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    """A tradable symbol and the increments its quantities and prices move in.

    Parameters
    ----------
    symbol
        The symbol as the venue names it.
    qty_increment
        The lot step: quantities are integer multiples of it.
    price_increment
        The tick: prices are integer multiples of it.
    multiplier
        Currency per unit of price per unit of quantity (contract size; 1 for cash equities).
    currency
        The currency prices and fees are in.

    Examples
    --------
    >>> Instrument(symbol="X", qty_increment=0.001).qty_of(1500)
    Decimal('1.500')
    """

    symbol: str
    qty_increment: Decimal = DEFAULT_INCREMENT
    price_increment: Decimal = DEFAULT_INCREMENT
    multiplier: Decimal = Decimal(1)
    currency: str = "USD"

    def __post_init__(self) -> None:
        for field in ("qty_increment", "price_increment", "multiplier"):
            value = to_decimal(getattr(self, field))
            if not value.is_finite() or value <= 0:
                msg = f"instrument {self.symbol}: {field} must be finite and > 0, got {value}"
                raise ValueError(msg)
            msgspec.structs.force_setattr(self, field, value)
        scale = self.qty_increment * self.price_increment * self.multiplier
        factor = _WIDE.divide(scale, CASH_UNIT)
        if factor != factor.to_integral_value():
            msg = (
                f"instrument {self.symbol}: qty_increment x price_increment x multiplier "
                f"({scale}) is not a multiple of the cash unit {CASH_UNIT}"
            )
            raise ValueError(msg)

    @property
    def cash_factor(self) -> int:
        """Return the cash units one quantity unit at one tick is worth."""
        scale = self.qty_increment * self.price_increment * self.multiplier
        return int(_WIDE.divide(scale, CASH_UNIT))

    def qty_units(self, qty: Number) -> int:
        """Return ``qty`` in quantity units, rounded half-even to the increment."""
        return _units(qty, self.qty_increment)

    def price_ticks(self, price: Number) -> int:
        """Return ``price`` in ticks, rounded half-even to the increment."""
        return _units(price, self.price_increment)

    def qty_of(self, units: int) -> Decimal:
        """Return the quantity ``units`` stands for."""
        return _WIDE.multiply(Decimal(units), self.qty_increment)

    def price_of(self, ticks: int) -> Decimal:
        """Return the price ``ticks`` stands for."""
        return _WIDE.multiply(Decimal(ticks), self.price_increment)


def cash_units(amount: Number) -> int:
    """Return a cash amount (fee, initial cash) in cash units, rounded half-even.

    Examples
    --------
    >>> cash_units(0.5) == 5 * 10**17
    True
    """
    return _units(amount, CASH_UNIT)


def cash_of(units: int) -> Decimal:
    """Return the amount ``units`` cash units stand for, normalised (no trailing zeros).

    Examples
    --------
    >>> cash_of(-25 * 10**16)
    Decimal('-0.25')
    """
    value = _WIDE.multiply(Decimal(units), CASH_UNIT)
    return value.normalize(_WIDE) if value else Decimal(0)


class Instruments:
    """A registry of instruments by symbol; unknown symbols get the default increments.

    Parameters
    ----------
    instruments
        The instruments known up front.

    Examples
    --------
    >>> Instruments().get("AAPL").qty_increment
    Decimal('1E-8')
    """

    def __init__(self, instruments: Iterable[Instrument] = ()) -> None:
        self._by_symbol: dict[str, Instrument] = {}
        for instrument in instruments:
            self.add(instrument)

    def add(self, instrument: Instrument) -> None:
        """Register (or replace) an instrument."""
        self._by_symbol[instrument.symbol] = instrument

    def get(self, symbol: str) -> Instrument:
        """Return the instrument of ``symbol``, creating one with default increments if new."""
        found = self._by_symbol.get(symbol)
        if found is None:
            found = self._by_symbol[symbol] = Instrument(symbol=symbol)
        return found

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol
