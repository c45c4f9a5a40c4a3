"""One order and one strategy's position over REST: read, cancel, close.

``GET /orders/{id}`` reads (404 naming the id when unknown); ``DELETE /orders/{id}`` cancels a
working order and ``POST /positions/{strategy}/{symbol}/close`` closes that strategy's own
position in that symbol (all of it, or ``{"qty": q}`` of it) with a market order through the
risk gate, as a reduction. Both mutations go through the service's token check and are audited
journal events (``cancel_order``, ``manual_order``) naming the operator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import msgspec
from aiohttp import web

from houseedge.core.types import Side
from houseedge.live.control import ManualOrder
from houseedge.live.service._http import BodyError, decode_body, json_error, json_response

if TYPE_CHECKING:
    from houseedge.live.service._server import Service

__all__ = ["CloseRequest", "add_order_routes"]

_EPSILON: Final = 1e-9


class CloseRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /positions/{strategy}/{symbol}/close`` (empty: close all of it)."""

    qty: float | None = None

    def __post_init__(self) -> None:
        if self.qty is not None and not self.qty > 0:
            msg = f"qty must be > 0, not {self.qty}"
            raise ValueError(msg)


_close_decoder: Final = msgspec.json.Decoder(CloseRequest)
Act = Callable[[str, bytes], Awaitable[Mapping[str, Any]]]


class _NotFound(BodyError):
    """An order or position the path names that the engine does not have."""


def add_order_routes(app: web.Application, service: Service) -> None:
    """Register the single-order and position-close routes of ``service`` on ``app``."""

    async def get_order(request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        found = _find_order(service, order_id)
        if found is None:
            return _not_found_order(order_id)
        return json_response(found)

    async def delete_order(request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]

        async def act(operator: str, _: bytes) -> Mapping[str, Any]:
            cancel = getattr(service.engine, "cancel_order", None)
            if cancel is None or _find_order(service, order_id) is None:
                raise _NotFound(f"no order {order_id!r}", field="order_id", expected="a known id")
            result: Mapping[str, Any] = await cancel(order_id, operator=operator)
            return result

        return await _guarded(service, request, "cancel_order", act)

    async def close_position(request: web.Request) -> web.Response:
        strategy, symbol = request.match_info["strategy"], request.match_info["symbol"]

        async def act(operator: str, body: bytes) -> Mapping[str, Any]:
            close = decode_body(_close_decoder, body or b"{}", what="close request")
            held = _held(service, strategy, symbol)
            if abs(held) <= _EPSILON:
                detail = f"strategy {strategy!r} holds no position in {symbol!r}"
                raise _NotFound(detail, field="symbol", expected="a held position")
            qty = abs(held) if close.qty is None else close.qty
            if qty > abs(held) + _EPSILON:
                detail = f"qty {qty} is more than the {abs(held)} held: a close cannot reverse"
                raise BodyError(detail, field="qty", expected=f"at most {abs(held)}")
            side = Side.SELL if held > 0 else Side.BUY
            order = ManualOrder(symbol=symbol, side=side, qty=qty, policy=strategy)
            outcome = await service.engine.submit_manual(order, operator=operator)
            return {**outcome, "strategy": strategy, "symbol": symbol, "held": held, "qty": qty}

        return await _guarded(service, request, "close_position", act)

    app.router.add_get("/orders/{order_id}", get_order)
    app.router.add_delete("/orders/{order_id}", delete_order)
    app.router.add_post("/positions/{strategy}/{symbol}/close", close_position)


async def _guarded(service: Service, request: web.Request, command: str, act: Act) -> web.Response:
    """Run ``act`` through the service's token check; a missing target answers 404."""
    missing: list[_NotFound] = []

    async def caught(operator: str, body: bytes) -> Mapping[str, Any]:
        try:
            return await act(operator, body)
        except _NotFound as exc:
            missing.append(exc)
            return {}

    response = await service.mutate(request, command, caught)
    if missing:
        return json_error(404, str(missing[0]), field=missing[0].field)
    return response


def _find_order(service: Service, order_id: str) -> Mapping[str, Any] | None:
    return next((o for o in service.engine.orders() if o["order_id"] == order_id), None)


def _not_found_order(order_id: str) -> web.Response:
    return json_error(404, f"no order {order_id!r}", field="order_id", expected="a known id")


def _held(service: Service, strategy: str, symbol: str) -> float:
    return sum(
        float(p["qty"])
        for p in service.engine.positions()
        if p["policy"] == strategy and p["symbol"] == symbol
    )
