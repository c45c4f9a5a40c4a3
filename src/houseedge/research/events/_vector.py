"""Run a vectorised policy on the event-driven path, as market orders for each target change."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from houseedge.core.costs import NO_COSTS, CostModel
from houseedge.core.execution import OrderState
from houseedge.core.policies.protocol import VectorPolicy, allows_short
from houseedge.core.sizing.sizers import FixedUnits, Sizer, SizingRequest
from houseedge.core.types import MarketSnapshot, Order, PortfolioState, Side, TimeInForce
from houseedge.errors import PolicyError


@dataclass
class VectorAsOrders:
    """An :class:`~houseedge.core.policies.protocol.OrderPolicy` trading a vector target.

    At each bar of a symbol it reads the policy's target (a decision on the bar's close) and,
    when it differs from the previous bar's, emits GTC market orders as the vectorised engine
    trades: a close of the whole position when the target goes flat or changes sign, then an
    order for the difference between the sized target and what is held.

    Sizing happens at the decision, on the decision bar's close moved by ``costs`` (the
    vectorised engine sizes at the fill's quote, which a decision cannot know yet), so
    price-independent sizers (:class:`~houseedge.core.sizing.sizers.FixedUnits`) give exactly the
    trades of :func:`~houseedge.research.backtest.backtest`; equity-based sizers differ by the
    overnight move. Sizer ``inputs()`` are not supported.

    ``precompute``: when the engine offers ``prepare(bars)`` (the event backtest does), the
    target is evaluated once over each symbol's full history and read at each bar. That is
    exact because a vector policy's target on bar *t* uses bars ``<= t`` only (the no-look-ahead
    property the built-ins are tested for). Set it False for a policy not known to be causal:
    the target is then re-evaluated on the bars so far at every bar (quadratic time).

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> from houseedge.research.events import run_events
    >>> bars = pl.DataFrame({"ts": list(range(8)),
    ...     "open": [5.0, 4.0, 3.0, 2.0, 3.0, 4.0, 5.0, 4.0],
    ...     "close": [4.0, 3.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0]}).with_columns(
    ...     high=pl.max_horizontal("open", "close"), low=pl.min_horizontal("open", "close"))
    >>> result = run_events(bars, VectorAsOrders(SmaCross(1, 3), FixedUnits(10)))
    >>> result.orders.select("ts", "side", "qty", "price", "reason").rows()
    [(4, 'buy', 10.0, 3.0, 'open'), (7, 'sell', 10.0, 4.0, 'close')]
    """

    policy: VectorPolicy
    sizing: Sizer = field(default_factory=FixedUnits)
    costs: CostModel = NO_COSTS
    allow_short: bool | None = None
    precompute: bool = True
    _targets: dict[str, list[float]] = field(default_factory=dict[str, list[float]], repr=False)
    _last: dict[str, float] = field(default_factory=dict[str, float], repr=False)

    @property
    def name(self) -> str:
        """Return the vector policy's name."""
        return self.policy.name

    def params(self) -> Mapping[str, Any]:
        """Return the vector policy's parameters, with the sizer's."""
        return {**self.policy.params(), "sizing": self.sizing.name, **self.sizing.params()}

    def prepare(self, bars: pl.DataFrame) -> None:
        """Evaluate the target over each symbol's history once (when ``precompute``)."""
        self._last.clear()
        self._targets.clear()
        if not self.precompute:
            return
        for part in bars.partition_by("symbol", maintain_order=True):
            values = part.select(self.policy.target()).to_series().to_list()
            self._targets[str(part.get_column("symbol")[0])] = values

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: Any
    ) -> list[Order]:
        """Return the market orders that move each symbol with a new bar to its new target."""
        orders: list[Order] = []
        for symbol in snapshot.bars:
            wanted = self._wanted(symbol, context)
            if wanted == self._last.get(symbol, 0.0):
                continue
            self._last[symbol] = wanted
            orders.extend(self._orders(symbol, wanted, portfolio, snapshot, context))
        return orders

    def _wanted(self, symbol: str, context: Any) -> float:
        row: int = context.row(symbol)
        value: float | None
        if symbol in self._targets:
            value = self._targets[symbol][row]
        else:
            history: pl.DataFrame = context.history(symbol)
            value = history.select(self.policy.target()).to_series()[-1]
        target = 0.0 if value is None or math.isnan(value) else float(value)
        if abs(target) > 1.0:
            msg = f"policy {self.policy.name!r} produced target {target} at row {row}"
            raise PolicyError(msg)
        shorts = self.allow_short
        if shorts is None:
            shorts = allows_short(self.policy)
        return target if shorts else max(target, 0.0)

    def _orders(
        self,
        symbol: str,
        wanted: float,
        portfolio: PortfolioState,
        snapshot: MarketSnapshot,
        context: Any,
    ) -> list[Order]:
        states: list[OrderState] = context.open_orders(symbol)
        held = portfolio.qty(symbol) + sum(s.order.side.sign * s.remaining for s in states)
        orders: list[Order] = []
        if held != 0 and (wanted == 0 or wanted * held < 0):
            orders.append(self._market(context, symbol, -held, "close"))
            held = 0.0
        if wanted == 0:
            return orders
        price = snapshot.price(symbol)
        estimate = self.costs.fill_price(price, 1 if wanted > 0 else -1, {})
        request = SizingRequest(
            symbol=symbol,
            target=wanted,
            price=estimate,
            equity=portfolio.equity,
            cash=portfolio.cash,
            position=held,
            fee_rate=self.costs.fee_rate(estimate),
            n_symbols=len(snapshot.last),
        )
        delta = float(self.sizing.quantity(request)) - held
        if delta != 0:
            orders.append(self._market(context, symbol, delta, "open" if held == 0 else "resize"))
        return orders

    @staticmethod
    def _market(context: Any, symbol: str, signed: float, tag: str) -> Order:
        side = Side.BUY if signed > 0 else Side.SELL
        order: Order = context.order(symbol, side, abs(signed), tif=TimeInForce.GTC, tag=tag)
        return order
