"""The strategy manager's routes: ``POST /strategies/{name}/{action}`` (token-protected).

``action`` is one of ``enable``, ``disable``, ``pause``, ``resume``, ``reset`` (a failed
strategy back to running), ``kill`` (body ``{"flatten": true}`` to close its positions too),
``reload`` (re-import its code and swap it in; ``{"reloaded": false, "error": ...}`` when the
new version fails to import or construct, the old one still running) and ``blackout`` (body
``{"start": ns, "end": ns, "reductions": true}``, UTC nanoseconds). Each goes through the
service's mutation path: the bearer token, the operator's name, an audited journal event.
An engine without a strategy manager answers 409.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from aiohttp import web

from houseedge.errors import PolicyError
from houseedge.live.service._http import BodyError

__all__ = ["add_strategy_routes"]

Act = Callable[[str, bytes], Awaitable[Mapping[str, Any]]]
Mutate = Callable[[web.Request, str, Act], Awaitable[web.Response]]


def _arguments(body: bytes) -> dict[str, Any]:
    """Return the body's JSON object (an empty body is ``{}``); raise BodyError otherwise."""
    try:
        value: Any = msgspec.json.decode(body or b"{}")
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        raise BodyError("invalid body", field="body", expected="a JSON object")
    return {str(k): v for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


def add_strategy_routes(app: web.Application, mutate: Mutate, engine: Callable[[], Any]) -> None:
    """Register ``POST /strategies/{name}/{action}`` on ``app`` through ``mutate``."""

    async def handle(request: web.Request) -> web.Response:
        name, action = request.match_info["name"], request.match_info["action"]

        async def act(operator: str, body: bytes) -> Mapping[str, Any]:
            manage = getattr(engine(), "manage", None)
            if manage is None:
                raise PolicyError("this engine has no strategy manager")
            return await manage(name, action, operator=operator, **_arguments(body))

        return await mutate(request, f"strategy_{action}", act)

    app.router.add_post("/strategies/{name}/{action}", handle)
