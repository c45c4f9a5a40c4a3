"""Cash and positions of the event-driven loop, and the record of every fill.

Positions are integers of ``lot`` units, so a round trip leaves exactly nothing. Trading cash
(fills and fees) and accrued borrow are kept apart, as the vectorised engine does: the fills
frame carries the trading cash and the equity curve subtracts the borrow per bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from houseedge.core.types import PortfolioState, Position


def _reason(before: int, after: int) -> str:
    if before == 0:
        return "open"
    if after == 0:
        return "close"
    return "reverse" if (before > 0) != (after > 0) else "resize"


@dataclass(slots=True)
class _Fills:
    glob: list[int] = field(default_factory=list[int])  # the fill bar's index in the frame
    qty: list[float] = field(default_factory=list[float])  # signed
    price: list[float] = field(default_factory=list[float])
    fee: list[float] = field(default_factory=list[float])
    reason: list[str] = field(default_factory=list[str])
    decided: list[int] = field(default_factory=list[int])
    position_after: list[float] = field(default_factory=list[float])
    cash_after: list[float] = field(default_factory=list[float])


@dataclass(slots=True)
class Book:
    """Cash, positions in lots, average prices and last closes, per symbol index."""

    symbols: list[str]
    lot: float
    cash: float
    borrow_rate: float
    lots: list[int] = field(default_factory=list[int])
    avg: list[float] = field(default_factory=list[float])
    last: list[float] = field(default_factory=list[float])
    borrow: float = 0.0
    fills: _Fills = field(default_factory=_Fills)
    _positions: dict[str, Position] | None = None

    def __post_init__(self) -> None:
        n = len(self.symbols)
        self.lots, self.avg, self.last = [0] * n, [0.0] * n, [float("nan")] * n

    def trade(
        self, s: int, signed_lots: int, price: float, fee: float, where: tuple[int, int, bool]
    ) -> None:
        """Book a fill of ``signed_lots`` of symbol ``s``.

        ``where`` is the fill bar's frame index, the deciding time and whether the fill closes
        the position at the end of data.
        """
        glob, decided, final = where
        before, after = self.lots[s], self.lots[s] + signed_lots
        qty = signed_lots * self.lot
        self.cash -= qty * price + fee
        self._average(s, before, after, price)
        self.lots[s] = after
        self._positions = None
        record = self.fills
        record.glob.append(glob)
        record.qty.append(qty)
        record.price.append(price)
        record.fee.append(fee)
        record.reason.append("finalize" if final else _reason(before, after))
        record.decided.append(decided)
        record.position_after.append(after * self.lot)
        record.cash_after.append(self.cash)

    def _average(self, s: int, before: int, after: int, price: float) -> None:
        if after == 0:
            self.avg[s] = 0.0
        elif before == 0 or (before > 0) != (after > 0):
            self.avg[s] = price
        elif abs(after) > abs(before):
            self.avg[s] = (self.avg[s] * abs(before) + price * (abs(after) - abs(before))) / abs(
                after
            )

    def close_bar(self, s: int, close: float) -> None:
        """Mark symbol ``s`` at a bar's close and charge borrow on a short held over it."""
        self.last[s] = close
        if self.lots[s] < 0:
            self.borrow -= self.lots[s] * self.lot * close * self.borrow_rate

    def portfolio(self, at: int) -> PortfolioState:
        """Return the portfolio marked at the last closes."""
        if self._positions is None:
            self._positions = {
                name: Position(symbol=name, qty=held * self.lot, avg_price=self.avg[s])
                for s, (name, held) in enumerate(zip(self.symbols, self.lots, strict=True))
                if held
            }
        cash = self.cash - self.borrow
        value = sum(held * self.lot * self.last[s] for s, held in enumerate(self.lots) if held)
        return PortfolioState(ts=at, cash=cash, equity=cash + value, positions=self._positions)

    def frame(self, bars: pl.DataFrame) -> pl.DataFrame:
        """Return the fills as the ``orders`` frame of a backtest result (sorted by time)."""
        f = self.fills
        at = pl.Series(f.glob, dtype=pl.Int64)
        ts = bars.get_column("ts").gather(at)
        qty = pl.Series(f.qty, dtype=pl.Float64)
        return pl.DataFrame(
            {
                "ts": ts,
                "symbol": bars.get_column("symbol").gather(at),
                "side": pl.Series(["buy" if q > 0 else "sell" for q in f.qty], dtype=pl.String),
                "qty": qty.abs(),
                "price": pl.Series(f.price, dtype=pl.Float64),
                "fee": pl.Series(f.fee, dtype=pl.Float64),
                "reason": pl.Series(f.reason, dtype=pl.String),
                "decision_ts": pl.Series(f.decided, dtype=pl.Int64).cast(ts.dtype),
                "row": bars.get_column("row").gather(at).cast(pl.Int64),
                "position_after": pl.Series(f.position_after, dtype=pl.Float64),
                "cash_after": pl.Series(f.cash_after, dtype=pl.Float64),
            }
        ).sort("ts", maintain_order=True)
