"""Misbehaving policies: what the risk gate must stop, whatever engine runs them, and the
failures the live engine isolates (:class:`Raiser`, :class:`Sluggish`, :class:`BadTarget`).

Each satisfies :class:`houseedge.core.policies.protocol.OrderPolicy` (``decide(portfolio, snapshot,
context)``) and builds its orders itself (market orders with ids ``<name>-<n>``), so the same
objects run in the test harness of ``tests/integration/test_misbehaving_policies.py`` and in the
live engine. They read ``portfolio.qty(symbol)`` and ``snapshot.price(symbol)`` only.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from typing import Any

import polars as pl

from houseedge.core import types
from houseedge.core.types import MarketSnapshot, Order, PortfolioState, Side


class _Base:
    name = "base"

    def __init__(self, symbol: str = "X") -> None:
        self.symbol = symbol
        self._ids = itertools.count(1)

    def params(self) -> dict[str, Any]:
        return {"symbol": self.symbol}

    def _order(self, side: Side, qty: float, ts: int) -> Order:
        return Order(client_order_id=f"{self.name}-{next(self._ids)}", symbol=self.symbol,
                     side=side, qty=qty, ts=ts)  # fmt: skip

    def _toward(self, target: float, held: float, ts: int) -> list[Order]:
        delta = target - held
        if abs(delta) < 1e-12:
            return []
        return [self._order(Side.BUY if delta > 0 else Side.SELL, abs(delta), ts)]


class Runaway(_Base):
    """Sends ``per_bar`` buy orders every bar, forever (a loop bug)."""

    name = "runaway"

    def __init__(self, symbol: str = "X", per_bar: int = 100, qty: float = 1.0) -> None:
        super().__init__(symbol)
        self.per_bar, self.qty = per_bar, qty

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        return [self._order(Side.BUY, self.qty, snapshot.ts) for _ in range(self.per_bar)]


class RiskIgnorant(_Base):
    """Buys every bar and doubles its size whenever it did not get what it asked (a rejection)
    or lost since the last bar: a martingale that ignores every breach."""

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


class VolatilityAmplifier(_Base):
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


class SlowLeak(_Base):
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


class FlipFlopper(_Base):
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


class Raiser(_Base):
    """Trades a fixed schedule (buy ``qty`` every 10th bar, sell it 5 bars later) beside a
    limit buy resting far below the market, then raises on its ``at``-th decision (a bug)."""

    name = "raiser"

    def __init__(self, symbol: str = "X", at: int = 50, qty: float = 2.0) -> None:
        super().__init__(symbol)
        self.at, self.qty, self.calls = at, qty, 0

    def misbehave(self) -> None:
        msg = f"a bug on decision {self.calls}"
        raise RuntimeError(msg)

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        self.calls += 1
        if self.calls == self.at:
            self.misbehave()
        ts, orders = snapshot.ts, []
        if self.calls == 1:  # rests until it is cancelled
            orders.append(
                Order(
                    client_order_id=f"{self.name}-{next(self._ids)}",
                    symbol=self.symbol,
                    side=Side.BUY,
                    qty=1.0,
                    ts=ts,
                    type=types.OrderType.LIMIT,
                    limit_price=snapshot.price(self.symbol) / 2,
                    tif=types.TimeInForce.GTC,
                )
            )
        if self.calls % 10 == 1:
            orders.append(self._order(Side.BUY, self.qty, ts))
        elif self.calls % 10 == 6:
            orders.append(self._order(Side.SELL, self.qty, ts))
        return orders


class Sluggish(Raiser):
    """:class:`Raiser`'s schedule, but its ``at``-th decision takes ``seconds`` (a slow call)."""

    name = "sluggish"

    def __init__(self, symbol: str = "X", at: int = 50, seconds: float = 0.2) -> None:
        super().__init__(symbol, at)
        self.seconds = seconds

    def misbehave(self) -> None:
        time.sleep(self.seconds)


class BadTarget:
    """A vector policy following the last move (±0.5), whose target is ``value`` (NaN, 2.0, an
    infinity) from ``from_ts`` (UTC ns) on."""

    name = "bad_target"
    warmup = 1

    def __init__(self, value: float, from_ts: int) -> None:
        self.value, self.from_ts = value, from_ts

    def params(self) -> dict[str, Any]:
        return {"value": self.value, "from_ts": self.from_ts}

    def target(self) -> pl.Expr:
        close = pl.col("close")
        follow = pl.when(close >= close.shift(1)).then(0.5).otherwise(-0.5)
        late = pl.col("ts").dt.epoch("ns") >= self.from_ts
        return pl.when(late).then(pl.lit(self.value)).otherwise(follow)


ALL = (Runaway, RiskIgnorant, VolatilityAmplifier, SlowLeak, FlipFlopper)
"""Every misbehaving policy class the risk gate stops (the others fail their strategy)."""
