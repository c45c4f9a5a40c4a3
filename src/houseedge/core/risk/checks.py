"""The individual pre-trade checks of :class:`houseedge.core.risk.gate.RiskGate`, and its answer.

Each check returns ``None`` when the order passes it, else the rejection (the gate counts it).
Details name what the order asked for and what the limit allows. The semantics of each check
are listed in :mod:`houseedge.core.risk.gate`.
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

from houseedge.core.risk.limits import CompiledLimits, SymbolFigures
from houseedge.core.types import Order
from houseedge.errors import RiskRejected

__all__ = [
    "ACCEPTED",
    "RiskDecision",
    "breaker_rejection",
    "check_concentration",
    "check_exposure",
    "check_price",
    "check_rate",
    "check_size",
    "concentration_ok",
    "diagnose",
]


class RiskDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The gate's answer: accepted, or rejected by ``check`` with a ``detail`` to log.

    Examples
    --------
    >>> RiskDecision(accepted=False, check="price_band", detail="...").raise_if_rejected()
    Traceback (most recent call last):
    ...
    houseedge.errors.RiskRejected: risk check price_band rejected the order: ...
    """

    accepted: bool
    check: str = ""
    detail: str = ""

    def raise_if_rejected(self) -> None:
        """Raise :class:`~houseedge.errors.RiskRejected` when the order was rejected."""
        if not self.accepted:
            raise RiskRejected(self.check, self.detail)


ACCEPTED: Final = RiskDecision(accepted=True)


def check_price(
    order: Order, scope: CompiledLimits, price: float, last: float | None
) -> RiskDecision | None:
    """Reject without a usable last price, or with a price outside the band."""
    if last is None or not 0 < last < math.inf:
        return _reject("no_last_price", f"{order.symbol}: no usable last price ({last})")
    if abs(price - last) > scope.band * last:
        band = scope.limits.price_band
        return _reject(
            "price_band",
            f"{order.symbol}: {order.side} at {price:.10g} is "
            f"{abs(price / last - 1):.2%} from the last {last:.10g}, "
            f"band is {band:.2%}",
        )
    return None


def check_size(
    order: Order,
    scope: CompiledLimits,
    sym: SymbolFigures,
    price: float,
    total: int,
    in_symbol: int,
) -> RiskDecision | None:
    """Reject an order too big by itself, or one open order too many."""
    qty = order.qty
    head = f"{order.symbol}: {order.side} {qty:.10g}"
    if qty > scope.order_qty + sym[5]:
        return _reject("max_order_qty", f"{head}, max_order_qty is {scope.order_qty:.10g}")
    if qty * price > scope.order_notional:
        return _reject(
            "max_order_notional",
            f"{head} at {price:.10g} is notional "
            f"{qty * price:.10g}, max_order_notional is "
            f"{scope.limits.max_order_notional}",
        )
    if total >= scope.open:
        return _reject(
            "max_open_orders",
            f"{head}: {total} orders already open, max_open_orders is {scope.open}",
        )
    if in_symbol >= sym[4]:
        return _reject(
            "max_open_orders_symbol",
            f"{head}: {in_symbol} orders already open in the symbol, max is {sym[4]}",
        )
    return None


def check_exposure(
    order: Order,
    scope: CompiledLimits,
    sym: SymbolFigures,
    position: float,
    after: float,
    last: float,
    gross: float,
) -> RiskDecision | None:
    """Reject a non-reducing order whose worst-case position or gross is over a limit."""
    head = f"{order.symbol}: {order.side} {order.qty:.10g} would take the position to"
    side = "max_long" if after > 0 else "max_short"
    if after > sym[0] or -after > sym[1]:
        limit = scope.limits.for_symbol(order.symbol, side)
        return _reject("max_position", f"{head} {after:.10g} (worst case), {side} is {limit:.10g}")
    if after * last > sym[2] or -after * last > sym[3]:
        limit = scope.limits.for_symbol(order.symbol, f"{side}_notional")
        return _reject(
            "max_position_notional",
            f"{head} {after:.10g}, notional "
            f"{abs(after) * last:.10g} at {last:.10g}, {side}_notional is "
            f"{limit:.10g}",
        )
    gross_after = gross + (abs(after) - abs(position)) * last
    if gross_after > scope.gross:
        return _reject(
            "max_gross_notional",
            f"{head} {after:.10g}: gross notional "
            f"{gross_after:.10g}, max_gross_notional is "
            f"{scope.limits.max_gross_notional:.10g}",
        )
    return check_concentration(order, scope, position, after, last, gross)


def check_concentration(
    order: Order, scope: CompiledLimits, position: float, after: float, last: float, gross: float
) -> RiskDecision | None:
    """Reject a non-reducing order that leaves its symbol over ``max_concentration`` of gross.

    The share is the symbol's notional ``|after| * last`` over the book's gross notional after
    the order; below ``concentration_floor`` of gross (a book just starting) it is not checked.

    Examples
    --------
    >>> from houseedge.core.risk.limits import CompiledLimits, RiskLimits
    >>> scope = CompiledLimits(RiskLimits(max_concentration=0.5), ())
    >>> order = Order(client_order_id="o", symbol="X", side="buy", qty=10)
    >>> check_concentration(order, scope, 0.0, 10.0, 10.0, 90.0).detail
    'X: buy 10 would make X 52.631579% of the gross notional 190, max_concentration is 50%'
    >>> check_concentration(order, scope, 0.0, 10.0, 10.0, 110.0) is None
    True
    """
    if concentration_ok(scope, position, after, last, gross):
        return None
    gross_after = gross + (abs(after) - abs(position)) * last
    share = abs(after) * last / gross_after
    limit = scope.limits.max_concentration
    return _reject(
        "max_concentration",
        f"{order.symbol}: {order.side} {order.qty:.10g} would make {order.symbol} "
        f"{share:.6%} of the gross notional {gross_after:.10g}, max_concentration is {limit:.0%}",
    )


def concentration_ok(
    scope: CompiledLimits, position: float, after: float, last: float, gross: float
) -> bool:
    """Return whether :func:`check_concentration` passes (the gate's fast path)."""
    if scope.concentration == math.inf:
        return True
    gross_after = gross + (abs(after) - abs(position)) * last
    if gross_after <= scope.floor or gross_after <= 0:
        return True
    return abs(after) * last / gross_after <= scope.concentration


def check_rate(scope: CompiledLimits, order: Order, now_ns: int) -> RiskDecision | None:
    """Reject when a rate window of ``scope`` is full at ``now_ns`` (evicting old entries)."""
    for window in scope.windows:
        if window.full(now_ns):
            return _reject(
                "order_rate",
                f"{order.symbol}: {len(window.times)} orders in the last "
                f"{window.span / 1e9:g} s, the limit is {window.limit}",
            )
    return None


def breaker_rejection(order: Order, halted: bool, flatten_requested: bool) -> RiskDecision:
    """Return the rejection of an order the breaker stops."""
    what = f"{order.symbol}: {order.side} {order.qty:.10g}"
    if halted:
        why = "not reducing" if flatten_requested else "no flatten was requested"
        return _reject("halted", f"{what}: the breaker is halted ({why})")
    return _reject(
        "reduce_only", f"{what} does not reduce the position; the breaker is reduce-only"
    )


def _reject(check: str, detail: str) -> RiskDecision:
    return RiskDecision(accepted=False, check=check, detail=detail)


def diagnose(
    order: Order,
    scope: CompiledLimits,
    sym: SymbolFigures,
    last_price: float | None,
    now_ns: int,
    figures: tuple[float, float, bool, float, int, int],
) -> RiskDecision:
    """Return the first failing check's rejection, in the gate's order.

    ``figures`` is ``(position, worst-case position after, reducing, gross notional, open
    orders, open orders in the symbol)``. Inputs no check can judge (NaN) are rejected as
    ``invalid_input``.
    """
    position, after, reducing, gross, total, in_symbol = figures
    price = order.limit_price or order.stop_price or last_price or 0.0
    rejected = check_price(order, scope, price, last_price) or check_size(
        order, scope, sym, price, total, in_symbol
    )
    if rejected is None and not reducing:
        last = last_price or 0.0
        rejected = check_exposure(order, scope, sym, position, after, last, gross)
    if rejected is None:
        rejected = check_rate(scope, order, now_ns)
    if rejected is None:
        detail = f"{order.symbol}: position {position}, gross {gross}: not comparable"
        rejected = _reject("invalid_input", detail)
    return rejected
