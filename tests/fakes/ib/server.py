"""A fake TWS/Gateway on 127.0.0.1 that the real ib-async connects to.

It speaks the TWS API at server version 178 (../shared/reference/brokers.md §3): the ``API\\0``
greeting, length-prefixed NUL-separated messages, the start-up answers ``connectAsync`` waits
for, contract details, orders against :class:`~tests.fakes.ib.venue.Venue`, executions with
commission reports, open and completed orders, historical bars and error messages.

Fault knobs (:class:`Faults`, set on ``tws.faults`` at any time) and methods:

``drop_mid_fill``
    The next N fills drop the socket after execDetails, before the commission report.
``drop_on_place``
    The next N orders are accepted (and matched) but the socket drops before any reply.
``duplicate_exec``
    Every fill's execDetails and commissionReport are sent twice.
``malformed``
    The next N fills send a garbage frame and a truncated execDetails instead of the real one.
``client_ids_in_use``
    startApi with one of these ids gets error 326 and the socket closes.
``reject_next``
    The next N orders are rejected with error 201.
:meth:`FakeTws.lose_connectivity` / :meth:`FakeTws.restore_connectivity`
    Error 1100, then 1102 (queued messages delivered) or 1101 (queued messages lost).
:meth:`FakeTws.drop_connections`, :meth:`FakeTws.stop_listening`, :meth:`FakeTws.listen`
    Kill every API socket; refuse new ones (fills still happen: ``set_price``) until listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.fakes.ib import wire
from tests.fakes.ib.history import answer_history
from tests.fakes.ib.venue import Event, Venue
from tests.fakes.ib.wire import FakeOrder


@dataclass
class Faults:
    """Fault knobs of the fake TWS (see the module doc)."""

    drop_mid_fill: int = 0
    drop_on_place: int = 0
    duplicate_exec: bool = False
    malformed: int = 0
    reject_next: int = 0
    client_ids_in_use: set[int] = field(default_factory=set[int])


class _Session:
    """One API connection."""

    def __init__(self, tws: FakeTws, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.tws, self.reader, self.writer = tws, reader, writer
        self.client_id: int | None = None
        self.ready = False

    def send(self, fields: list[object]) -> None:
        if not self.writer.is_closing():
            self.writer.write(wire.frame(fields))

    def close(self) -> None:
        self.ready = False
        self.writer.close()

    async def run(self) -> None:
        try:
            greeting = await self.reader.readexactly(4)
            if greeting != b"API\0":
                return
            await self._read_frame()  # "v157..178": we answer 178 whatever the range
            now = datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")
            self.send([wire.SERVER_VERSION, now])
            while True:
                fields = wire.split(await self._read_frame())
                if fields:
                    self.tws.dispatch(self, fields)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.close()
            self.tws.sessions.discard(self)

    async def _read_frame(self) -> bytes:
        (size,) = struct.unpack(">I", await self.reader.readexactly(4))
        return await self.reader.readexactly(size)


class FakeTws:
    """The fake TWS: ``await tws.listen()`` then connect ib-async to ``tws.port``."""

    def __init__(self, venue: Venue | None = None) -> None:
        self.venue = venue or Venue()
        self.faults = Faults()
        self.sessions: set[_Session] = set()
        self.port = 0
        self.link_up = True
        self.queued: list[tuple[int, list[object]]] = []
        self.bars: dict[str, list[tuple[int, float, float, float, float, float]]] = {}
        self.requests: list[list[str]] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    async def listen(self) -> None:
        """Listen on 127.0.0.1 (the same port as before, after a stop)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        """Refuse new connections (existing ones stay)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        self.drop_connections()
        await self.stop_listening()
        if self._tasks:  # closed sockets end their sessions at the next read
            await asyncio.wait(list(self._tasks), timeout=2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    def drop_connections(self) -> None:
        """Close every API socket now."""
        for session in list(self.sessions):
            session.close()

    @property
    def connected_clients(self) -> list[int]:
        """Return the client ids of the ready sessions."""
        return [s.client_id for s in self.sessions if s.ready and s.client_id is not None]

    # -- market and connectivity ------------------------------------------------------------

    def set_price(self, symbol: str, price: float) -> None:
        """Move a price; fills go to their clients (or nowhere, when they are away)."""
        self.deliver(self.venue.set_price(symbol, price))

    def lose_connectivity(self) -> None:
        """TWS loses IB (1100): the socket stays, order messages are held back."""
        self.link_up = False
        self._broadcast(wire.error(-1, 1100, "Connectivity between IB and TWS has been lost."))

    def restore_connectivity(self, *, data_lost: bool) -> None:
        """IB is back: 1101 (held messages lost) or 1102 (held messages delivered)."""
        self.link_up = True
        code, what = (1101, "data lost") if data_lost else (1102, "data maintained")
        self._broadcast(wire.error(-1, code, f"Connectivity between IB and TWS restored - {what}."))
        queued, self.queued = self.queued, []
        if not data_lost:
            for client_id, fields in queued:
                self._to_client(client_id, fields)

    def farm(self, code: int, message: str = "Market data farm connection") -> None:
        """Send a farm status message (2103 broken, 2104 OK, 2105 HMDS broken, ...)."""
        self._broadcast(wire.error(-1, code, f"{message}:usfarm"))

    def _broadcast(self, fields: list[object]) -> None:
        for session in list(self.sessions):
            if session.ready:
                session.send(fields)

    def _to_client(self, client_id: int, fields: list[object]) -> None:
        if not self.link_up:
            self.queued.append((client_id, fields))
            return
        for session in list(self.sessions):
            if session.ready and session.client_id == client_id:
                session.send(fields)

    # -- venue events to messages -----------------------------------------------------------

    def deliver(self, events: list[Event]) -> None:
        """Send the messages of venue events to the clients that own the orders."""
        for event in events:
            order = event.order
            if event.kind in ("placed", "modified"):
                self._to_client(order.client_id, wire.open_order(order))
                self._to_client(order.client_id, wire.order_status(order))
            elif event.kind == "cancelled":
                self._to_client(order.client_id, wire.order_status(order))
            elif event.execution is not None:
                self._fill(order, event.execution)

    def _fill(self, order: FakeOrder, execution: wire.FakeExecution) -> None:
        faults, cid, account = self.faults, order.client_id, self.venue.account
        details = wire.exec_details(execution, -1, account)
        if faults.malformed > 0:
            faults.malformed -= 1
            self._to_client(cid, ["not-a-number", "garbage"])
            self._to_client(cid, details[:12])
        else:
            self._to_client(cid, details)
        if faults.drop_mid_fill > 0:
            faults.drop_mid_fill -= 1
            for session in list(self.sessions):
                if session.client_id == cid:
                    session.close()
            return
        self._to_client(cid, wire.order_status(order))
        self._to_client(cid, wire.open_order(order))
        self._to_client(cid, wire.commission_report(execution))
        if faults.duplicate_exec:
            self._to_client(cid, details)
            self._to_client(cid, wire.commission_report(execution))

    # -- requests ---------------------------------------------------------------------------

    def dispatch(self, session: _Session, fields: list[str]) -> None:
        """Answer one client message."""
        self.requests.append(fields)
        msg_id = int(fields[0])
        if msg_id == 71:
            self._start_api(session, int(fields[2]))
            return
        handler = _HANDLERS.get(msg_id)
        if handler is not None and session.ready:
            handler(self, session, fields)

    def _start_api(self, session: _Session, client_id: int) -> None:
        taken = self.faults.client_ids_in_use | set(self.connected_clients)
        if client_id in taken:
            msg = "Unable to connect as the client id is already in use. Retry with a unique id."
            session.send(wire.error(-1, 326, msg))
            session.close()
            return
        session.client_id, session.ready = client_id, True
        session.send([9, 1, self._next_id(client_id)])
        session.send([15, 1, self.venue.account])
        session.send(wire.error(-1, 2104, "Market data farm connection is OK:usfarm"))

    def _next_id(self, client_id: int) -> int:
        used = [oid for (cid, oid) in self.venue.by_key if cid == client_id]
        return max(used, default=0) + 1

    def _place(self, session: _Session, f: list[str]) -> None:
        order = _parse_order(self, session, f)
        if order is None:
            session.send(wire.error(int(f[1]), 200, "No security definition has been found"))
            return
        if self.faults.reject_next > 0:
            self.faults.reject_next -= 1
            session.send(wire.error(order.order_id, 201, "Order rejected - reason:fake reject"))
            return
        events, err = self.venue.place(order)
        if err is not None:
            session.send(wire.error(order.order_id, *err))
            return
        if self.faults.drop_on_place > 0:
            self.faults.drop_on_place -= 1
            session.close()
            return
        self.deliver(events)

    def _cancel(self, session: _Session, f: list[str]) -> None:
        assert session.client_id is not None
        events, err = self.venue.cancel(session.client_id, int(f[2]))
        if err is not None:
            session.send(wire.error(int(f[2]), *err))
        self.deliver(events)
        for event in events:  # a real TWS also says 202 on a cancel it carried out
            self._to_client(
                event.order.client_id,
                wire.error(event.order.order_id, 202, "Order Canceled - reason:"),
            )

    def _executions(self, session: _Session, f: list[str]) -> None:
        req_id, client_id, time_filter = int(f[2]), int(f[3] or 0), f[5]
        since = _parse_filter_time(time_filter)
        for e in self.venue.executions:
            if client_id and e.order.client_id != client_id:
                continue
            if since is not None and e.ts_ns < since:
                continue
            session.send(wire.exec_details(e, req_id, self.venue.account))
            session.send(wire.commission_report(e))
        session.send([55, 1, req_id])

    def _open_orders(self, session: _Session, f: list[str]) -> None:
        only = session.client_id if int(f[0]) == 5 else None
        for order in self.venue.working(only):
            session.send(wire.open_order(order))
            session.send(wire.order_status(order))
        session.send([53, 1])

    def _completed(self, session: _Session, f: list[str]) -> None:
        for order in self.venue.completed():
            session.send(wire.completed_order(order))
        session.send([102])

    def _positions(self, session: _Session, f: list[str]) -> None:
        venue = self.venue
        for con_id, qty in venue.positions.items():
            avg = venue.costs[con_id] / qty if qty else 0.0
            session.send(wire.position(venue.account, venue.contracts[con_id], qty, avg))
        session.send([62, 1])

    def _account_values(self) -> list[tuple[str, str]]:
        venue = self.venue
        value = sum(q * venue.prices.get(c, 0.0) * float(venue.contracts[c].multiplier or 1)
                    for c, q in venue.positions.items())  # fmt: skip
        net = venue.cash + value
        return [("TotalCashValue", repr(venue.cash)), ("NetLiquidation", repr(net)),
                ("BuyingPower", repr(4 * net))]  # fmt: skip

    def _account(self, session: _Session, f: list[str]) -> None:
        account = self.venue.account
        for key, value in self._account_values():
            session.send([6, 2, key, value, "USD", account])
        session.send([8, 1, datetime.now(UTC).strftime("%H:%M")])
        session.send([54, 1, account])

    def _account_multi(self, session: _Session, f: list[str]) -> None:
        req_id, account = int(f[2]), self.venue.account
        for key, value in self._account_values():
            session.send([73, 1, req_id, account, "", key, value, "USD"])
        session.send([74, 1, req_id])

    def _contract_details(self, session: _Session, f: list[str]) -> None:
        req_id = int(f[2])
        found = self.venue.find(int(f[3] or 0), f[4], f[5], f[12])
        if not found:
            session.send(wire.error(req_id, 200, "No security definition has been found"))
            return
        for contract in found:
            session.send(wire.contract_details(req_id, contract))
        session.send([52, 1, req_id])

    def _history(self, session: _Session, f: list[str]) -> None:
        answer_history(self, session.send, f)


def _parse_order(tws: FakeTws, session: _Session, f: list[str]) -> FakeOrder | None:
    assert session.client_id is not None
    found = tws.venue.find(int(f[2] or 0), f[3], f[4], f[11])
    if len(found) != 1:
        return None

    def number(i: int) -> float | None:
        return float(f[i]) if i < len(f) and f[i] else None

    return FakeOrder(
        order_id=int(f[1]), client_id=session.client_id, perm_id=0, contract=found[0],
        action=f[16], qty=float(f[17]), order_type=f[18], lmt_price=number(19),
        aux_price=number(20), tif=f[21], order_ref=f[26], trail_stop=number(68),
        trailing_percent=number(69),
    )  # fmt: skip


def _parse_filter_time(text: str) -> int | None:
    if not text:
        return None
    with contextlib.suppress(ValueError):
        stamp = datetime.strptime(text[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=UTC)
        return int(stamp.timestamp()) * 1_000_000_000
    return None


_HANDLERS = {
    3: FakeTws._place,
    4: FakeTws._cancel,
    5: FakeTws._open_orders,
    16: FakeTws._open_orders,
    99: FakeTws._completed,
    61: FakeTws._positions,
    6: FakeTws._account,
    76: FakeTws._account_multi,
    7: FakeTws._executions,
    9: FakeTws._contract_details,
    20: FakeTws._history,
    8: lambda tws, s, f: s.send([9, 1, tws._next_id(s.client_id or 0)]),
    49: lambda tws, s, f: s.send([49, 1, int(datetime.now(UTC).timestamp())]),
}
