"""A loopback Binance (spot) that the real python-binance talks to: REST, WebSocket API, streams.

REST under ``/api/v3`` verifies ``X-MBX-APIKEY`` and the HMAC-SHA256 signature over the exact
query string (GET) or form body (POST/DELETE), and the timestamp against ``recvWindow``, with
Binance's codes (-2014, -1022, -1021). The WebSocket API (``/ws-api/v3``) answers
``userDataStream.subscribe.signature`` / ``unsubscribe`` / ``session.subscriptions`` and pushes
events wrapped as ``{"subscriptionId": n, "event": {...}}`` to every live subscription; ids are
per connection and nothing is replayed. Market streams: ``/ws/<stream>`` and combined
``/stream?streams=a/b``, kline and trade. Fault knobs are plain attributes (see ``Faults``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

from tests.fakes.binance.exchange import Exchange, OrderError, SymbolSpec, fmt

_BAD_SIGNATURE = (-1022, "Signature for this request is not valid.")
_STALE = (-1021, "Timestamp for this request is outside of the recvWindow.")


@dataclass
class Faults:
    """What the fake does wrong next (counters count down as they fire)."""

    rate_limit: int = 0  # answer the next n REST requests 429 with Retry-After
    ban: int = 0  # ... or 418 (IP banned) with Retry-After
    retry_after: int = 1
    duplicate_order: int = 0  # commit the next n orders but answer -2010
    lose_response: int = 0  # commit the next n orders but answer 503 / -1007
    drop_events: int = 0  # silently drop the next n user events
    duplicate_events: bool = False  # send every user event twice
    malformed_events: int = 0  # replace the next n user events by undecodable ones
    garbage_frames: int = 0  # send the next n user events as non-JSON text instead
    bad_signature: int = 0  # reject the next n signed REST requests with -1022
    clock_skew_ms: int = 0  # the server's clock runs ahead by this much


class FakeBinance:
    """The server: ``await start()``, then point the client at ``api_url`` / ``ws_api_url``."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        paths: dict[str, list[float]],
        *,
        quote: str = "USDT",
        cash: Decimal = Decimal(1_000_000),
        fill_chunk: str | None = None,
        market_chunk: str | None = None,
    ) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        specs = {s: SymbolSpec(s, s.removesuffix(quote), quote) for s in paths}
        self.exchange = Exchange(
            specs, {s: [Decimal(str(p)) for p in path] for s, path in paths.items()},
            clock=self.now_ms, fill_chunk=Decimal(fill_chunk) if fill_chunk else None,
            market_chunk=Decimal(market_chunk) if market_chunk else None,
        )  # fmt: skip
        self.exchange.balances[quote] = cash
        self.faults = Faults()
        self.ws_api: dict[web.WebSocketResponse, set[int]] = {}
        self.ws_api_connects = 0
        self.subscribes = 0
        self.market: list[tuple[web.WebSocketResponse, set[str], bool]] = []
        self.requests: list[tuple[str, str]] = []
        self.lost_events = 0
        self._next_sub: dict[web.WebSocketResponse, int] = {}
        self._runner: web.AppRunner | None = None
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sending: asyncio.Task[None] | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FakeBinance:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application()
        app.router.add_get("/ws-api/v3", self._ws_api)
        app.router.add_get("/stream", self._market_ws)
        app.router.add_get("/ws/{stream}", self._market_ws)
        app.router.add_route("*", "/api/v3/{name}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._sending = asyncio.get_running_loop().create_task(self._sender())
        return self

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._sending is not None:
            self._sending.cancel()
        for ws in [*self.ws_api, *(m[0] for m in self.market)]:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ws_api_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws-api/v3"

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.faults.clock_skew_ms

    # -- driving the market -----------------------------------------------------------------

    async def step(self, symbol: str | None = None) -> bool:
        """Advance one symbol (or all) one point; push market and user events; False at the end."""
        moved_any = False
        for sym in [symbol] if symbol else list(self.exchange.paths):
            moved, events = self.exchange.step(sym)
            moved_any |= moved
            if moved:
                await self._push_market(sym)
                self.push_user(events)
        return moved_any

    @property
    def subscriptions(self) -> int:
        return sum(len(s) for s in self.ws_api.values())

    async def drop_ws_api(self) -> None:
        """Close every WebSocket-API connection (the 24-hour disconnect, or a network blip)."""
        for ws in list(self.ws_api):
            await ws.close()

    # -- user data --------------------------------------------------------------------------

    def push_user(self, events: list[dict[str, Any]]) -> None:
        """Queue events for every subscription; one sender keeps them in order."""
        for event in events:
            self._outbox.put_nowait(event)

    async def flush(self) -> None:
        """Wait until every queued user event was sent (or lost)."""
        await self._outbox.join()

    async def _sender(self) -> None:
        f = self.faults
        while True:
            event = await self._outbox.get()
            try:
                if f.drop_events > 0 or not self.subscriptions:
                    f.drop_events = max(f.drop_events - 1, 0)
                    self.lost_events += 1
                    continue
                for ws, subs in list(self.ws_api.items()):
                    for sub in list(subs):
                        await self._send_event(ws, sub, event)
            finally:
                self._outbox.task_done()

    async def _send_event(self, ws: web.WebSocketResponse, sub: int, event: dict[str, Any]) -> None:
        f = self.faults
        try:
            if f.garbage_frames > 0:
                f.garbage_frames -= 1
                await ws.send_str(f'{{"subscriptionId": {sub}, "event": {{"e": "executionRep')
                return
            if f.malformed_events > 0:
                f.malformed_events -= 1
                event = {**event, "l": "not-a-number", "t": "x"}
                if event["e"] != "executionReport":
                    event = {"e": "executionReport", "E": "soon"}
            text = json.dumps({"subscriptionId": sub, "event": event})
            for _ in range(2 if f.duplicate_events else 1):
                await ws.send_str(text)
        except ConnectionResetError:  # closing under us: the event is lost, as on Binance
            self.lost_events += 1

    async def _ws_api(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self.ws_api[ws] = set()
        self._next_sub[ws] = 0
        self.ws_api_connects += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await ws.send_str(json.dumps(self._ws_request(ws, json.loads(msg.data))))
        finally:
            self.ws_api.pop(ws, None)
            self._next_sub.pop(ws, None)
        return ws

    def _ws_request(self, ws: web.WebSocketResponse, req: dict[str, Any]) -> dict[str, Any]:
        rid, method, params = req.get("id"), req.get("method"), dict(req.get("params", {}))
        self.requests.append(("WS", str(method)))

        def error(code: int, msg: str, status: int = 400) -> dict[str, Any]:
            return {"id": rid, "status": status, "error": {"code": code, "msg": msg}}

        if method == "userDataStream.subscribe.signature":
            signature = params.pop("signature", "")
            if params.get("apiKey") != self.api_key:
                return error(-2015, "Invalid API-key, IP, or permissions for action.", 401)
            if not self._verify(urlencode(sorted(params.items())), signature):
                return error(*_BAD_SIGNATURE)
            if self._stale(params):
                return error(*_STALE)
            if self.ws_api[ws]:
                return error(-2035, "User Data Stream subscription already active.")
            sub = self._next_sub[ws]
            self._next_sub[ws] = sub + 1
            self.ws_api[ws].add(sub)
            self.subscribes += 1
            return {"id": rid, "status": 200, "result": {"subscriptionId": sub}}
        if method == "userDataStream.unsubscribe":
            sub = params.get("subscriptionId")
            if sub not in self.ws_api[ws]:
                return error(-2036, "Subscription not found.")
            self.ws_api[ws].discard(sub)
            return {"id": rid, "status": 200, "result": {}}
        if method == "session.subscriptions":
            return {"id": rid, "status": 200,
                    "result": [{"subscriptionId": s} for s in sorted(self.ws_api[ws])]}  # fmt: skip
        return error(-1000, f"Unknown method {method}")

    # -- market streams ---------------------------------------------------------------------

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        combined = "stream" not in request.match_info
        names = request.query.get("streams", "") if combined else request.match_info["stream"]
        entry = (ws, set(names.split("/")), combined)
        self.market.append(entry)
        try:
            async for _ in ws:
                pass
        finally:
            self.market.remove(entry)
        return ws

    async def _push_market(self, symbol: str) -> None:
        index = self.exchange.cursor[symbol]
        k = self.exchange.kline(symbol, index)
        low = symbol.lower()
        payloads = {
            f"{low}@trade": {"e": "trade", "E": k[6], "s": symbol, "t": index, "p": k[4],
                             "q": "1.00000000", "T": k[6], "m": False, "M": True},
            f"{low}@kline_1m": {"e": "kline", "E": k[6] + 1, "s": symbol, "k": {
                "t": k[0], "T": k[6], "s": symbol, "i": "1m", "f": index, "L": index,
                "o": k[1], "c": k[4], "h": k[2], "l": k[3], "v": k[5], "n": 5, "x": True,
                "q": k[7], "V": "5.00000000", "Q": k[10], "B": "0"}},
        }  # fmt: skip
        for ws, names, combined in list(self.market):
            for name, data in payloads.items():
                if name in names and not ws.closed:
                    body = {"stream": name, "data": data} if combined else data
                    await ws.send_str(json.dumps(body))

    # -- REST -------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        name, method = request.match_info["name"], request.method
        self.requests.append((method, name))
        f = self.faults
        if f.rate_limit > 0 or f.ban > 0:
            status = 429 if f.rate_limit > 0 else 418
            f.rate_limit, f.ban = max(f.rate_limit - 1, 0), max(f.ban - (status == 418), 0)
            msg = "Too many requests; current limit of IP is 6000 requests per minute."
            return _json({"code": -1003, "msg": msg}, status, {"Retry-After": str(f.retry_after)})
        raw = request.query_string if method == "GET" else (await request.text())
        params = dict(parse_qsl(raw, keep_blank_values=True))
        try:
            if name in ("ping", "time", "exchangeInfo", "klines"):
                return _json(self._public(name, params))
            self._authenticate(request, raw, params)
            return _json(self._private(method, name, params))
        except OrderError as exc:
            return _json({"code": exc.code, "msg": exc.msg}, exc.status)

    def _public(self, name: str, params: dict[str, str]) -> Any:
        ex = self.exchange
        if name == "ping":
            return {}
        if name == "time":
            return {"serverTime": self.now_ms()}
        if name == "exchangeInfo":
            return {"timezone": "UTC", "serverTime": self.now_ms(), "rateLimits": [],
                    "symbols": [s.info() for s in ex.specs.values()]}  # fmt: skip
        symbol = params.get("symbol", "")
        if symbol not in ex.specs:
            raise OrderError(-1121, "Invalid symbol.")
        rows = [ex.kline(symbol, i) for i in range(len(ex.paths[symbol]))]
        start, end = int(params.get("startTime", 0)), int(params.get("endTime", 2**62))
        rows = [r for r in rows if start <= r[0] <= end]
        return rows[: int(params.get("limit", 500))]

    def _authenticate(self, request: web.Request, raw: str, params: dict[str, str]) -> None:
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            raise OrderError(-2014, "API-key format invalid.", 401)
        body, _, signature = raw.rpartition("&signature=")
        if self.faults.bad_signature > 0:
            self.faults.bad_signature -= 1
            raise OrderError(*_BAD_SIGNATURE)
        if not self._verify(body, signature):
            raise OrderError(*_BAD_SIGNATURE)
        if self._stale(params):
            raise OrderError(*_STALE)

    def _verify(self, payload: str, signature: str) -> bool:
        mac = hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256)
        return hmac.compare_digest(mac.hexdigest(), signature)

    def _stale(self, params: dict[str, Any]) -> bool:
        ts, window = int(params.get("timestamp", 0)), int(params.get("recvWindow", 5000))
        now = self.now_ms()
        return ts > now + 1000 or now - ts > window

    def _private(self, method: str, name: str, p: dict[str, str]) -> Any:
        ex = self.exchange
        if name == "order" and method == "POST":
            return self._place(p)
        if name == "order" and method == "GET":
            order = ex.find(p)
            if order is None:
                raise OrderError(-2013, "Order does not exist.")
            return order.rest()
        if name == "order" and method == "DELETE":
            order, events = ex.cancel(p)
            self._later(events)
            return {**order.rest(), "origClientOrderId": order.client_id}
        if name == "openOrders":
            return [o.rest() for o in ex.orders.values() if o.open and o.symbol == p["symbol"]]
        if name == "allOrders":
            orders = [o for o in ex.orders.values() if o.symbol == p["symbol"]]
            orders = [o for o in orders if o.order_id >= int(p.get("orderId", 0))
                      and o.time >= int(p.get("startTime", 0))]  # fmt: skip
            return [o.rest() for o in orders][: int(p.get("limit", 500))]
        if name == "myTrades":
            return self._my_trades(p)
        if name == "account":
            return {"makerCommission": 10, "takerCommission": 10, "canTrade": True,
                    "accountType": "SPOT", "updateTime": self.now_ms(), "permissions": ["SPOT"],
                    "balances": [{"asset": a, "free": fmt(v), "locked": fmt(None)}
                                 for a, v in sorted(ex.balances.items())]}  # fmt: skip
        raise OrderError(-1000, f"unsupported {method} {name}")

    def _my_trades(self, p: dict[str, str]) -> list[dict[str, Any]]:
        trades = self.exchange.trades.get(p["symbol"], [])
        limit = int(p.get("limit", 500))
        if "orderId" in p:
            trades = [t for t in trades if t.order_id == int(p["orderId"])]
        if "fromId" in p:
            trades = [t for t in trades if t.id >= int(p["fromId"])]
        elif "startTime" in p:
            trades = [t for t in trades if t.time >= int(p["startTime"])]
        else:
            trades = trades[-limit:]  # the most recent, as Binance does
        return [t.rest() for t in trades[:limit]]

    def _place(self, p: dict[str, str]) -> dict[str, Any]:
        order, events = self.exchange.place(p)
        self._later(events)
        f = self.faults
        if f.duplicate_order > 0:
            f.duplicate_order -= 1
            raise OrderError(-2010, "Duplicate order sent.")
        if f.lose_response > 0:
            f.lose_response -= 1
            msg = "Timeout waiting for response from backend server. Send status unknown."
            raise OrderError(-1007, msg, 503)
        body = order.rest()
        mine = [
            t for t in self.exchange.trades.get(order.symbol, []) if t.order_id == order.order_id
        ]
        body["fills"] = [
            {"price": fmt(t.price), "qty": fmt(t.qty), "commission": fmt(t.commission),
             "commissionAsset": t.commission_asset, "tradeId": t.id}
            for t in mine
        ]  # fmt: skip
        body["transactTime"] = order.time
        return body

    def _later(self, events: list[dict[str, Any]]) -> None:
        # The stream and the REST answer race on a real venue; here the events are queued
        # before the response is sent and go out in order.
        self.push_user(events)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    headers = {"X-MBX-USED-WEIGHT-1M": "1", **(headers or {})}
    return web.json_response(body, status=status, headers=headers)
