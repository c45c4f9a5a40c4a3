"""The IB adapter (real ib-async) against the fake TWS on 127.0.0.1: orders and every fault knob.

Each fault ends the same way: every execution the fake made is reported exactly once (fill ids
equal the fake's exec ids, none twice), with its commission, and positions equal the fake's.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter

import pytest

from houseedge.adapters.ib import IbBroker
from houseedge.core.broker import TrailingStop
from houseedge.core.types import (
    Order,
    OrderAccepted,
    OrderRejected,
    OrderType,
    Side,
)
from houseedge.errors import BrokerUnavailable
from tests.fakes.ib import FakeTws
from tests.fakes.ib.harness import Collector, fast_config, tws_and_broker, until

pytestmark = pytest.mark.timeout(60)


def _order(cid: str, side: str = "buy", qty: float = 10, **kw: object) -> Order:
    return Order(
        client_order_id=cid, symbol=kw.pop("symbol", "AAPL"), side=Side(side), qty=qty, **kw
    )  # type: ignore[arg-type]


async def _exact(
    tws: FakeTws, broker: IbBroker, collector: Collector, names: dict[str, str] | None = None
) -> None:
    """Every fake execution reported once with its fee; positions equal the fake's."""

    def venue_ids() -> set[str]:
        return {e.exec_id for e in tws.venue.executions}

    await until(lambda: venue_ids() and {f.fill_id for f in collector.fills} == venue_ids())
    await asyncio.sleep(0.1)  # anything late would be a duplicate
    counts = Counter(f.fill_id for f in collector.fills)
    assert max(counts.values(), default=1) == 1, [k for k, v in counts.items() if v > 1]
    fees = {e.exec_id: e.commission for e in tws.venue.executions}
    assert all(f.fee == fees[f.fill_id] for f in collector.fills)
    ours = {s: p.qty for s, p in (await broker.positions()).items()}
    names = names or {}
    fake = {names.get(sym, sym): q for c, q in tws.venue.positions.items()
            if q and (sym := tws.venue.contracts[c].symbol)}  # fmt: skip
    assert ours == fake
    booked: dict[str, float] = {}
    for f in collector.fills:
        booked[f.symbol] = booked.get(f.symbol, 0.0) + f.side.sign * f.qty
    assert {s: q for s, q in booked.items() if q} == fake


async def test_order_types_fill_by_the_price_path() -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        await broker.submit(_order("mkt"))
        await broker.submit(_order("lmt", "sell", 4, type=OrderType.LIMIT, limit_price=103.0))
        await broker.submit(_order("stp", "buy", 3, type=OrderType.STOP, stop_price=104.0))
        await broker.submit(
            _order("stl", "sell", 2, type=OrderType.STOP_LIMIT, stop_price=98.0, limit_price=97.0)
        )
        await broker.submit(
            _order("trl", "sell", 5, type=OrderType.STOP, stop_price=95.0),
            trail=TrailingStop(amount=2.0),
        )
        await until(lambda: len(collector.fills) == 1)
        for price in (103.0, 104.5, 106.0, 103.9, 97.5):
            tws.set_price("AAPL", price)
            await asyncio.sleep(0.05)
        await _exact(tws, broker, collector)
        by_order = {f.order_id: f.price for f in collector.fills}
        # limit at 103, stop triggered at 104.5, trailing stop (106 - 2) hit at 103.9,
        # stop-limit triggered at 97.5 (under 98) and within its limit 97.
        assert by_order == {"mkt": 100.0, "lmt": 103.0, "stp": 104.5, "trl": 103.9, "stl": 97.5}
        accepted = {e.order_id for e in collector.events if isinstance(e, OrderAccepted)}
        assert accepted == set(by_order)


async def test_contracts_for_futures_fx_and_crypto_are_qualified() -> None:
    from houseedge.adapters.ib import ContractSpec

    table = {
        "ESH6": ContractSpec(sec_type="FUT", symbol="ES", exchange="CME", expiry="202603"),
        "BTC": ContractSpec(sec_type="CRYPTO", symbol="BTC", exchange="PAXOS"),
    }
    async with tws_and_broker(contracts=table) as (tws, broker, collector):
        for symbol, price in (("ES", 5000.0), ("EUR", 1.1), ("BTC", 60000.0)):
            tws.set_price(symbol, price)
        await broker.submit(_order("f1", qty=2, symbol="ESH6"))
        await broker.submit(_order("x1", qty=20000, symbol="EUR.USD"))
        await broker.submit(_order("c1", qty=1, symbol="BTC"))
        await broker.submit(_order("bad", qty=1, symbol="NOPE"))
        await until(lambda: len(collector.fills) == 3)
        assert {f.symbol for f in collector.fills} == {"ESH6", "EUR.USD", "BTC"}
        rejected = await until(lambda: [e for e in collector.events
                                        if isinstance(e, OrderRejected)])  # fmt: skip
        assert [r.order_id for r in rejected] == ["bad"]
        await _exact(tws, broker, collector, {"ES": "ESH6", "EUR": "EUR.USD"})
        cash = 1_000_000.0 - 2 * 5000.0 * 50 - 20000 * 1.1 - 60000.0 - tws.venue.commissions()
        assert math.isclose((await broker.account()).cash, cash)


async def test_cancel_modify_replace_and_reject() -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        await broker.submit(_order("c", type=OrderType.LIMIT, limit_price=90.0))
        await broker.submit(_order("m", type=OrderType.LIMIT, limit_price=80.0))
        await broker.submit(_order("r", type=OrderType.LIMIT, limit_price=85.0))
        await until(lambda: len({e.order_id for e in collector.events
                                 if isinstance(e, OrderAccepted)}) == 3)  # fmt: skip
        await broker.cancel("c")
        await broker.modify("m", limit_price=101.0)  # now marketable: fills at 100
        await broker.replace("r", _order("r2", type=OrderType.LIMIT, limit_price=100.5))
        await until(lambda: {f.order_id for f in collector.fills} == {"m", "r2"})
        tws.faults.reject_next = 1
        await broker.submit(_order("x"))
        await until(lambda: any(isinstance(e, OrderRejected) for e in collector.events))
        kinds = {(type(e).__name__, e.order_id) for e in collector.events}
        assert {("OrderCancelled", "c"), ("OrderCancelled", "r"), ("OrderRejected", "x")} <= kinds
        assert tws.venue.by_key[(1, tws.venue.orders[1000002].order_id)].order_ref == "he:m"
        await _exact(tws, broker, collector)


async def test_drop_mid_fill_reconnects_and_reconciles_the_fill() -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        tws.faults.drop_mid_fill = 1
        await broker.submit(_order("a"))
        await until(lambda: broker.reconnects == 1)
        await _exact(tws, broker, collector)
        assert len(collector.fills) == 1 and collector.fills[0].fee == 1.0


async def test_fills_during_the_outage_reach_the_stream_once() -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        await broker.submit(_order("lim", qty=7, type=OrderType.LIMIT, limit_price=95.0))
        await until(lambda: any(isinstance(e, OrderAccepted) for e in collector.events))
        await tws.stop_listening()
        tws.drop_connections()
        await until(lambda: not broker.connected)
        await broker.submit(_order("queued", "sell", 3))  # unsent: the socket is down
        tws.set_price("AAPL", 94.0)  # fills while nobody listens
        await asyncio.sleep(0.3)  # a few refused reconnects
        await tws.listen()
        await until(lambda: broker.reconnects == 1)
        await _exact(tws, broker, collector)
        assert {f.order_id for f in collector.fills} == {"lim", "queued"}
        assert tws.venue.placed == 2


async def test_unknown_submit_is_resolved_by_order_ref_not_resent() -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        tws.faults.drop_on_place = 1  # TWS takes (and fills) it, the socket dies before a reply
        await broker.submit(_order("u"))
        await until(lambda: broker.reconnects == 1)
        await broker.submit(_order("u"))  # the engine retrying: still one order at the venue
        await _exact(tws, broker, collector)
        assert tws.venue.placed == 1
        assert [f.order_id for f in collector.fills] == ["u"]


@pytest.mark.parametrize("data_lost", [False, True])
async def test_connectivity_1100_then_1101_or_1102(data_lost: bool) -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        await broker.submit(_order("a", type=OrderType.LIMIT, limit_price=99.0))
        await until(lambda: any(isinstance(e, OrderAccepted) for e in collector.events))
        tws.lose_connectivity()
        await until(lambda: not broker.link_up)
        tws.set_price("AAPL", 98.0)  # the fill is held back (1102) or lost (1101)
        await asyncio.sleep(0.1)
        assert collector.fills == []
        tws.restore_connectivity(data_lost=data_lost)
        await _exact(tws, broker, collector)
        assert broker.link_up and broker.reconnects == 0 and broker.reconciliations >= 2


async def test_duplicate_exec_details_are_reported_once() -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        tws.faults.duplicate_exec = True
        tws.venue.fill_slices = 3
        await broker.submit(_order("d", qty=9))
        await until(lambda: len(collector.fills) == 3)
        await broker.reconcile("test")  # and again through reqExecutions
        await _exact(tws, broker, collector)


async def test_malformed_frames_lose_nothing() -> None:
    async with tws_and_broker() as (tws, broker, collector):
        tws.set_price("AAPL", 100.0)
        tws.faults.malformed = 1  # a garbage frame and a truncated execDetails
        await broker.submit(_order("m"))
        await _exact(tws, broker, collector)  # found by the filled-ahead check's reconciliation
        assert broker.connected and broker.reconnects == 0


async def test_client_id_in_use_moves_to_a_spare_id() -> None:
    tws = FakeTws()
    await tws.listen()
    tws.faults.client_ids_in_use = {1}
    broker = IbBroker(fast_config(tws, spare_client_ids=(2,)))
    try:
        await broker.connect()
        assert broker.client_id == 2 and tws.connected_clients == [2]
    finally:
        await broker.close()
    lone = IbBroker(fast_config(tws, connect_attempts=2))
    with pytest.raises(BrokerUnavailable, match="client id 1 is in use"):
        await lone.connect()
    await lone.close()
    await tws.close()


async def test_account_id_is_never_logged_in_full(caplog: pytest.LogCaptureFixture) -> None:
    import structlog

    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as captured:
        async with tws_and_broker() as (tws, broker, collector):
            tws.set_price("AAPL", 100.0)
            tws.faults.drop_mid_fill = 1
            await broker.submit(_order("a"))
            await _exact(tws, broker, collector)
            tws.lose_connectivity()
            tws.restore_connectivity(data_lost=True)
            await broker.account()
    text = caplog.text + repr(captured)
    assert "DU*****67" in text  # it is logged, masked
    assert tws.venue.account not in text
