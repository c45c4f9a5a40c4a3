"""The paper broker's account: positions in whole lots, average prices, exact cash."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from houseedge.core.types import Position
from houseedge.live.broker import Account


@dataclass(slots=True)
class ExactSum:
    """A running float sum kept exact (Shewchuk's partials, as :func:`math.fsum`), rounded once.

    Examples
    --------
    >>> total = ExactSum()
    >>> for _ in range(10):
    ...     total.add(0.1)
    >>> total.value, sum([0.1] * 10)
    (1.0, 0.9999999999999999)
    """

    partials: list[float] = field(default_factory=list[float])

    def add(self, x: float) -> None:
        """Add ``x`` without rounding."""
        kept = 0
        for y in self.partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                self.partials[kept] = lo
                kept += 1
            x = hi
        self.partials[kept:] = [x]

    @property
    def value(self) -> float:
        """Return the sum, correctly rounded."""
        return math.fsum(self.partials)


@dataclass(slots=True)
class PaperBook:
    """Signed positions in lots of ``lot``, their average entry prices, last prices and cash."""

    lot: float
    cash: ExactSum
    lots: dict[str, int] = field(default_factory=dict[str, int])
    avg: dict[str, float] = field(default_factory=dict[str, float])
    last: dict[str, float] = field(default_factory=dict[str, float])

    def trade(self, symbol: str, signed_lots: int, price: float, fee: float) -> None:
        """Book a fill: move the position and its average price, pay for it and its fee."""
        before = self.lots.get(symbol, 0)
        after = before + signed_lots
        if after == 0:
            self.avg[symbol] = 0.0
        elif before == 0 or (before > 0) != (after > 0):
            self.avg[symbol] = price
        elif abs(after) > abs(before):
            added = abs(after) - abs(before)
            self.avg[symbol] = (self.avg[symbol] * abs(before) + price * added) / abs(after)
        self.lots[symbol] = after
        self.cash.add(-(signed_lots * self.lot * price))
        self.cash.add(-fee)

    def positions(self) -> dict[str, Position]:
        """Return the non-zero positions by symbol."""
        return {
            s: Position(symbol=s, qty=n * self.lot, avg_price=self.avg[s])
            for s, n in self.lots.items()
            if n
        }

    def account(self) -> Account:
        """Return the cash and the equity marked at the last prices."""
        cash = self.cash.value
        value = math.fsum(n * self.lot * self.last[s] for s, n in self.lots.items() if n)
        return Account(cash=cash, equity=cash + value)
