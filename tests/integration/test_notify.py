"""Notifications with real parts: the sinks against loopback fakes of a webhook and the Telegram
Bot API, retries and drops, a hanging sink beside the real engine, the service's wiring from
``[[service.notify]]`` settings, and a bot token that never leaks."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

from houseedge import logs
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Bar, Order
from houseedge.errors import ConfigError
from houseedge.live.control import ManualOrder
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.notify import (
    Dispatcher,
    Notification,
    NotificationRelay,
    NotifySinkConfig,
    SinkOptions,
    TelegramNotifier,
    WebhookNotifier,
)
from houseedge.live.paper import PaperBroker
from houseedge.live.service import Service, ServiceSettings
from tests.fakes.notify import telegram_server, webhook_server
from tests.fakes.streams import eventually

SEC = 10**9
TOKEN = "123456:SECRET-bot-token-never-printed"  # noqa: S105 (a test token, for the fake)
FAST = {"backoff": 0.01, "max_backoff": 0.04, "timeout": 0.5}


def note(title: str, level: Any = "warning", kind: str = "feed_stale") -> Notification:
    return Notification(level=level, title=title, text="", kind=kind)


def bars(n: int, symbol: str = "X") -> list[Bar]:
    return [
        Bar(
            symbol=symbol,
            timeframe="1s",
            ts=i * SEC,
            open=10.0,
            high=10.0,
            low=10.0,
            close=10.0,
            volume=1e6,
        )
        for i in range(n)
    ]


class Scripted:
    """An order policy that trades ``script(n)`` (side and quantity, or None) on its n-th bar."""

    def __init__(self, script: Callable[[int], tuple[str, float] | None]) -> None:
        self.script, self.seen = script, 0

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Order]:
        self.seen += 1
        (symbol,) = snapshot.bars
        step = self.script(self.seen)
        return [] if step is None else [context.order(symbol, *step)]


def round_trip(n: int) -> tuple[str, float] | None:
    """Buy 5 on the 2nd bar and sell them on the 4th: one trade opened, one closed."""
    return {2: ("buy", 5.0), 4: ("sell", 5.0)}.get(n)


def churn(n: int) -> tuple[str, float]:
    """Buy 1 and sell 1 on alternate bars: a trade opened or closed on every bar."""
    return ("buy" if n % 2 else "sell", 1.0)


def engine(path: Path, policy: Any, n: int) -> Engine:
    return Engine(
        broker=PaperBroker(),
        feed=IterableFeed(bars(n)),
        journal=path,
        policies=[PolicySpec("trader", policy, ["X"])],
        risk=RiskLimits(max_orders_per_window=100_000),
    )


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOUSEEDGE_TELEGRAM_BOT_TOKEN", TOKEN)
    return TOKEN


async def test_a_scripted_session_reaches_both_fakes_exactly(
    tmp_path: Path, token_env: str
) -> None:
    async with webhook_server() as hook, telegram_server(token_env) as bot:
        settings = ServiceSettings(
            port=0,
            notify=[
                NotifySinkConfig(type="webhook", url=hook.hook, name="ops"),
                NotifySinkConfig(
                    type="telegram", chat_id="42", base_url=bot.url, min_level="warning"
                ),
            ],
        )
        live = engine(tmp_path / "j.db", Scripted(round_trip), 8)
        await live.start()
        service = Service(live, settings, stop_engine=lambda: live.stop(timeout=5))
        await service.start()
        await live.run_until_idle(timeout=20)
        refused = await live.submit_manual(
            ManualOrder(symbol="X", side="buy", qty=1, type="limit", limit_price=50.0),
            operator="ops",
        )
        await live.kill(operator="ops")
        counts = await service.drain()
    assert refused["check"] == "price_band"
    got = [(r.body["kind"], r.body["level"], r.body["title"]) for r in hook.accepted]
    assert got == [
        ("trade_opened", "info", "Opened long X (trader)"),
        ("trade_closed", "info", "Closed long X (trader)"),
        ("order_rejected", "warning", "Order rejected by risk"),
        ("kill_switch", "critical", "Kill switch"),
        ("engine_stopped", "info", "Engine stopped"),
    ]
    assert hook.accepted[0].body["fields"] == {
        "policy": "trader",
        "symbol": "X",
        "position": "long",
        "qty": 5.0,
        "price": 10.0,
    }
    assert [r.body["chat_id"] for r in bot.accepted] == ["42", "42"]
    assert [t.splitlines()[0] for t in bot.texts] == [
        "[WARNING] Order rejected by risk",
        "[CRITICAL] Kill switch",
    ]
    assert "operator ops" in bot.texts[1]
    assert counts["engine_stopped"] is True
    stats = service.notifications.dispatcher.stats()  # type: ignore[union-attr]
    assert stats["ops"].sent == 5 and stats["telegram"].sent == 2
    assert stats["telegram"].filtered == 3


async def test_a_failing_sink_is_retried_with_backoff_then_delivers(token_env: str) -> None:
    async with telegram_server(token_env) as bot:
        bot.fail(2, status=502)
        sink = TelegramNotifier(7, base_url=bot.url)
        dispatcher = Dispatcher([(sink, SinkOptions(attempts=5, **FAST))])
        dispatcher.start()
        dispatcher.publish(note("first"))
        dispatcher.publish(note("second"))
        await dispatcher.close(timeout=5)
    stats = dispatcher.stats()["telegram"]
    assert (stats.sent, stats.failed_attempts, stats.retries, stats.dropped_failed) == (2, 2, 2, 0)
    assert [t.splitlines()[0] for t in bot.texts] == ["[WARNING] first", "[WARNING] second"]
    assert len(bot.requests) == 4  # two refused, then both delivered in order


async def test_a_down_sink_is_dropped_after_its_attempts_with_a_log_line() -> None:
    async with webhook_server() as hook:
        hook.fail(100)
        dispatcher = Dispatcher([(WebhookNotifier(hook.hook), SinkOptions(attempts=3, **FAST))])
        dispatcher.start()
        logs.configure(level="DEBUG", stream=io.StringIO())  # retries are logged at info
        with structlog.testing.capture_logs() as captured:
            dispatcher.publish(note("lost"))
            await dispatcher.close(timeout=5)
    stats = dispatcher.stats()["webhook"]
    assert (stats.failed_attempts, stats.retries, stats.dropped_failed, stats.sent) == (3, 2, 1, 0)
    assert len(hook.requests) == 3
    dropped = [e for e in captured if e["event"] == "notification_dropped"]
    assert dropped == [
        {
            "event": "notification_dropped",
            "log_level": "warning",
            "sink": "webhook",
            "kind": "feed_stale",
            "event_id": 0,
            "attempts": 3,
        }
    ]
    retries = [e["error"] for e in captured if e["event"] == "notification_retrying"]
    assert retries == ["webhook: the webhook answered HTTP 503"] * 2


async def test_a_sink_nobody_listens_on_is_retried_then_dropped() -> None:
    async with webhook_server() as hook:
        url = hook.hook  # the server is gone after this block: connection refused
    dispatcher = Dispatcher([(WebhookNotifier(url), SinkOptions(attempts=2, **FAST))])
    dispatcher.start()
    dispatcher.publish(note("nobody"))
    await dispatcher.close(timeout=5)
    stats = dispatcher.stats()["webhook"]
    assert (stats.failed_attempts, stats.dropped_failed) == (2, 1)


async def test_a_full_queue_drops_its_oldest_and_counts_them() -> None:
    async with webhook_server() as hook:
        hook.hang()
        dispatcher = Dispatcher([(WebhookNotifier(hook.hook), SinkOptions(queue_size=3))])
        dispatcher.start()
        dispatcher.publish(note("n0"))
        await eventually(lambda: len(hook.requests) == 1)  # n0 is in flight, held
        for i in range(1, 8):
            dispatcher.publish(note(f"n{i}"))
        hook.release()
        await dispatcher.close(timeout=5)
    assert [r.body["title"] for r in hook.accepted] == ["n0", "n5", "n6", "n7"]
    assert dispatcher.stats()["webhook"].dropped_full == 4


async def _session(path: Path, relay: NotificationRelay | None, n: int) -> tuple[float, int]:
    live = engine(path, Scripted(churn), n)
    await live.start()
    if relay is not None:
        relay.start(live)
    began = time.perf_counter()
    await live.run_until_idle(timeout=60)
    elapsed = time.perf_counter() - began
    fills = len(live.fills())
    await live.stop()
    return elapsed, fills


async def test_a_hanging_sink_does_not_hold_up_the_engine(tmp_path: Path) -> None:
    n = 300
    bare, bare_fills = await _session(tmp_path / "bare.db", None, n)
    async with webhook_server() as hook:
        hook.hang()  # never answers: every attempt runs into its timeout
        options = SinkOptions(queue_size=16, attempts=2, backoff=0.01, timeout=0.2)
        relay = NotificationRelay(Dispatcher([(WebhookNotifier(hook.hook), options)]))
        hung, hung_fills = await _session(tmp_path / "hung.db", relay, n)
        counts = await relay.stop(timeout=0.1)
    # The same session, the same fills, with a sink that never answers; its messages pile up
    # in its own bounded queue (oldest dropped), not in the engine's path.
    assert hung_fills == bare_fills == n - 1
    stats = counts["sinks"]["webhook"]
    assert stats["queued"] == n  # a trade opened or closed on each of the n - 1 fills, the stop
    assert stats["sent"] == 0 and stats["dropped_full"] > 0
    assert stats["dropped_failed"] > 0  # attempts=2: one retry each, and the one in flight
    assert stats["retries"] - stats["dropped_failed"] in (0, 1)
    accounted = stats["dropped_full"] + stats["dropped_failed"] + counts["unsent"]
    assert stats["queued"] - accounted in (0, 1)  # one may have been in flight at the close
    assert stats["failed_attempts"] <= len(hook.requests) <= stats["failed_attempts"] + 1
    # the figures, for the record (no threshold: a loaded machine varies more than this)
    logging.getLogger(__name__).info(
        "engine run: %.3f s bare, %.3f s beside a hanging sink", bare, hung
    )


async def test_the_bot_token_never_leaks(token_env: str, caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    logs.configure(level="DEBUG", json=True, stream=out)
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    async with telegram_server(token_env) as bot:
        sink = TelegramNotifier("1", base_url=bot.url)
        options = SinkOptions(attempts=2, backoff=0.01, timeout=0.2)
        dispatcher = Dispatcher([(sink, options)])
        dispatcher.start()
        bot.fail(2, status=500)  # refused twice: dropped
        dispatcher.publish(note("refused"))
        await dispatcher.flush(5)
        bot.hang()  # timed out twice: dropped
        dispatcher.publish(note("hung"))
        await dispatcher.flush(5)
        bot.release()
        for attempt in (sink.send(note("direct")), _wrong_token(bot.url)):
            try:
                await attempt
            except Exception as exc:
                errors.append(f"{exc!r} {exc} {exc.__cause__!r} {exc.__context__!r}")
        bot.fail(1)
        try:
            await sink.send(note("refused directly"))
        except Exception as exc:
            errors.append(f"{exc!r} {exc} {exc.__cause__!r}")
        counts = await dispatcher.close(timeout=1)
    dead = TelegramNotifier("1", base_url=bot.url)  # the fake is gone: connection refused
    try:
        await dead.send(note("nobody"))
    except Exception as exc:
        errors.append(f"{exc!r} {exc} {exc.__cause__!r} {exc.__context__!r}")
    finally:
        await dead.aclose()
    assert counts["sinks"]["telegram"]["dropped_failed"] == 2
    assert len(errors) == 3
    text = "\n".join([out.getvalue(), caplog.text, *errors, repr(sink), str(counts)])
    assert "notification_dropped" in text
    for secret in (TOKEN, TOKEN.split(":")[1], "bot123456"):
        assert secret not in text


async def _wrong_token(base_url: str) -> None:
    # A direct call with aiohttp to the fake with a bad token: our sink never does this, but
    # it proves the fake answers 401 like the Bot API (and raises nothing with our token).
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base_url}/botWRONG/sendMessage", json={"chat_id": 1, "text": "x"}) as r,
    ):
        body = await r.json()
    assert (r.status, body["ok"], body["description"]) == (401, False, "Unauthorized")
    raise ConfigError("a wrong token is refused")


def test_a_telegram_sink_needs_its_token_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOUSEEDGE_TELEGRAM_BOT_TOKEN", raising=False)
    config = NotifySinkConfig(type="telegram", chat_id="1")
    with pytest.raises(ConfigError, match="HOUSEEDGE_TELEGRAM_BOT_TOKEN"):
        config.notifier()


def test_service_settings_read_notify_tables_and_refuse_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "HOUSEEDGE_SERVICE_NOTIFY", '[{"type": "webhook", "url": "http://127.0.0.1:1/h"}]'
    )
    assert [c.type for c in ServiceSettings().notify] == ["webhook"]
    monkeypatch.delenv("HOUSEEDGE_SERVICE_NOTIFY")
    with pytest.raises(ConfigError, match="token is a secret"):
        ServiceSettings(notify=[{"type": "telegram", "chat_id": "1", "token": TOKEN}])  # type: ignore[list-item]
    assert ServiceSettings().notify == []
    assert Service(_Quiet(), ServiceSettings()).notifications is None


class _Quiet:
    ready = True


async def test_a_drawdown_near_its_threshold_is_a_warning(tmp_path: Path) -> None:
    closes = [10.0, 10.0, 10.0, 9.16]  # long 50 from 10.0 on 1,000: a 4.2% drawdown
    feed = IterableFeed(
        [
            Bar(symbol="X", timeframe="1s", ts=i * SEC, open=c, high=c, low=c, close=c, volume=1e6)
            for i, c in enumerate(closes)
        ]
    )
    limits = RiskLimits(max_orders_per_window=1000, drawdown_soft=0.05, drawdown_hard=0.1)
    live = Engine(
        broker=PaperBroker(),
        feed=feed,
        journal=tmp_path / "j.db",
        cash=1000.0,
        policies=[
            PolicySpec("holder", Scripted(lambda n: ("buy", 50.0) if n == 2 else None), ["X"])
        ],
        risk=limits,
    )
    async with webhook_server() as hook:
        dispatcher = Dispatcher([(WebhookNotifier(hook.hook), SinkOptions(min_level="warning"))])
        relay = NotificationRelay(dispatcher, risk_interval=0.01)
        await live.start()
        relay.start(live)
        await live.run_until_idle(timeout=20)
        await eventually(lambda: hook.accepted)
        await asyncio.sleep(0.1)  # more reads of the same figures: no second warning
        await live.stop()
        await relay.stop(timeout=2)
    (warning,) = [r.body for r in hook.accepted]
    assert warning["kind"] == "risk_proximity" and warning["level"] == "warning"
    assert warning["fields"] == {
        "monitor": "drawdown",
        "value": pytest.approx(0.042),
        "threshold": 0.05,
        "stage": "soft",
    }
    assert warning["text"] == "drawdown 4.20% is 84% of its reduce-only threshold 5.00%"


def test_the_cli_reads_service_notify_tables_from_the_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from houseedge.app.settings import LiveSettings
    from houseedge.cli.live import service_settings

    path = tmp_path / "live.toml"
    path.write_text(
        "[service]\nport = 0\n"
        '[[service.notify]]\ntype = "telegram"\nchat_id = "42"\nmin_level = "critical"\n'
        '[[service.notify]]\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
        'kinds = ["kill_switch", "feed_stale"]\n'
    )
    settings = service_settings(LiveSettings.load(path), path)
    assert [(c.sink_name, c.min_level, c.kinds) for c in settings.notify] == [
        ("telegram", "critical", None),
        ("webhook", "info", ["kill_switch", "feed_stale"]),
    ]
    monkeypatch.setenv("HOUSEEDGE_TELEGRAM_BOT_TOKEN", TOKEN)
    relay = NotificationRelay.from_configs(settings.notify)
    assert relay is not None and list(relay.dispatcher.stats()) == ["telegram", "webhook"]
    path.write_text(
        f'[[service.notify]]\ntype = "telegram"\nchat_id = "1"\nbot_token = "{TOKEN}"\n'
    )
    with pytest.raises(ConfigError, match="bot_token is a secret") as refused:
        service_settings(LiveSettings.load(path), path)
    assert TOKEN not in str(refused.value)
