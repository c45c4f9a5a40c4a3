"""Binance market data as a live :class:`~houseedge.core.broker.MarketFeed`: klines and trades.

One combined stream (``/stream?streams=<sym>@kline_<i>/<sym>@trade``) through python-binance's
``BinanceSocketManager``. Only *closed* klines become :class:`~houseedge.core.types.Bar` (labelled
by their open time, so they aggregate and decide like stored bars); trades become
:class:`~houseedge.core.broker.Trade` when ``feed_trades`` is set. Market streams are URL
subscriptions, so python-binance's own reconnect resumes them; bars closed during the gap are
fetched over REST (``klines``) and yielded, in order, before the first live bar after it.
Every price also updates ``marks`` (the broker's, for min-notional checks of market orders).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from houseedge import logs
from houseedge.adapters.binance._lib import (
    BinanceSocketManager,
    WSListenerState,
    client_class,
    receive,
)
from houseedge.adapters.binance.client import BinanceBroker
from houseedge.adapters.binance.config import BinanceConfig
from houseedge.adapters.binance.history import kline_bar, rows_to_bars
from houseedge.adapters.binance.mapping import NANOS_PER_MS
from houseedge.adapters.binance.schemas import KlineEvent, MarketPayload, TradeEvent
from houseedge.adapters.venue import VenueSettings
from houseedge.core.broker import MarketEvent, MarketFeed, Trade
from houseedge.core.types import Bar

__all__ = ["BinanceFeed", "build_feed"]

_POLL = 0.25  # seconds between checks for close() while the stream is quiet


class BinanceFeed:
    """Closed klines (and optionally trades) of ``config.symbols``, live.

    Parameters
    ----------
    config
        The symbols, ``kline_interval``, ``feed_trades`` and ``stream_url``.
    marks
        A dict to keep the last price of each symbol in (share the broker's ``marks``).
    """

    def __init__(self, config: BinanceConfig, *, marks: dict[str, float] | None = None) -> None:
        self.config = config
        self.marks = marks if marks is not None else {}
        self.delivered = 0
        self.backfilled = 0
        self._closed = False
        self._last_bar: dict[str, int] = {}  # symbol -> open time (ns) of the last bar yielded
        self._gap = False
        self.log = logs.get_logger("houseedge.adapters.binance", feed="binance")

    def streams(self) -> list[str]:
        """Return the stream names subscribed to.

        Examples
        --------
        >>> BinanceFeed(BinanceConfig(symbols=["BTCUSDT"], feed_trades=True)).streams()
        ['btcusdt@kline_1m', 'btcusdt@trade']
        """
        names: list[str] = []
        for symbol in self.config.symbols:
            names.append(f"{symbol.lower()}@kline_{self.config.kline_interval}")
            if self.config.feed_trades:
                names.append(f"{symbol.lower()}@trade")
        return names

    async def close(self) -> None:
        """End the stream (within ``_POLL`` seconds)."""
        self._closed = True

    async def events(self) -> AsyncIterator[MarketEvent]:
        """Yield bars (and trades) as Binance streams them."""
        client = client_class(self.config)()  # market streams are public: no keys
        cls = BinanceSocketManager
        if self.config.stream_url:
            cls = type(
                "StreamManager", (BinanceSocketManager,), {"STREAM_URL": self.config.stream_url}
            )
        manager = cls(client, max_queue_size=self.config.queue_size)
        socket = manager.multiplex_socket(self.streams())
        try:
            await socket.__aenter__()
            while not self._closed:
                try:
                    message = await asyncio.wait_for(receive(socket), _POLL)
                except TimeoutError:
                    continue
                for event in await self._events_of(client, message):
                    self.delivered += 1
                    yield event
        finally:
            await _close(socket)
            await client.close_connection()

    async def _events_of(self, client: Any, message: dict[str, Any]) -> list[MarketEvent]:
        if message.get("e") == "error":
            self.log.warning("binance.market_stream_gap", type=message.get("type"))
            self._gap = True
            return []
        try:
            payload = msgspec.convert(message.get("data", message), MarketPayload)
        except msgspec.ValidationError as exc:
            self.log.warning("binance.malformed_market_event", error=str(exc))
            return []
        if isinstance(payload, TradeEvent):
            price = float(payload.price)
            self.marks[payload.symbol] = price
            return [
                Trade(
                    symbol=payload.symbol,
                    ts=payload.time * NANOS_PER_MS,
                    price=price,
                    size=float(payload.qty),
                )
            ]
        return await self._bars_of(client, payload)

    async def _bars_of(self, client: Any, event: KlineEvent) -> list[MarketEvent]:
        if not event.kline.closed:
            return []
        bar = kline_bar(event.symbol, event.kline.interval, event.kline)
        last = self._last_bar.get(bar.symbol)
        out: list[MarketEvent] = []
        if self._gap and last is not None:
            out += await self._backfill(client, bar.symbol, last, bar.ts)
        self._gap = False
        if last is None or bar.ts > last:
            out.append(bar)
        for b in out:
            if isinstance(b, Bar):
                self._last_bar[b.symbol] = max(self._last_bar.get(b.symbol, 0), b.ts)
                self.marks[b.symbol] = b.close
        return out

    async def _backfill(self, client: Any, symbol: str, after: int, before: int) -> list[Bar]:
        rows = await client.get_klines(
            symbol=symbol,
            interval=self.config.kline_interval,
            startTime=after // NANOS_PER_MS + 1,
            endTime=before // NANOS_PER_MS - 1,
            limit=1000,
        )
        bars = [
            b
            for b in rows_to_bars(symbol, self.config.kline_interval, rows)
            if after < b.ts < before
        ]
        self.backfilled += len(bars)
        self.log.info("binance.bars_backfilled", symbol=symbol, bars=len(bars))
        return bars


async def _close(socket: Any) -> None:
    # As for the WebSocket API: mark the read loop exiting and close the socket first, or
    # python-binance waits out its 10 s receive timeout.
    socket.ws_state = WSListenerState.EXITING
    with contextlib.suppress(Exception):
        if socket.ws is not None:
            await socket.ws.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(socket.__aexit__(None, None, None), 2.0)


def build_feed(settings: VenueSettings, broker: BinanceBroker) -> MarketFeed:
    """Return the live kline feed of the broker's config, sharing the broker's last prices."""
    del settings  # the symbols and interval are the broker's config
    return BinanceFeed(broker.config, marks=broker.marks)
