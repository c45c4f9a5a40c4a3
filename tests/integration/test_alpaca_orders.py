"""The Alpaca adapter's order paths: real alpaca-py against the loopback fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from houseedge.adapters.alpaca import AlpacaBroker
from houseedge.core.broker import TrailingStop
from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderType,
    Side,
    TimeInForce,
)
from houseedge.errors import OrderRejected as Refused
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.alpaca.harness import Collector, config_for, eventually


@pytest.fixture
async def fake() -> AsyncIterator[FakeAlpaca]:
    async with FakeAlpaca() as server:
        server.venue.set_price("AAPL", 100.0)
        yield server


@pytest.fixture
async def broker(fake: FakeAlpaca) -> AsyncIterator[tuple[AlpacaBroker, Collector]]:
    adapter = AlpacaBroker(config_for(fake, staleness_seconds=30))
    await adapter.connect()
    collector = Collector(adapter)
    yield adapter, collector
    await adapter.close()
    await collector.stop()


def _order(cid: str, side: Side = Side.BUY, qty: float = 10, **kw: object) -> Order:
    return Order(client_order_id=cid, symbol="AAPL", side=side, qty=qty, **kw)  # type: ignore[arg-type]


def _of(reports: list[object], kind: type, cid: str) -> list[object]:
    return [r for r in reports if isinstance(r, kind) and r.order_id == cid]  # type: ignore[attr-defined]


async def test_market_order_fills_with_the_execution_id(fake, broker) -> None:
    adapter, got = broker
    await adapter.submit(_order("m1"))
    fills = await eventually(lambda: _of(got.reports, Fill, "m1"))
    (execution,) = fake.venue.executions
    assert fills[0].fill_id == execution["id"].rpartition("::")[2]
    assert (fills[0].qty, fills[0].price, fills[0].side) == (10, 100.0, Side.BUY)
    assert _of(got.reports, OrderAccepted, "m1")[0].venue_order_id == fake.venue.by_client["m1"]
    assert (await adapter.positions())["AAPL"].qty == 10
    assert (await adapter.account()).cash == pytest.approx(100_000 - 1_000)


@pytest.mark.parametrize(
    ("kind", "prices", "path", "filled_at"),
    [
        (OrderType.LIMIT, {"limit_price": 99.0}, [99.5, 98.5], 98.5),
        (OrderType.STOP, {"stop_price": 101.0}, [100.5, 101.5], 101.5),
        (OrderType.STOP_LIMIT, {"stop_price": 101.0, "limit_price": 101.2}, [101.5, 101.1], 101.1),
    ],
)
async def test_priced_orders_work_until_the_path_crosses(
    fake, broker, kind, prices, path, filled_at
) -> None:
    adapter, got = broker
    await adapter.submit(_order("p1", type=kind, tif=TimeInForce.GTC, **prices))
    await eventually(lambda: _of(got.reports, OrderAccepted, "p1"))
    fake.venue.set_price("AAPL", path[0])
    assert not _of(got.reports, Fill, "p1")
    fake.venue.set_price("AAPL", path[1])
    fills = await eventually(lambda: _of(got.reports, Fill, "p1"))
    assert fills[0].price == filled_at
    assert fake.venue.orders[fake.venue.by_client["p1"]]["type"] == str(kind)


async def test_trailing_stop_follows_the_high_water_mark(fake, broker) -> None:
    adapter, got = broker
    await adapter.submit(_order("t1", side=Side.SELL, qty=5), trail=TrailingStop(amount=2.0))
    venue_order = fake.venue.orders[fake.venue.by_client["t1"]]
    assert (venue_order["type"], venue_order["trail_price"]) == ("trailing_stop", "2")
    for price in (100.0, 104.0, 102.5):  # the stop trails to 102; 102.5 is above it
        fake.venue.set_price("AAPL", price)
    assert not _of(got.reports, Fill, "t1")
    fake.venue.set_price("AAPL", 101.9)
    fills = await eventually(lambda: _of(got.reports, Fill, "t1"))
    assert (fills[0].price, fills[0].side) == (101.9, Side.SELL)


async def test_time_in_force(fake, broker) -> None:
    adapter, got = broker
    far = {"type": OrderType.LIMIT, "limit_price": 50.0}
    await adapter.submit(_order("ioc", tif=TimeInForce.IOC, **far))
    await adapter.submit(_order("fok", tif=TimeInForce.FOK, **far))
    await adapter.submit(_order("day", tif=TimeInForce.DAY, **far))
    await adapter.submit(_order("gtc", tif=TimeInForce.GTC, **far))
    await eventually(lambda: _of(got.reports, OrderCancelled, "fok"))
    assert _of(got.reports, OrderCancelled, "ioc")
    fake.venue.expire_day()
    await eventually(lambda: _of(got.reports, OrderExpired, "day"))
    assert not _of(got.reports, OrderExpired, "gtc")
    assert [s.client_order_id for s in await adapter.open_orders()] == ["gtc"]
    with pytest.raises(Refused, match="gtd"):
        await adapter.submit(_order("gtd", tif=TimeInForce.GTD, expire_ts=1))
    await eventually(lambda: _of(got.reports, OrderRejected, "gtd"))


async def test_cancel_and_replace(fake, broker) -> None:
    adapter, got = broker
    await adapter.submit(_order("r1", type=OrderType.LIMIT, limit_price=90.0, tif=TimeInForce.GTC))
    new = _order("r2", qty=7, type=OrderType.LIMIT, limit_price=95.0, tif=TimeInForce.GTC)
    await adapter.replace("r1", new)
    await eventually(lambda: _of(got.reports, OrderCancelled, "r1"))
    replacement = fake.venue.orders[fake.venue.by_client["r2"]]
    assert (replacement["qty"], replacement["limit_price"]) == ("7", "95")
    assert replacement["replaces"] == fake.venue.by_client["r1"]
    await adapter.cancel("r2")
    await eventually(lambda: _of(got.reports, OrderCancelled, "r2"))
    await adapter.cancel("r2")  # no longer cancelable: refused, reported
    await eventually(lambda: _of(got.reports, CancelRejected, "r2"))


async def test_duplicate_client_order_id_is_looked_up_not_resubmitted(fake, broker) -> None:
    adapter, got = broker
    await adapter.submit(_order("d1"))
    await adapter.submit(_order("d1"))  # the venue answers 422 40010001
    assert fake.stats.posts == 2
    assert len(fake.venue.orders) == 1
    assert adapter.stats.duplicate_submits == 1
    assert [e[1]["reason"] for e in adapter.emitted if e[0] == "anomaly"] == [
        "duplicate_submit_resolved"
    ]
    await eventually(lambda: _of(got.reports, Fill, "d1"))
    assert len(_of(got.reports, Fill, "d1")) == 1


async def test_refused_order_is_reported_and_raised(fake, broker) -> None:
    adapter, got = broker
    with pytest.raises(Refused, match="insufficient buying power"):
        await adapter.submit(_order("big", qty=1_000_000))
    await eventually(lambda: _of(got.reports, OrderRejected, "big"))
    assert not fake.venue.orders


async def test_orders_and_fills_since_cover_history(fake, broker) -> None:
    adapter, got = broker
    fake.venue.fill_chunks = 3
    for i in range(4):
        await adapter.submit(_order(f"h{i}", qty=6))
    await eventually(lambda: len(got.fills) == 12)
    fills = await adapter.fills_since(0)
    assert sorted(f.fill_id for f in fills) == sorted(f.fill_id for f in got.fills)
    assert {f.order_id for f in fills} == {f"h{i}" for i in range(4)}
    snaps = await adapter.orders_since(0)
    assert sorted((s.client_order_id, s.filled_qty) for s in snaps) == [
        (f"h{i}", 6.0) for i in range(4)
    ]
