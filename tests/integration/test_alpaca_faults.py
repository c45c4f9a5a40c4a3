"""Each fault knob of the fake Alpaca against the adapter: no fill lost, none doubled.

Every test ends with :func:`assert_exact`: the reported fills are the venue's executions exactly
once and net to the venue's positions; anomalies are both logged and emitted as events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from houseedge.adapters.alpaca import AlpacaBroker
from houseedge.core.types import Order, Side
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.alpaca.harness import Collector, assert_exact, config_for, connected, eventually

Session = tuple[FakeAlpaca, AlpacaBroker, Collector]


@pytest.fixture
async def session(request: pytest.FixtureRequest) -> AsyncIterator[Session]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    async with connected(**overrides) as (fake, broker, collector):
        fake.venue.fill_chunks = 5
        yield fake, broker, collector


def _anomalies(broker: AlpacaBroker) -> list[str]:
    return [p["reason"] for kind, p, _ in broker.emitted if kind == "anomaly"]


async def _trade(broker: AlpacaBroker, n: int, prefix: str, qty: float = 10) -> None:
    for i in range(n):
        side = Side.BUY if i % 3 else Side.SELL
        await broker.submit(
            Order(client_order_id=f"{prefix}{i}", symbol="AAPL", side=side, qty=qty)
        )


def _all_fills(fake: FakeAlpaca, collector: Collector) -> Callable[[], bool]:
    return lambda: len(collector.fills) >= len(fake.venue.executions) > 0


async def test_socket_dropped_after_n_events(session: Session) -> None:
    fake, broker, got = session
    fake.faults.drop_ws_after = 7
    await _trade(broker, 6, "d")  # 6 orders x (new + 5 fills): the socket drops mid-order
    await eventually(_all_fills(fake, got), timeout=20)
    assert fake.stats.ws_dropped >= 1 and broker.stats.connections >= 2
    assert_exact(fake, got.fills)
    assert broker.stats.recovered_fills > 0  # the drop lost events: reconciliation found them
    assert "stream_missed_fills" in _anomalies(broker)


async def test_muted_socket_is_noticed_by_staleness(session: Session) -> None:
    fake, broker, got = session
    fake.faults.muted = True  # the socket stays open; REST answers; nothing is pushed
    await _trade(broker, 3, "m")
    await eventually(_all_fills(fake, got), timeout=10)
    assert fake.stats.withheld > 0 and broker.stats.stale >= 1
    assert any(p.get("event") == "stream_stale" for _, p, _ in broker.emitted)
    fake.faults.muted = False
    await _trade(broker, 2, "after")
    await eventually(_all_fills(fake, got), timeout=10)
    assert_exact(fake, got.fills)


async def test_events_during_an_outage_are_recovered(session: Session) -> None:
    fake, broker, got = session
    await fake.set_outage(True)
    await _trade(broker, 4, "o")  # REST works, the stream is refused (503)
    await eventually(lambda: fake.stats.ws_refused_503 >= 1, timeout=5)  # alpaca-py retried
    assert len(got.fills) < len(fake.venue.executions)
    await fake.set_outage(False)
    await eventually(_all_fills(fake, got), timeout=15)
    assert_exact(fake, got.fills)
    assert broker.stats.recovered_fills == 20


@pytest.mark.parametrize("kind", ["timestamp", "execution_id", "order_id"])
async def test_malformed_events_do_not_lose_fills(session: Session, kind: str) -> None:
    fake, broker, got = session
    fake.faults.malformed = [kind, kind]
    await _trade(broker, 2, "x")
    await eventually(_all_fills(fake, got), timeout=10)
    assert fake.stats.malformed_sent == 2 and broker.stats.malformed == 2
    assert _anomalies(broker).count("malformed_event") == 2
    assert_exact(fake, got.fills)


async def test_504_then_commit_does_not_make_two_orders(session: Session) -> None:
    fake, broker, got = session
    fake.faults.commit_then_504 = 1  # committed, answered 504; alpaca-py retries the POST
    await _trade(broker, 1, "g")
    assert fake.stats.gateway_timeouts == 1 and fake.stats.posts == 2
    assert len(fake.venue.orders) == 1
    assert "duplicate_submit_resolved" in _anomalies(broker)
    await eventually(_all_fills(fake, got))
    assert_exact(fake, got.fills)


async def test_second_stream_gets_429_and_reconciliation_carries_it() -> None:
    async with FakeAlpaca() as fake:
        fake.venue.set_price("AAPL", 100.0)
        first = AlpacaBroker(config_for(fake))
        await first.connect()
        second = AlpacaBroker(config_for(fake, connect_timeout_seconds=0.5))
        await second.connect()  # the account's one stream is taken
        got = Collector(second)
        assert fake.stats.ws_refused_429 >= 1
        assert "stream_not_connected" in _anomalies(second)
        await _trade(second, 3, "s")
        await eventually(_all_fills(fake, got), timeout=10)  # through REST reconciliation
        assert_exact(fake, got.fills)
        await first.close()
        await eventually(lambda: second.stats.connections >= 1, timeout=15)
        await _trade(second, 1, "t")
        await eventually(_all_fills(fake, got), timeout=10)
        assert_exact(fake, got.fills)
        await second.close()
        await got.stop()


@pytest.mark.parametrize("session", [{"stream": "sse"}], indirect=True)
async def test_sse_stream_resumes_after_dropped_messages(session: Session) -> None:
    fake, broker, got = session
    assert fake.stats.sse_connects == 1 and "since" in fake.stats.sse_queries[0]
    await _trade(broker, 1, "a")
    await eventually(_all_fills(fake, got))
    fake.faults.sse_drop_next = 3  # ": you are reading too slowly, dropped 3 messages"
    await _trade(broker, 2, "b")
    await eventually(_all_fills(fake, got), timeout=10)
    assert "stream_gap" in _anomalies(broker)
    assert any("since_id" in q for q in fake.stats.sse_queries[1:])  # resumed from the cursor
    assert_exact(fake, got.fills)
    assert broker.stats.recovered_fills == 0  # the replay from the cursor had them all


@pytest.mark.parametrize("session", [{"stream": "sse"}], indirect=True)
async def test_sse_muted_and_disconnected(session: Session) -> None:
    fake, broker, got = session
    fake.faults.muted = True  # no events and no heartbeats
    await _trade(broker, 2, "m")
    await eventually(lambda: broker.stats.stale >= 1, timeout=30)
    fake.faults.muted = False
    await eventually(_all_fills(fake, got), timeout=30)
    await fake.disconnect_streams()
    await _trade(broker, 2, "n")
    await eventually(_all_fills(fake, got), timeout=30)
    assert broker.stats.connections >= 3
    assert_exact(fake, got.fills)
