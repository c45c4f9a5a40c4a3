"""The paper broker's matching: market events against working orders, and the fills they make.

:func:`market_sides` reads a bar, trade or quote as the prices and volume each side of the book
trades against; :class:`PaperMatcher` holds the landed orders by symbol and matches them against
those sides with the rules of :mod:`houseedge.core.matching` (participation budgets, time in
force), pricing each fill with the cost model and booking it. The order state machine and the
request queue stay in :mod:`houseedge.live.paper`, which reports through the ``emit`` callback it
hands over; the split keeps each module within the house size and the hot matching loop in one
place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from houseedge.core.broker import MarketEvent, Trade
from houseedge.core.costs import CostModel
from houseedge.core.matching import BarPrices, book_bar, budget, fill_price, fillable, print_bar
from houseedge.core.matching import quote as quote_price
from houseedge.core.types import Bar, Fill, OrderExpired, OrderReport
from houseedge.live.aggregate import Timeframe
from houseedge.live.paper._book import PaperBook, Working

__all__ = ["NANOS_PER_DAY", "BookSide", "PaperMatcher", "market_sides"]

NANOS_PER_DAY = 86_400 * 1_000_000_000

BookSide = tuple[BarPrices, float]
"""The prices one side of the book trades at on an event, and the volume it offers."""

Emit = Callable[[Working, OrderReport], None]


def market_sides(event: MarketEvent) -> tuple[int, tuple[BookSide, BookSide], float]:
    """Return the event's end time, its (buy, sell) sides and its last price.

    A bar or a trade offers one side to both (the same object); a quote offers the ask to
    buys and the bid to sells (a size of 0 means unknown: no participation limit).
    """
    at = event.ts
    if isinstance(event, Bar):
        end = Timeframe.parse(event.timeframe).end(at) if event.timeframe else at
        prices = (event.open, event.high, event.low)
        side = (prices, event.volume)
        return end, (side, side), event.close
    if isinstance(event, Trade):
        side = (print_bar(event.price), event.size)
        return at, (side, side), event.price
    sides = (
        (book_bar(+1, event.bid, event.ask), event.ask_size or math.inf),
        (book_bar(-1, event.bid, event.ask), event.bid_size or math.inf),
    )
    return at, sides, (event.bid + event.ask) / 2


class PaperMatcher:
    """Match the landed orders of a symbol against an event's sides; price and book the fills.

    ``match`` reports through the ``emit`` it is given rather than one held here, so a
    matcher holds plain state only (the broker's state can be copied or pickled whole).
    """

    def __init__(
        self,
        costs: CostModel,
        participation: float | None,
        lot: float,
        book: PaperBook,
    ) -> None:
        self.costs, self.participation, self.lot = costs, participation, lot
        self.book = book
        self.active: dict[str, list[Working]] = {}
        self.inputs: dict[str, Mapping[str, float]] = {}
        self.fills: list[Fill] = []
        self._seq = 0

    def match(self, symbol: str, at: int, buy: BookSide, sell: BookSide, emit: Emit) -> None:
        """Match ``symbol``'s landed orders, oldest first, against the event at ``at``.

        ``emit`` receives every report (fills and expiries) with the order it concerns.
        """
        budgets: dict[int, int] = {}  # by side, or one for both (key 0) on bars and trades
        closed = False
        for work in self.active[symbol]:
            if not work.open or work.since > at:
                continue
            order = work.state.order
            if order.expire_ts is not None and at >= order.expire_ts:
                emit(work, OrderExpired(order_id=order.client_order_id, ts=at))
                closed = True
                continue
            if work.is_day and work.day is None:
                work.day = at // NANOS_PER_DAY
            side = buy if work.sign > 0 else sell
            at_quote, work.triggered = quote_price(
                order.type, work.sign, side[0], work.prices, work.triggered
            )
            if at_quote is not None:
                key = 0 if buy is sell else work.sign
                if key not in budgets:
                    budgets[key] = budget(self.participation, side[1], self.lot)
                lots = fillable(order.tif, work.lots - work.filled, budgets[key])
                if lots:
                    budgets[key] -= lots
                    emit(work, self._fill(work, lots, at_quote, at))
            if work.one_shot and work.open:
                emit(work, OrderExpired(order_id=order.client_order_id, ts=at))
            closed = closed or not work.open
        if closed:
            self.active[symbol] = [w for w in self.active[symbol] if w.open]

    def _fill(self, work: Working, lots: int, at_quote: float, at: int) -> Fill:
        order = work.state.order
        sign = order.side.sign
        inputs = self.inputs.get(order.symbol, {})
        price, liquidity = fill_price(
            self.costs, order.type, sign, at_quote, order.limit_price, inputs
        )
        qty = lots * self.lot
        fee = self.costs.fee(qty, price)
        work.filled += lots
        self._seq += 1
        fill = Fill(
            fill_id=f"paper-{self._seq}",
            order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            fee=fee,
            ts=at,
            liquidity=liquidity,
        )
        self.book.trade(order.symbol, sign * lots, price, fee)
        self.fills.append(fill)
        return fill
