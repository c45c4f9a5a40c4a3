"""The broker contract, once, for every venue: each test runs against all three loopback fakes.

The real client libraries (alpaca-py, python-binance, ib-async) talk to fakes on 127.0.0.1
(``tests/fakes``); :mod:`.venues` holds the per-venue driver. What every adapter must do is
in ``src/houseedge/adapters/README.md``; venue specifics (order types, error tables, fault knobs
only one fake has) stay in ``tests/integration/test_<venue>_*.py``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from houseedge.core.broker import Broker
from houseedge.core.types import (
    CancelRejected,
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderType,
    Side,
    TimeInForce,
)
from houseedge.data.store import Store
from tests.conformance.venues import DRIVERS, Driver, settle
from tests.fakes.streams import Collector, until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(params=sorted(DRIVERS))
def venue(request: pytest.FixtureRequest) -> Driver:
    """Each registered venue in turn."""
    return DRIVERS[request.param]


def market(venue: Driver, cid: str) -> Order:
    return Order(client_order_id=cid, symbol=venue.symbol, side=Side.BUY, qty=venue.qty)


def resting(venue: Driver, cid: str, price: float | None = None) -> Order:
    return Order(
        client_order_id=cid, symbol=venue.symbol, side=Side.BUY, qty=venue.qty,
        type=OrderType.LIMIT, limit_price=price or venue.resting_buy, tif=TimeInForce.GTC,
    )  # fmt: skip


def of(collector: Collector, kind: type, cid: str) -> list[object]:
    return [e for e in collector.events if isinstance(e, kind) and e.order_id == cid]


async def exactly_once(venue: Driver, fake: object, collector: Collector) -> list[Fill]:
    """Every venue execution reached the reports once, and nothing else did."""

    def caught_up() -> bool:
        want = venue.fill_ids(fake)
        return bool(want) and {f.fill_id for f in collector.fills} >= want

    await until(caught_up, timeout=20)
    await settle()
    counts = Counter(f.fill_id for f in collector.fills)
    assert set(counts) == venue.fill_ids(fake), "fills lost or invented"
    assert max(counts.values()) == 1, "a fill was reported twice"
    return collector.fills


async def test_every_venue_is_a_broker(venue: Driver) -> None:
    async with venue.session() as (_, broker, _):
        assert isinstance(broker, Broker)
        assert broker.name == venue.name


async def test_submit_cancel_replace(venue: Driver) -> None:
    async with venue.session() as (fake, broker, got):
        await broker.submit(market(venue, "m1"))
        await until(lambda: of(got, Fill, "m1"))
        await broker.submit(resting(venue, "r1"))
        await until(lambda: of(got, OrderAccepted, "r1"))
        await broker.replace("r1", resting(venue, "r2", venue.resting_buy - 1))
        await until(lambda: of(got, OrderCancelled, "r1") and of(got, OrderAccepted, "r2"))
        await broker.cancel("r2")
        await until(lambda: of(got, OrderCancelled, "r2"))
        assert venue.orders_with(fake, "r2") == 1
        await exactly_once(venue, fake, got)
        assert {f.order_id for f in got.fills} == {"m1"}


async def test_duplicate_submit_makes_no_second_order(venue: Driver) -> None:
    async with venue.session() as (fake, broker, got):
        order = resting(venue, "d1")
        await broker.submit(order)
        await until(lambda: of(got, OrderAccepted, "d1"))
        await broker.submit(order)  # the engine retrying: resolved, never sent twice
        await settle()
        assert venue.orders_with(fake, "d1") == 1
        await venue.cross(fake)
        fills = await exactly_once(venue, fake, got)
        assert sum(f.qty for f in fills if f.order_id == "d1") == pytest.approx(venue.qty)


async def test_unknown_order_cancel_is_reported_not_raised(venue: Driver) -> None:
    async with venue.session() as (_, broker, got):
        await broker.cancel("never-sent")
        await until(lambda: of(got, CancelRejected, "never-sent"))


async def test_partial_fills_each_once_and_summing_to_the_order(venue: Driver) -> None:
    async with venue.session() as (fake, broker, got):
        venue.partial(fake, 4)
        await broker.submit(market(venue, "p1"))
        await broker.submit(resting(venue, "p2"))
        await until(lambda: of(got, OrderAccepted, "p2"))
        await venue.cross(fake)
        fills = await exactly_once(venue, fake, got)
        for cid in ("p1", "p2"):
            mine = [f for f in fills if f.order_id == cid]
            assert len(mine) > 1, f"{cid} filled in one piece"
            assert sum(f.qty for f in mine) == pytest.approx(venue.qty)


async def test_fill_during_a_disconnect_is_reported_exactly_once(venue: Driver) -> None:
    async with venue.session() as (fake, broker, got):
        await broker.submit(resting(venue, "g1"))
        await until(lambda: of(got, OrderAccepted, "g1"))
        await venue.cut_off(fake, broker)
        await venue.cross(fake)  # fills while nobody listens
        await settle()
        assert not of(got, Fill, "g1")
        await venue.restore(fake, broker)
        fills = await exactly_once(venue, fake, got)
        assert sum(f.qty for f in fills if f.order_id == "g1") == pytest.approx(venue.qty)


async def test_history_ingest_into_a_store_is_idempotent(venue: Driver, tmp_path: Path) -> None:
    async with venue.session() as (fake, _, _):
        store = Store(tmp_path / "store")
        first = await venue.ingest(fake, store)
        again = await venue.ingest(fake, store)
        assert sum(r.rows_added for r in first) == 4  # [start, end): four bars
        assert sum(r.rows_added for r in again) == 0
        bars = store.scan("bars", symbols=[venue.symbol]).collect()
        assert bars.height == 4
        assert bars["ts"].is_sorted() and bars["ts"].n_unique() == 4
