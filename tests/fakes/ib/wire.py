"""TWS API wire format at server version 178: framing and the encoders of what a TWS sends.

Field orders follow ``ib_async/decoder.py`` (2.1.0) exactly; ../shared/reference/brokers.md §3.5
is the verified spec. A message is a big-endian ``uint32`` length and NUL-terminated fields.
Empty strings stand for "unset" numbers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

SERVER_VERSION = 178
UNSET_DOUBLE = 1.7976931348623157e308


def frame(fields: Iterable[object]) -> bytes:
    """Return one framed message: each field followed by NUL, prefixed by the length."""
    payload = "".join(f"{_text(f)}\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def split(payload: bytes) -> list[str]:
    """Return the fields of one message payload (the trailing empty element dropped)."""
    fields = payload.decode(errors="backslashreplace").split("\0")
    return fields[:-1] if fields and fields[-1] == "" else fields


def ib_time(ns: int) -> str:
    """Return the ``YYYYMMDD HH:MM:SS UTC`` form of an epoch time in nanoseconds."""
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y%m%d %H:%M:%S UTC")


@dataclass
class FakeContract:
    """A contract the fake TWS knows (what contract details answer with)."""

    con_id: int
    symbol: str
    sec_type: str = "STK"
    exchange: str = "SMART"
    currency: str = "USD"
    local_symbol: str = ""
    multiplier: str = ""
    last_trade_date: str = ""
    trading_class: str = ""
    primary_exchange: str = ""
    min_tick: float = 0.01

    def fields(self) -> list[object]:
        """Return the 11 fields every order and execution message starts its contract with."""
        return [self.con_id, self.symbol, self.sec_type, self.last_trade_date, 0.0, "",
                self.multiplier, self.exchange, self.currency, self.local_symbol or self.symbol,
                self.trading_class or self.symbol]  # fmt: skip


@dataclass
class FakeOrder:
    """An order at the fake venue."""

    order_id: int
    client_id: int
    perm_id: int
    contract: FakeContract
    action: str
    qty: float
    order_type: str
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = "DAY"
    order_ref: str = ""
    account: str = ""
    trail_stop: float | None = None
    trailing_percent: float | None = None
    status: str = "Submitted"
    filled: float = 0.0
    notional: float = 0.0
    last_fill_price: float = 0.0
    triggered: bool = False
    created_ns: int = 0
    done_ns: int = 0

    @property
    def remaining(self) -> float:
        """Return the quantity not yet filled."""
        return self.qty - self.filled

    @property
    def avg_price(self) -> float:
        """Return the average fill price (0 before any fill)."""
        return self.notional / self.filled if self.filled else 0.0


@dataclass
class FakeExecution:
    """One execution at the fake venue, with its commission."""

    exec_id: str
    order: FakeOrder
    side: str  # BOT / SLD
    shares: float
    price: float
    ts_ns: int
    cum_qty: float
    avg_price: float
    commission: float
    extra: dict[str, object] = field(default_factory=dict[str, object])


def order_status(o: FakeOrder) -> list[object]:
    """Return an ``orderStatus`` message (no version field at server version 178)."""
    return [3, o.order_id, o.status, o.filled, o.remaining, o.avg_price, o.perm_id, 0,
            o.last_fill_price, o.client_id, "", ""]  # fmt: skip


def _price(value: float | None) -> object:
    return "" if value is None else value


def open_order(o: FakeOrder) -> list[object]:
    """Return an ``openOrder`` message (about 140 fields; conditional blocks left empty)."""
    c = o.contract
    head = [5, o.order_id, *c.fields(), o.action, o.qty, o.order_type, _price(o.lmt_price),
            _price(o.aux_price), o.tif, "", o.account, "O", 0, o.order_ref, o.client_id,
            o.perm_id, 0, 0, 0, "", "", "", "", ""]  # fmt: skip
    # modelCode .. deltaNeutralAuxPrice: 29 fields, deltaNeutralOrderType empty.
    middle = ["", "", "", "", "", 0, "", "", 0, "", "", "", "", "", "", 0, 0, 0, "", 0, 0, 0,
              "", 0, 0, "", 0, "", ""]  # fmt: skip
    trail = _price(o.trail_stop)
    tail = [0, 0, trail, _price(o.trailing_percent), "", "", "",  # continuousUpdate .. legs descr
            0, 0, 0, "", "", "", "",  # combo legs, order legs, smart params, scale, hedgeType
            0, "", "", 0, 0, "",  # optOutSmartRouting .. dncPresent, algoStrategy
            0, "0", o.status, *([""] * 9), "", "", "", "", "", 0, 0,  # solicited .. randomize
            0,  # numConditions
            "", "", trail, "", "", "", "", 0, "", "", "", "", 0, 0, "", 0,  # adjusted .. priceMgmt
            "", 0, 0,  # duration, postToAts, autoCancelParent
            "", "", "", "", ""]  # fmt: skip
    return head + middle + tail


def completed_order(o: FakeOrder) -> list[object]:
    """Return a ``completedOrder`` message (no order id: ib-async keys it by permId)."""
    c = o.contract
    head = [101, *c.fields(), o.action, o.qty, o.order_type, _price(o.lmt_price),
            _price(o.aux_price), o.tif, "", o.account, "O", 0, o.order_ref, o.perm_id,
            0, 0, 0, "", "", "", ""]  # fmt: skip
    middle = ["", "", "", "", "", 0, "", "", "", "", "", "", "", "", 0, 0, "", 0, 0, "", 0,
              "", ""]  # fmt: skip
    trail = _price(o.trail_stop)
    tail = [0, 0, trail, _price(o.trailing_percent), "",  # continuousUpdate .. legs descr
            0, 0, 0, "", "", "", "",  # legs, order legs, params, scale, hedgeType
            "", "", 0, 0, "",  # clearing .. dncPresent, algoStrategy
            0, o.status, 0, 0,  # solicited, status, randomize
            0,  # numConditions
            trail, "", "", 0, 0, "", o.filled, "", 0, "", 0, 0, "",
            ib_time(o.done_ns or o.created_ns), o.status,
            "", "", "", "", ""]  # fmt: skip
    return head + middle + tail


def exec_details(e: FakeExecution, req_id: int, account: str) -> list[object]:
    """Return an ``execDetails`` message; ``req_id`` is -1 for a live fill."""
    o = e.order
    return [11, req_id, o.order_id, *o.contract.fields(), e.exec_id, ib_time(e.ts_ns), account,
            o.contract.exchange, e.side, e.shares, e.price, o.perm_id, o.client_id, 0,
            e.cum_qty, e.avg_price, o.order_ref, "", "", "", 1, 0]  # fmt: skip


def commission_report(e: FakeExecution) -> list[object]:
    """Return a ``commissionReport`` (realized PnL and yield unset)."""
    return [59, 1, e.exec_id, e.commission, e.order.contract.currency, UNSET_DOUBLE,
            UNSET_DOUBLE, ""]  # fmt: skip


def contract_details(req_id: int, c: FakeContract) -> list[object]:
    """Return a ``contractDetails`` message at server version 178."""
    return [10, req_id, c.symbol, c.sec_type, c.last_trade_date, 0.0, "", c.exchange,
            c.currency, c.local_symbol or c.symbol, c.symbol, c.trading_class or c.symbol,
            c.con_id, c.min_tick, c.multiplier, "LMT,MKT,STP,STP LMT,TRAIL", c.exchange, 1, 0,
            f"{c.symbol} fake", c.primary_exchange, c.last_trade_date[:6], "", "", "", "UTC",
            "", "", "", "", 0, 1, "", "", "26", "", "COMMON", "1", "1", "1"]  # fmt: skip


def position(account: str, c: FakeContract, qty: float, avg_cost: float) -> list[object]:
    """Return a ``position`` message."""
    return [61, 3, account, *c.fields(), qty, avg_cost]


def error(req_id: int, code: int, message: str) -> list[object]:
    """Return an ``error`` message (advancedOrderRejectJson empty)."""
    return [4, 2, req_id, code, message, ""]
