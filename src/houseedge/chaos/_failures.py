"""Failures the live engine isolates: a policy that raises, one too slow, a bad target.

The live engine fails the strategy (state ``failed``, its working orders cancelled, a journaled
event with the traceback's last frame) and keeps the others trading.
"""

from __future__ import annotations

import time
from typing import Any

import polars as pl

from houseedge.chaos._gate import OneSymbol
from houseedge.core import types
from houseedge.core.types import MarketSnapshot, Order, PortfolioState, Side

__all__ = ["BadTarget", "Raiser", "Sluggish"]


class Raiser(OneSymbol):
    """Trade a fixed schedule, then raise on the ``at``-th decision (a bug).

    The schedule: buy ``qty`` every 10th bar and sell it 5 bars later, beside a limit buy
    resting far below the market.
    """

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
        ts, orders = snapshot.ts, list[Order]()
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
    """Follow the last move (±0.5) as a vector policy, then target ``value`` from ``from_ts``.

    ``value`` is the bad target (NaN, 2.0, an infinity); ``from_ts`` is in UTC ns.
    """

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
