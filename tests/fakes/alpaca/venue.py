"""The fake Alpaca venue: an in-memory order book that fills against a scripted price path.

Orders, executions, FILL activities, positions and cash live here; every change becomes a
trade-update event (the WS ``data`` / SSE payload shape of brokers.md §1.3 and §1.5) that is
appended to the event log (ULID ``event_id``, for SSE resume) and handed to the listeners the
server registers. Nothing here knows about HTTP.

Matching: a price set with :meth:`Venue.set_price` fills every working order it crosses (market
at the price; limits when the price is at or through the limit; stops, stop-limits and trailing
stops once triggered). Each fill is split into ``fill_chunks`` executions (whole units), so one
order can produce many fills. IOC/FOK orders that cannot fill on arrival are cancelled.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

WORKING = frozenset({"new", "accepted", "partially_filled", "pending_new"})
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class VenueError(Exception):
    """An HTTP error the server answers with (status and Alpaca's code/message body)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def rfc3339(ns: int) -> str:
    """Return ``ns`` as RFC 3339 with nanoseconds, as Alpaca writes timestamps."""
    seconds, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def parse_rfc3339(text: str) -> int:
    """Return UTC ns of an RFC 3339 timestamp or a date (what ``after``/``since`` accept)."""
    if len(text) == 10:
        text += "T00:00:00Z"
    text = text.replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    frac, tz = "", ""
    if rest:
        cut = next((i for i, c in enumerate(rest) if c in "+-"), len(rest))
        frac, tz = rest[:cut], rest[cut:]
    else:
        head, tz = head[:19], head[19:]
    base = datetime.fromisoformat(head + (tz or "+00:00"))
    return int(base.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


class Ulid:
    """Monotonic ULIDs: 48 bits of ms then an 80-bit counter seeded at random."""

    def __init__(self) -> None:
        self._last_ms, self._counter = 0, 0

    def next(self, ns: int) -> str:
        ms = ns // 1_000_000
        if ms <= self._last_ms:
            ms, self._counter = self._last_ms, self._counter + 1
        else:
            self._counter = secrets.randbits(70)
        self._last_ms = ms
        value = (ms << 80) | self._counter
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _num(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Venue:
    """The order book, account and event log of one fake Alpaca account."""

    def __init__(self, *, cash: float = 100_000.0, fill_chunks: int = 1) -> None:
        self.account_id = str(uuid.uuid4())
        self.cash, self.fill_chunks = cash, fill_chunks
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_client: dict[str, str] = {}
        self.prices: dict[str, float] = {}
        self.positions: dict[str, float] = {}
        self.cost: dict[str, float] = {}
        self.executions: list[dict[str, Any]] = []  # FILL activities, oldest first
        self.log: list[dict[str, Any]] = []  # every event, for SSE history
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.ulid = Ulid()
        self._hwm: dict[str, float] = {}
        self._triggered: set[str] = set()
        self._last_ns = 0

    def now(self) -> int:
        """Return a strictly increasing wall-clock ns (two events never share a stamp)."""
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        return self._last_ns

    # -- requests ---------------------------------------------------------------------------

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an order from a POST body; raise :class:`VenueError` as Alpaca would."""
        cid = str(body.get("client_order_id") or uuid.uuid4())
        if cid in self.by_client:
            raise VenueError(422, 40010001, "client_order_id must be unique")
        qty = float(body["qty"])
        kind = body.get("type", "market")
        if kind in ("limit", "stop_limit") and body.get("limit_price") is None:
            raise VenueError(422, 40010001, "limit_price is required")
        if (
            body["side"] == "buy"
            and kind == "market"
            and self.prices.get(body["symbol"], 0) * qty > self.cash * 4
        ):
            raise VenueError(403, 40310000, "insufficient buying power")
        order = self._new_order(cid, body, qty, kind)
        self.orders[order["id"]] = order
        self.by_client[cid] = order["id"]
        self._emit("new", order)
        self._match(order, arriving=True)
        return dict(order)

    def _new_order(self, cid: str, body: dict[str, Any], qty: float, kind: str) -> dict[str, Any]:
        now = rfc3339(self.now())
        fields = ("limit_price", "stop_price", "trail_price", "trail_percent")
        prices = {k: _num(float(body[k])) if body.get(k) is not None else None for k in fields}
        return {
            "id": str(uuid.uuid4()),
            "client_order_id": cid,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, body["symbol"])),
            "symbol": body["symbol"],
            "asset_class": "us_equity",
            "notional": None,
            "qty": _num(qty),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "",
            "order_type": kind,
            "type": kind,
            "side": body["side"],
            "time_in_force": body.get("time_in_force", "day"),
            **prices,
            "status": "new",
            "extended_hours": bool(body.get("extended_hours", False)),
            "legs": None,
            "hwm": None,
            "position_intent": None,
        }

    def cancel(self, order_id: str) -> None:
        """Cancel a working order (422 when it is no longer cancelable)."""
        order = self._get(order_id)
        if order["status"] not in WORKING:
            raise VenueError(422, 42210000, f"order is not cancelable (status {order['status']})")
        self._close(order, "canceled", "canceled_at")

    def replace(self, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Replace a working order: the old one is ``replaced``, a new one works."""
        old = self._get(order_id)
        if old["status"] not in WORKING:
            raise VenueError(422, 42210000, "order is not replaceable")
        merged = {
            k: old[k]
            for k in (
                "symbol",
                "side",
                "type",
                "time_in_force",
                "limit_price",
                "stop_price",
                "trail_price",
                "trail_percent",
            )
        }
        merged["qty"] = float(old["qty"]) - float(old["filled_qty"])
        if body.get("trail") is not None:
            key = "trail_percent" if old["trail_percent"] is not None else "trail_price"
            merged[key] = body["trail"]
        merged.update({k: v for k, v in body.items() if v is not None and k != "trail"})
        cid = str(body.get("client_order_id") or uuid.uuid4())
        if cid in self.by_client:
            raise VenueError(422, 40010001, "client_order_id must be unique")
        new = self._new_order(cid, merged, float(merged["qty"]), merged["type"])
        new["replaces"] = old["id"]
        old["replaced_by"] = new["id"]
        self._close(old, "replaced", "replaced_at")
        self.orders[new["id"]], self.by_client[cid] = new, new["id"]
        self._emit("new", new)
        self._match(new, arriving=True)
        return dict(new)

    def by_client_id(self, cid: str) -> dict[str, Any]:
        """Return the order with this client order id (404 when unknown)."""
        if cid not in self.by_client:
            raise VenueError(404, 40410000, "order not found")
        return dict(self.orders[self.by_client[cid]])

    def _get(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.orders:
            raise VenueError(404, 40410000, "order not found")
        return self.orders[order_id]

    # -- market -----------------------------------------------------------------------------

    def set_price(self, symbol: str, price: float) -> int:
        """Move the price of ``symbol``; fill what it crosses; return the executions made."""
        self.prices[symbol] = price
        before = len(self.executions)
        for order in [o for o in self.orders.values() if o["symbol"] == symbol]:
            if order["status"] in WORKING:
                self._match(order, arriving=False)
        return len(self.executions) - before

    def _match(self, order: dict[str, Any], *, arriving: bool) -> None:
        price = self.prices.get(order["symbol"])
        fillable = price is not None and self._crosses(order, price)
        if fillable and price is not None:
            self._fill(order, price)
        elif arriving and order["time_in_force"] in ("ioc", "fok"):
            self._close(order, "canceled", "canceled_at")

    def _crosses(self, order: dict[str, Any], price: float) -> bool:
        buy = order["side"] == "buy"
        kind = order["type"]
        if kind == "trailing_stop":
            return self._trailing(order, price, buy)
        if kind in ("stop", "stop_limit") and order["id"] not in self._triggered:
            stop = float(order["stop_price"])
            if not (price >= stop if buy else price <= stop):
                return False
            self._triggered.add(order["id"])
        if kind in ("limit", "stop_limit"):
            limit = float(order["limit_price"])
            return price <= limit if buy else price >= limit
        return True

    def _trailing(self, order: dict[str, Any], price: float, buy: bool) -> bool:
        hwm = self._hwm.get(order["id"], price)
        hwm = min(hwm, price) if buy else max(hwm, price)
        self._hwm[order["id"]] = hwm
        order["hwm"] = _num(hwm)
        if order["trail_percent"] is not None:
            offset = hwm * float(order["trail_percent"]) / 100
        else:
            offset = float(order["trail_price"])
        return price >= hwm + offset if buy else price <= hwm - offset

    def _fill(self, order: dict[str, Any], price: float) -> None:
        left = float(order["qty"]) - float(order["filled_qty"])
        chunks = max(1, min(self.fill_chunks, int(left))) if left.is_integer() else 1
        base = math.floor(left / chunks) if chunks > 1 else left
        sizes = [base] * (chunks - 1) + [left - base * (chunks - 1)]
        for size in sizes:
            self._execute(order, size, price)

    def _execute(self, order: dict[str, Any], qty: float, price: float) -> None:
        filled = float(order["filled_qty"]) + qty
        avg = float(order["filled_avg_price"] or 0.0)
        avg = (avg * (filled - qty) + price * qty) / filled
        done = math.isclose(filled, float(order["qty"]))
        ts = self.now()
        order.update(
            filled_qty=_num(filled),
            filled_avg_price=_num(avg),
            status="filled" if done else "partially_filled",
            updated_at=rfc3339(ts),
        )
        if done:
            order["filled_at"] = rfc3339(ts)
        sign = 1 if order["side"] == "buy" else -1
        symbol = order["symbol"]
        self.positions[symbol] = self.positions.get(symbol, 0.0) + sign * qty
        self.cost[symbol] = self.cost.get(symbol, 0.0) + sign * qty * price
        self.cash -= sign * qty * price
        execution_id = str(uuid.uuid4())
        stamp = datetime.fromtimestamp(ts / 1e9, UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        self.executions.append(
            {
                "id": f"{stamp}::{execution_id}",
                "account_id": self.account_id,
                "activity_type": "FILL",
                "transaction_time": rfc3339(ts),
                "type": "fill" if done else "partial_fill",
                "price": _num(price),
                "qty": _num(qty),
                "side": order["side"],
                "symbol": symbol,
                "leaves_qty": _num(float(order["qty"]) - filled),
                "order_id": order["id"],
                "cum_qty": _num(filled),
                "order_status": order["status"],
                "_ns": ts,
            }
        )
        self._emit(
            "fill" if done else "partial_fill",
            order,
            ts=ts,
            execution_id=execution_id,
            price=_num(price),
            qty=_num(qty),
            position_qty=_num(self.positions[symbol]),
        )

    def _close(self, order: dict[str, Any], status: str, stamp: str) -> None:
        ts = self.now()
        order.update(status=status, updated_at=rfc3339(ts))
        order[stamp] = rfc3339(ts)
        self._emit(status, order, ts=ts)

    def expire_day(self) -> None:
        """End the session: every working day order expires."""
        for order in list(self.orders.values()):
            if order["status"] in WORKING and order["time_in_force"] == "day":
                self._close(order, "expired", "expired_at")

    # -- events -----------------------------------------------------------------------------

    def _emit(
        self, event: str, order: dict[str, Any], *, ts: int | None = None, **extra: Any
    ) -> None:
        ts = self.now() if ts is None else ts
        data = {"event": event, "timestamp": rfc3339(ts), "order": dict(order), **extra}
        data |= {"account_id": self.account_id, "at": rfc3339(ts), "event_id": self.ulid.next(ts)}
        self.log.append(data)
        for listener in list(self.listeners):
            listener(data)

    # -- queries ----------------------------------------------------------------------------

    def positions_json(self) -> list[dict[str, Any]]:
        """Return ``GET /v2/positions``."""
        out = []
        for symbol, qty in sorted(self.positions.items()):
            if qty == 0:
                continue
            price = self.prices.get(symbol, 0.0)
            out.append(
                {
                    "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
                    "symbol": symbol,
                    "exchange": "NASDAQ",
                    "asset_class": "us_equity",
                    "asset_marginable": True,
                    "avg_entry_price": _num(abs(self.cost[symbol] / qty)),
                    "qty": _num(qty),
                    "side": "long" if qty > 0 else "short",
                    "market_value": _num(qty * price),
                    "cost_basis": _num(self.cost[symbol]),
                    "unrealized_pl": "0",
                    "current_price": _num(price),
                    "qty_available": _num(qty),
                }
            )
        return out

    def account_json(self) -> dict[str, Any]:
        """Return ``GET /v2/account``."""
        value = sum(q * self.prices.get(s, 0.0) for s, q in self.positions.items())
        return {
            "id": self.account_id,
            "account_number": "PA0000000",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": _num(self.cash),
            "equity": _num(self.cash + value),
            "buying_power": _num(self.cash * 4),
            "portfolio_value": _num(self.cash + value),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "shorting_enabled": True,
            "multiplier": "4",
        }
