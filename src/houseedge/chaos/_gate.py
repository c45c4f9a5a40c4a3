"""Misbehaving order policies the risk gate must stop, whatever engine runs them.

Each satisfies :class:`houseedge.core.policies.protocol.OrderPolicy` (``decide(portfolio,
snapshot, context)``) and builds its orders itself (market orders with ids ``<name>-<n>``), so the
same objects run in a test harness that plays the gate, in the event-driven backtest and in the
live engine. They read ``portfolio.qty(symbol)`` and ``snapshot.price(symbol)`` only. Point one
at your own limits to see which check stops it, and that no hard limit is ever exceeded.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from houseedge.core.types import MarketSnapshot, Order, PortfolioState, Side

__all__ = [
    "CorrelationBreaker",
    "FlipFlopper",
    "OneSymbol",
    "RiskIgnorant",
    "Runaway",
    "SlowLeak",
    "VolatilityAmplifier",
]


class OneSymbol:
    """The shared part of the single-symbol policies: the symbol and order ids."""

    name = "base"

    def __init__(self, symbol: str = "X") -> None:
        self.symbol = symbol
        self._ids = itertools.count(1)

    def params(self) -> dict[str, Any]:
        return {"symbol": self.symbol}

    def _order(self, side: Side, qty: float, ts: int) -> Order:
        return Order(
            client_order_id=f"{self.name}-{next(self._ids)}",
            symbol=self.symbol,
            side=side,
            qty=qty,
            ts=ts,
        )

    def _toward(self, target: float, held: float, ts: int) -> list[Order]:
        delta = target - held
        if abs(delta) < 1e-12:
            return []
        return [self._order(Side.BUY if delta > 0 else Side.SELL, abs(delta), ts)]


class Runaway(OneSymbol):
    """Sends ``per_bar`` buy orders every bar, forever (a loop bug)."""

    name = "runaway"

    def __init__(self, symbol: str = "X", per_bar: int = 100, qty: float = 1.0) -> None:
        super().__init__(symbol)
        self.per_bar, self.qty = per_bar, qty

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        return [self._order(Side.BUY, self.qty, snapshot.ts) for _ in range(self.per_bar)]


class RiskIgnorant(OneSymbol):
    """Buy every bar, doubling the size after a rejection or a loss: a martingale.

    The size doubles whenever it did not get what it asked (a rejection) or lost since the last
    bar; it ignores every breach.
    """

    name = "risk_ignorant"

    def __init__(self, symbol: str = "X", qty: float = 1.0) -> None:
        super().__init__(symbol)
        self.size = qty
        self._expected: float | None = None
        self._last_equity: float | None = None

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        held = portfolio.qty(self.symbol)
        refused = self._expected is not None and held < self._expected - 1e-9
        lost = self._last_equity is not None and portfolio.equity < self._last_equity
        if refused or lost:
            self.size *= 2
        self._expected, self._last_equity = held + self.size, portfolio.equity
        return [self._order(Side.BUY, self.size, snapshot.ts)]


class VolatilityAmplifier(OneSymbol):
    """Follows the last move with a size that grows with recent volatility."""

    name = "volatility_amplifier"

    def __init__(self, symbol: str = "X", base: float = 1.0, lookback: int = 5, gain: float = 2e3):
        super().__init__(symbol)
        self.base, self.gain = base, gain
        self._prices: deque[float] = deque(maxlen=lookback + 1)

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        self._prices.append(snapshot.price(self.symbol))
        if len(self._prices) < 2:
            return []
        p = list(self._prices)
        moves = [math.log(b / a) for a, b in itertools.pairwise(p)]
        vol = math.sqrt(sum(m * m for m in moves) / len(moves))
        side = Side.BUY if moves[-1] >= 0 else Side.SELL
        return [self._order(side, round(self.base * (1 + self.gain * vol)), snapshot.ts)]


class SlowLeak(OneSymbol):
    """Round-trips a fixed size every bar: it loses the fees (and the spread) a little at a time."""

    name = "slow_leak"

    def __init__(self, symbol: str = "X", qty: float = 10.0) -> None:
        super().__init__(symbol)
        self.qty = qty

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        held, ts = portfolio.qty(self.symbol), snapshot.ts
        if held > 0:
            return [self._order(Side.SELL, held, ts), self._order(Side.BUY, self.qty, ts)]
        return [self._order(Side.BUY, self.qty, ts)]


class FlipFlopper(OneSymbol):
    """Reverses its position every bar (long ``size``, short ``size``, ...)."""

    name = "flip_flopper"

    def __init__(self, symbol: str = "X", size: float = 20.0) -> None:
        super().__init__(symbol)
        self.size = size
        self._long = False

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        self._long = not self._long
        target = self.size if self._long else -self.size
        return self._toward(target, portfolio.qty(self.symbol), snapshot.ts)


class CorrelationBreaker:
    """Trade a basket as if its symbols were independent (they are not).

    Every bar it adds ``qty`` long in each symbol, so each leg stays small against its own limit
    while the risk piles up in one direction (the correlation its sizing ignored). What must stop
    it is a book-wide limit: gross notional, concentration, the VaR or drawdown monitors.
    """

    name = "correlation_breaker"

    def __init__(self, symbols: Sequence[str] = ("X", "Y", "Z"), qty: float = 1.0) -> None:
        if not symbols:
            msg = "symbols must name at least one symbol"
            raise ValueError(msg)
        self.symbols, self.qty = tuple(symbols), qty
        self._ids = itertools.count(1)

    def params(self) -> dict[str, Any]:
        """Return the basket and the size of each leg."""
        return {"symbols": list(self.symbols), "qty": self.qty}

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        """Buy ``qty`` of every symbol of the basket that has a price."""
        return [
            Order(
                client_order_id=f"{self.name}-{next(self._ids)}",
                symbol=symbol,
                side=Side.BUY,
                qty=self.qty,
                ts=snapshot.ts,
            )
            for symbol in self.symbols
            if symbol in snapshot.last
        ]


GATE_STOPPED = (Runaway, RiskIgnorant, VolatilityAmplifier, SlowLeak, FlipFlopper)
"""The single-symbol misbehaving policy classes the risk gate stops."""
