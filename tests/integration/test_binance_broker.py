"""BinanceBroker (real python-binance AsyncClient) against the loopback fake: orders and faults."""

from __future__ import annotations

import asyncio

import pytest

from houseedge.adapters.binance import BinanceAuthError, BinanceBroker
from houseedge.core.types import (
    Order,
    OrderRejected,
)
from tests.fakes.binance.harness import config_for, connected, fake_fill_ids, until
from tests.fakes.binance.server import FakeBinance

PATH = {"BTCUSDT": [100.0, 101.0, 99.0, 98.0, 102.0, 103.0, 97.0, 100.0] * 4}


def order(cid: str, side: str = "buy", qty: float = 0.1, **kw: object) -> Order:
    return Order(client_order_id=cid, symbol="BTCUSDT", side=side, qty=qty, **kw)  # type: ignore[arg-type]


async def exact(fake: FakeBinance, collector) -> None:
    """Every fake trade reached the reports exactly once and positions agree."""
    await fake.flush()
    want = fake_fill_ids(fake)
    await until(lambda: len(collector.fills) >= len(want))
    await asyncio.sleep(0.05)
    got = [f.fill_id for f in collector.fills]
    assert sorted(got) == want
    assert len(set(got)) == len(got)
    assert collector.position("BTCUSDT") == fake.exchange.position("BTCUSDT")


async def test_order_types_fill_cancel_and_expire() -> None:
    async with connected(PATH) as (fake, broker, got):
        await broker.submit(order("m1"))
        await broker.submit(order("l1", type="limit", limit_price=98.5, tif="gtc"))
        await broker.submit(order("s1", side="sell", type="stop_limit", stop_price=98.0,
                                  limit_price=97.0, tif="gtc"))  # fmt: skip
        await broker.submit(order("t1", side="sell", type="stop_limit", stop_price=102.0,
                                  limit_price=101.5, tif="gtc", tag="take_profit"))  # fmt: skip
        await broker.submit(order("c1", type="limit", limit_price=50.0, tif="gtc"))
        await broker.submit(order("i1", type="limit", limit_price=50.0, tif="ioc"))
        for _ in range(6):
            await fake.step()
        await broker.cancel("c1")
        await exact(fake, got)
        by_order = {f.order_id for f in got.fills}
        assert by_order == {"m1", "l1", "s1", "t1"}
        kinds = {(type(e).__name__, getattr(e, "order_id", "")) for e in got.events}
        assert ("OrderCancelled", "c1") in kinds
        assert ("OrderExpired", "i1") in kinds
        venue = {o.client_id: o.type for o in fake.exchange.orders.values()}
        assert venue["s1"] == "STOP_LOSS_LIMIT" and venue["t1"] == "TAKE_PROFIT_LIMIT"
        positions = await broker.positions()
        held = positions["BTCUSDT"].qty if "BTCUSDT" in positions else 0.0
        assert held == float(fake.exchange.position("BTCUSDT"))


async def test_filters_refuse_before_sending() -> None:
    async with connected(PATH) as (fake, broker, got):
        sent = len(fake.exchange.orders)
        await broker.submit(order("lot", qty=0.0015, type="limit", limit_price=100.0, tif="gtc"))
        await broker.submit(order("tick", type="limit", limit_price=100.005, tif="gtc"))
        await broker.submit(order("small", qty=0.01, type="limit", limit_price=100.0, tif="gtc"))
        await until(lambda: len(got.events) >= 3)
        reasons = {e.order_id: e.reason for e in got.events if isinstance(e, OrderRejected)}
        assert "LOT_SIZE" in reasons["lot"] and "0.0015" in reasons["lot"]
        assert "PRICE_FILTER" in reasons["tick"]
        assert "NOTIONAL" in reasons["small"]
        assert len(fake.exchange.orders) == sent


@pytest.mark.parametrize("knob", ["duplicate_order", "lose_response"])
async def test_committed_order_with_a_lost_or_duplicate_answer_fills_once(knob: str) -> None:
    async with connected(PATH) as (fake, broker, got):
        setattr(fake.faults, knob, 1)
        await broker.submit(order("m1", qty=0.2))
        await exact(fake, got)
        assert [o.client_id for o in fake.exchange.orders.values()] == ["m1"]
        assert len(got.fills) == 1


async def test_rate_limit_backs_off_for_retry_after() -> None:
    async with connected(PATH) as (fake, broker, got):
        fake.faults.rate_limit, fake.faults.retry_after = 2, 1
        loop = asyncio.get_running_loop()
        start = loop.time()
        await broker.submit(order("m1"))
        assert loop.time() - start >= 1.0
        assert broker.limiter.backoffs == 2
        await exact(fake, got)


async def test_banned_418_backs_off_too() -> None:
    async with connected(PATH) as (fake, broker, got):
        fake.faults.ban, fake.faults.retry_after = 1, 1
        await broker.submit(order("m1"))
        await exact(fake, got)
        assert broker.limiter.backoffs == 1


async def test_bad_signature_and_wrong_secret_are_auth_errors() -> None:
    fake = await FakeBinance("test-key-0123456789", "the-real-secret", PATH).start()
    try:
        broker = BinanceBroker(config_for(fake))  # signs with another secret
        with pytest.raises(BinanceAuthError, match="-1022"):
            await broker.connect()  # the first signed call (the trade cursor) is refused
    finally:
        await fake.stop()


async def test_stale_timestamp_is_refused_then_the_clock_is_resynced() -> None:
    async with connected(PATH) as (fake, broker, got):
        fake.faults.clock_skew_ms = 60_000  # the client's measured offset is now wrong
        with pytest.raises(BinanceAuthError, match="-1021"):
            await broker.positions()
        await broker.submit(order("m1"))  # -1021, resync, sent once
        await exact(fake, got)
        assert [o.client_id for o in fake.exchange.orders.values()] == ["m1"]


async def test_forced_bad_signature_is_reported_not_sent() -> None:
    async with connected(PATH) as (fake, broker, got):
        fake.faults.bad_signature = 1
        await broker.submit(order("m1"))
        await until(lambda: got.events)
        assert isinstance(got.events[0], OrderRejected)
        assert "-1022" in got.events[0].reason
        assert not fake.exchange.orders


@pytest.mark.parametrize(
    "fault",
    ["drop_ws_api", "drop_events", "duplicate_events", "malformed_events", "garbage_frames"],
)
async def test_user_stream_faults_lose_no_fill_and_double_none(fault: str) -> None:
    async with connected(PATH, fill_chunk="0.05") as (fake, broker, got):
        await broker.submit(order("l1", qty=0.3, type="limit", limit_price=99.0, tif="gtc"))
        await broker.submit(order("l2", side="sell", qty=0.2, type="limit", limit_price=101.0,
                                  tif="gtc"))  # fmt: skip
        await fake.step()
        await fake.flush()
        if fault == "drop_ws_api":
            await fake.drop_ws_api()
        elif fault == "duplicate_events":
            fake.faults.duplicate_events = True
        else:
            setattr(fake.faults, fault, 3)
        for _ in range(10):
            await fake.step()
        await broker.submit(order("m1"))
        await exact(fake, got)
        if fault in ("drop_ws_api", "garbage_frames"):
            assert broker.stream is not None and broker.stream.resubscribes >= 1
            assert fake.subscriptions == 1
        if fault in ("drop_ws_api", "drop_events", "malformed_events", "garbage_frames"):
            assert broker.reconciler is not None and broker.reconciler.sweeps >= 1
