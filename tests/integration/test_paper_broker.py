"""The paper broker against scripted bars, trades and quotes: every order type and time in
force, latency, idempotent submit, cancel/replace, reconciliation and an exact account."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence

import msgspec
import pytest

from houseedge.core.broker import Broker, BrokerEvent, Quote, Trade
from houseedge.core.costs import LinearCostModel
from houseedge.core.execution import OrderState, OrderStatus, apply
from houseedge.core.types import (
    Bar,
    CancelRejected,
    Fill,
    Liquidity,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderSubmitted,
    Side,
)
from houseedge.live.paper import PaperBroker

HOUR = 3_600 * 10**9
DAY = 24 * HOUR


def bar(i: int, o: float, h: float, lo: float, c: float, *, volume: float = 1_000.0,
        symbol: str = "X", every: int = HOUR) -> Bar:  # fmt: skip
    return Bar(symbol=symbol, timeframe="1h" if every == HOUR else "1d", ts=i * every, open=o,
               high=h, low=lo, close=c, volume=volume)  # fmt: skip


def order(cid: str, side: str = "buy", qty: float = 10, **kw: object) -> Order:
    return Order(client_order_id=cid, symbol="X", side=Side(side), qty=qty, **kw)  # type: ignore[arg-type]


def fills(reports: Sequence[BrokerEvent]) -> list[tuple[str, float, float, int]]:
    return [(r.order_id, r.qty, r.price, r.ts) for r in reports if isinstance(r, Fill)]


def kinds(reports: Sequence[BrokerEvent], cid: str) -> list[str]:
    return [type(r).__name__ for r in reports if r.order_id == cid]


FLAT = (100.0, 101.0, 99.0, 100.0)


async def run(broker: PaperBroker, bars: Sequence[Bar], orders: dict[int, list[Order]]) -> list[
    BrokerEvent
]:  # fmt: skip
    """Feed ``bars``; after bar ``i`` closes, submit ``orders[i]``; return every report."""
    out: list[BrokerEvent] = []
    for i, b in enumerate(bars):
        out += broker.on_market(b)
        for o in orders.get(i, []):
            await broker.submit(o)
    return out


def test_the_paper_broker_is_a_broker() -> None:
    assert isinstance(PaperBroker(), Broker)
    assert PaperBroker().name == "paper"


async def test_market_order_fills_at_the_next_open_with_costs() -> None:
    costs = LinearCostModel(spread_bps=10, commission_bps=5, min_commission=1.0)
    broker = PaperBroker(costs)
    broker.on_market(bar(0, *FLAT))
    await broker.submit(order("m1"))
    reports = broker.on_market(bar(1, 102.0, 103.0, 101.0, 102.5))
    (fill,) = [r for r in reports if isinstance(r, Fill)]
    assert fill.price == costs.fill_price(102.0, +1, {})
    assert fill.fee == costs.fee(10, fill.price)
    assert (fill.ts, fill.qty, fill.fill_id, fill.liquidity) == (HOUR, 10, "paper-1", "taker")
    assert (await broker.positions())["X"].qty == 10
    account = await broker.account()
    assert account.cash == 100_000.0 - 10 * fill.price - fill.fee
    assert account.equity == pytest.approx(account.cash + 10 * 102.5)


async def test_submit_reports_submitted_then_accepted_without_latency() -> None:
    broker = PaperBroker()
    broker.on_market(bar(0, *FLAT))
    await broker.submit(order("a"))
    stream = broker.reports()
    got = [await anext(stream), await anext(stream)]
    assert got == [OrderSubmitted(order_id="a", ts=HOUR),
                   OrderAccepted(order_id="a", ts=HOUR, venue_order_id="paper-o1")]  # fmt: skip


async def test_limit_rests_until_a_bar_trades_through_it() -> None:
    bars = [bar(0, *FLAT), bar(1, *FLAT), bar(2, 99.5, 100.0, 98.0, 99.0), bar(3, *FLAT)]
    limit = order("l1", type="limit", limit_price=98.5, tif="gtc")
    reports = await run(PaperBroker(LinearCostModel(spread_bps=50)), bars, {0: [limit]})
    (fill,) = [r for r in reports if isinstance(r, Fill)]
    assert (fill.price, fill.ts, fill.liquidity) == (98.5, 2 * HOUR, Liquidity.MAKER)
    gap = order("l2", side="sell", type="limit", limit_price=101.0, tif="gtc")
    reports = await run(PaperBroker(), [bar(0, *FLAT), bar(1, 103.0, 104.0, 102.0, 103.0)],
                        {0: [gap]})  # fmt: skip
    assert fills(reports) == [("l2", 10, 103.0, HOUR)]  # gapped above: the better open


async def test_stops_trigger_at_the_stop_or_a_worse_open() -> None:
    bars = [bar(0, *FLAT), bar(1, 99.0, 99.5, 97.0, 98.0), bar(2, 96.0, 97.0, 95.0, 96.5)]
    stops = [order("s1", side="sell", type="stop", stop_price=98.0, tif="gtc"),
             order("s2", side="sell", type="stop", stop_price=96.5, tif="gtc")]  # fmt: skip
    reports = await run(PaperBroker(), bars, {0: stops})
    assert fills(reports) == [("s1", 10, 98.0, HOUR), ("s2", 10, 96.0, 2 * HOUR)]


async def test_stop_limit_triggers_then_rests_as_a_limit() -> None:
    bars = [bar(0, *FLAT), bar(1, 103.0, 104.0, 102.5, 103.5), bar(2, 103.0, 103.2, 101.5, 102.0)]
    stop_limit = order("sl", type="stop_limit", stop_price=101.0, limit_price=102.0, tif="gtc")
    reports = await run(PaperBroker(), bars, {0: [stop_limit]})
    # Gapped to 103 above the 102 limit on bar 1: triggered, no fill; bar 2 trades down to it.
    assert fills(reports) == [("sl", 10, 102.0, 2 * HOUR)]


async def test_participation_splits_fills_and_ioc_fok_expire_the_rest() -> None:
    bars = [bar(0, *FLAT), bar(1, *FLAT, volume=40), bar(2, *FLAT, volume=40)]
    orders = [order("gtc", qty=10, tif="gtc"), order("ioc", qty=10, tif="ioc"),
              order("fok", qty=10, tif="fok")]  # fmt: skip
    reports = await run(PaperBroker(participation=0.1), bars, {0: orders})
    # Each bar fills 4 units across the symbol's orders, oldest first.
    assert fills(reports) == [("gtc", 4, 100.0, HOUR), ("gtc", 4, 100.0, 2 * HOUR)]
    assert kinds(reports, "ioc")[-1] == "OrderExpired"
    assert kinds(reports, "fok")[-1] == "OrderExpired"
    roomy = await run(PaperBroker(participation=0.5), bars, {0: orders[1:]})
    assert fills(roomy) == [("ioc", 10, 100.0, HOUR), ("fok", 10, 100.0, HOUR)]


async def test_day_orders_expire_at_the_next_day_gtd_at_its_time() -> None:
    bars = [bar(i, *FLAT) for i in range(22, 27)]  # 22:00 to 02:00 next day
    away = {"type": "limit", "limit_price": 90.0}
    day, gtc = order("day", **away), order("gtc", **away, tif="gtc")  # type: ignore[arg-type]
    gtd = order("gtd", **away, tif="gtd", expire_ts=25 * HOUR)  # type: ignore[arg-type]
    broker = PaperBroker()
    reports = await run(broker, bars, {0: [day, gtc, gtd]})
    assert [r for r in reports if isinstance(r, OrderExpired)] == [
        OrderExpired(order_id="day", ts=24 * HOUR),
        OrderExpired(order_id="gtd", ts=25 * HOUR),
    ]
    assert [o.client_order_id for o in await broker.open_orders()] == ["gtc"]


async def test_a_repeated_submit_reports_the_order_and_never_doubles_it() -> None:
    broker = PaperBroker()
    broker.on_market(bar(0, *FLAT))
    first = order("dup")
    await broker.submit(first)
    await broker.submit(msgspec.structs.replace(first, qty=99))
    assert len(await broker.open_orders()) == 1
    reports = broker.on_market(bar(1, *FLAT))
    await broker.submit(first)
    assert fills(reports) == [("dup", 10, 100.0, HOUR)]
    assert (await broker.positions())["X"].qty == 10
    await broker.close()
    stream = [r async for r in broker.reports()]
    assert [type(r).__name__ for r in stream] == [
        "OrderSubmitted", "OrderAccepted", "OrderAccepted", "Fill", "OrderAccepted",
    ]  # fmt: skip


async def test_latency_delays_orders_and_cancels_in_market_time() -> None:
    bars = [bar(i, *FLAT) for i in range(5)]
    slow = PaperBroker(latency_ns=HOUR // 2)
    reports = await run(slow, bars, {0: [order("m")]})
    assert fills(reports) == [("m", 10, 100.0, 2 * HOUR)]  # one bar later than without latency
    accepted = next(r for r in reports if isinstance(r, OrderAccepted))
    assert accepted.ts == HOUR + HOUR // 2
    # A cancel in flight does not stop a fill; the venue then rejects the cancel.
    broker = PaperBroker(latency_ns=HOUR)
    broker.on_market(bars[0])
    await broker.submit(order("c"))
    broker.on_market(bars[1])
    await broker.cancel("c")
    out = broker.on_market(bars[2]) + broker.on_market(bars[3])
    assert fills(out) == [("c", 10, 100.0, 2 * HOUR)]
    assert CancelRejected(order_id="c", ts=3 * HOUR, reason="closed") in out


async def test_cancel_and_replace() -> None:
    broker = PaperBroker()
    broker.on_market(bar(0, *FLAT))
    await broker.submit(order("a", type="limit", limit_price=95.0, tif="gtc"))
    await broker.cancel("a")
    await broker.cancel("nope")
    await broker.submit(order("b", type="limit", limit_price=95.0, tif="gtc"))
    await broker.replace("b", order("b2", type="limit", limit_price=99.5, tif="gtc"))
    await broker.replace("b2", order("b3", side="sell", type="limit", limit_price=99.5))
    reports = broker.on_market(bar(1, *FLAT))
    await broker.replace("b2", order("b4", type="limit", limit_price=99.8, tif="gtc"))
    snapshots = {s.client_order_id: s for s in await broker.orders_since(0)}
    status = {cid: str(s.status) for cid, s in snapshots.items()}
    assert status == {"a": "cancelled", "b": "cancelled", "b2": "filled", "b3": "rejected",
                      "b4": "rejected"}  # fmt: skip
    assert fills(reports) == [("b2", 10, 99.5, HOUR)]
    await broker.close()
    stream = [r async for r in broker.reports()]
    assert CancelRejected(order_id="nope", ts=HOUR, reason="unknown_order") in stream
    assert OrderRejected(order_id="b3", ts=HOUR, reason="replace_mismatch") in stream
    assert OrderRejected(order_id="b4", ts=2 * HOUR, reason="replaced_order_closed") in stream
    assert OrderCancelled(order_id="b", ts=HOUR) in stream


async def test_rejects_below_lot_size_and_without_cash() -> None:
    broker = PaperBroker(lot_size=1.0, check_cash=True, starting_cash=1_000.0)
    broker.on_market(bar(0, *FLAT))
    await broker.submit(order("tiny", qty=0.5))
    await broker.submit(order("ok", qty=6))
    await broker.submit(order("big", qty=6))  # 600 committed already: 400 left
    await broker.submit(order("short", side="sell", qty=50))  # sells need no cash here
    status = {s.client_order_id: (str(s.status)) for s in await broker.orders_since(0)}
    assert status == {"tiny": "rejected", "ok": "accepted", "big": "rejected", "short": "accepted"}
    await broker.close()
    reasons = {r.order_id: r.reason async for r in broker.reports() if isinstance(r, OrderRejected)}
    assert reasons == {"tiny": "below_lot_size", "big": "insufficient_cash"}


async def test_orders_and_fills_since_a_time() -> None:
    broker = PaperBroker()
    bars = [bar(i, *FLAT) for i in range(6)]
    await run(broker, bars, {0: [order("a")], 2: [order("b", side="sell")], 4: [order("c")]})
    assert [f.order_id for f in await broker.fills_since(0)] == ["a", "b", "c"]
    assert [f.order_id for f in await broker.fills_since(3 * HOUR)] == ["b", "c"]
    assert [f.order_id for f in await broker.fills_since(3 * HOUR + 1)] == ["c"]
    assert [o.client_order_id for o in await broker.orders_since(3 * HOUR)] == ["b", "c"]
    assert await broker.fills_since(6 * HOUR) == []


async def test_positions_and_cash_are_exact_after_many_fills() -> None:
    rng = random.Random(42)
    costs = LinearCostModel(commission_bps=3, spread_bps=2)
    broker = PaperBroker(costs, lot_size=0.01, starting_cash=10_000.0)
    states: dict[str, OrderState] = {}
    stream = broker.reports()
    price = 100.0
    for i in range(1_500):
        price = round(price * (1 + rng.gauss(0, 0.002)), 2)
        broker.on_market(bar(i, price, price + 0.5, price - 0.5, price))
        side = rng.choice(("buy", "sell"))
        o = order(f"o{i}", side=side, qty=rng.choice((0.01, 0.1, 0.3, 0.07, 1.11)))
        states[o.client_order_id] = OrderState(order=o)
        await broker.submit(o)
    await broker.close()
    anomalies = []
    async for report in stream:  # an engine-side state machine sees a clean stream
        states[report.order_id], anomaly = apply(states[report.order_id], report)
        anomalies += [anomaly] if anomaly else []
    assert anomalies == []
    done = await broker.fills_since(0)
    assert len(done) == 1_499
    assert all(states[f.order_id].status is OrderStatus.FILLED for f in done)
    lots = sum(round(f.qty * 100) * f.side.sign for f in done)
    position = (await broker.positions()).get("X")
    assert (position.qty if position else 0.0) == lots * 0.01
    flows = [x for f in done for x in (-(f.side.sign * f.qty * f.price), -f.fee)]
    account = await broker.account()
    assert account.cash == math.fsum([10_000.0, *flows])  # correctly rounded: no drift
    assert account.equity == account.cash + lots * 0.01 * price


async def test_trades_and_quotes_fill_at_the_price_an_order_can_take() -> None:
    broker = PaperBroker(participation=0.5)
    broker.on_market(Trade(symbol="X", ts=1, price=100.0, size=5.0))
    await broker.submit(order("m", qty=4))
    await broker.submit(order("l", side="sell", type="limit", limit_price=101.0, tif="gtc"))
    out = broker.on_market(Trade(symbol="X", ts=2, price=100.5, size=6.0))
    out += broker.on_market(Trade(symbol="X", ts=3, price=101.2, size=30.0))
    assert fills(out) == [("m", 3, 100.5, 2), ("m", 1, 101.2, 3), ("l", 10, 101.2, 3)]
    quoted = PaperBroker()
    quoted.on_market(Quote(symbol="X", ts=1, bid=99.9, ask=100.1))
    await quoted.submit(order("qb", qty=2))
    await quoted.submit(order("qs", side="sell", qty=2))
    await quoted.submit(order("ql", type="limit", limit_price=100.0, tif="gtc"))
    out = quoted.on_market(Quote(symbol="X", ts=2, bid=99.8, ask=100.2, ask_size=1.0))
    out += quoted.on_market(Quote(symbol="X", ts=3, bid=99.7, ask=99.95))
    assert fills(out) == [("qb", 2, 100.2, 2), ("qs", 2, 99.8, 2), ("ql", 10, 99.95, 3)]
    assert (await quoted.account()).equity == pytest.approx(
        100_000.0 - 2 * 100.2 + 2 * 99.8 - 10 * 99.95 + 10 * (99.7 + 99.95) / 2
    )


async def test_cost_inputs_price_the_next_fill() -> None:
    costs = LinearCostModel(slippage_fraction=0.5, slippage_scale="atr")
    broker = PaperBroker(costs)
    broker.on_market(bar(0, *FLAT), inputs={"slippage_scale": 2.0})
    await broker.submit(order("m"))
    reports = broker.on_market(bar(1, *FLAT), inputs={"slippage_scale": 8.0})
    assert fills(reports) == [("m", 10, 101.0, HOUR)]


async def test_the_report_stream_ends_on_close() -> None:
    broker = PaperBroker()
    consumer = asyncio.create_task(_collect(broker))
    broker.on_market(bar(0, *FLAT))
    await broker.submit(order("a"))
    broker.on_market(bar(1, *FLAT))
    await broker.close()
    got = await asyncio.wait_for(consumer, 2)
    assert [type(r).__name__ for r in got] == ["OrderSubmitted", "OrderAccepted", "Fill"]


async def _collect(broker: PaperBroker) -> list[BrokerEvent]:
    return [r async for r in broker.reports()]
