"""An engine process for the kill -9 tests: a paper venue that outlives the engine.

``python -m tests.fakes.engine_child DIR [--reconcile-only]`` runs an :class:`Engine` with a
:class:`PersistentPaperBroker` whose whole venue state (orders, fills, book, market clock) is
written to ``DIR/venue.pkl`` (write beside, then rename) after every call that changes it, so a
kill -9 of this process loses nothing the venue did, as with a real broker. The journal is
``DIR/live.db``. Market data is a deterministic random walk of one-minute bars that resumes
after the last bar the venue saw. A churning order policy trades every bar, so fills stream.

The process prints ``ready`` once reconciled and ``fill <fill_id>`` for every fill event it
published (published means journaled), then runs until killed. ``--reconcile-only`` starts
(rebuild + reconcile), prints the reconciliation summary as JSON and stops cleanly.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import pickle
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from houseedge import logs
from houseedge.core.costs import LinearCostModel
from houseedge.core.risk.gate import RiskLimits
from houseedge.core.types import Bar, Side
from houseedge.live.engine import Engine, PolicySpec
from houseedge.live.feeds import IterableFeed
from houseedge.live.paper import PaperBroker

MINUTE = 60 * 10**9
START = 1_704_067_200 * 10**9  # 2024-01-01
SYMBOLS = ("AAA", "BBB")
CASH = 1_000_000.0


class PersistentPaperBroker(PaperBroker):
    """A :class:`PaperBroker` whose state survives the process (see the module doc)."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        if path.exists():
            saved = pickle.loads(path.read_bytes())  # noqa: S301 (our own file)
            self.__dict__.update(saved)

    def _save(self) -> None:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_queue", "_out", "path")}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(state))
        os.replace(tmp, self.path)  # a kill leaves the old state or the new, never half

    def on_market(self, event: Any, inputs: Any = None) -> list[Any]:
        out = super().on_market(event, inputs)
        self._save()
        return out

    async def submit(self, order: Any) -> None:
        await super().submit(order)
        self._save()

    async def cancel(self, client_order_id: str) -> None:
        await super().cancel(client_order_id)
        self._save()

    @property
    def market_ns(self) -> int:
        return self._market_ns


def bars_from(market_ns: int) -> Iterator[Bar]:
    """Yield the walk's bars from the first one the venue has not seen."""
    index = max(0, (market_ns - START) // MINUTE)
    while True:
        ts = START + index * MINUTE
        for n, symbol in enumerate(SYMBOLS):
            rng = random.Random(index * 7 + n)
            close = 100.0 + 10 * math.sin(index / 50 + n) + rng.uniform(-1, 1)
            opening = close + rng.uniform(-0.5, 0.5)
            yield Bar(
                symbol=symbol,
                timeframe="1m",
                ts=ts,
                open=round(opening, 2),
                high=round(max(opening, close) + 0.1, 2),
                low=round(min(opening, close) - 0.1, 2),
                close=round(close, 2),
                volume=1e6,
            )
        index += 1


class Churn:
    """Trades every bar: buys or sells 1-9 units, keeping within +-30 per symbol."""

    name = "churn"

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: Any) -> list[Any]:
        (symbol,) = snapshot.bars
        rng = random.Random(snapshot.ts + len(symbol))
        held = portfolio.qty(symbol)
        side = Side.BUY if (held < 0 or rng.random() < 0.5) and held < 25 else Side.SELL
        return [context.order(symbol, side, rng.randint(1, 9))]


def _started_summary(engine: Engine) -> dict[str, Any]:
    """Return the payload of this start's ``engine/started`` event.

    Reads every page of the journal (``events_after`` returns at most a page) and keeps the last
    such event: other events may already follow it, so "the newest event" is not it.
    """
    found: dict[str, Any] = {}
    after = 0
    while page := engine.events_after(after):
        for event in page:
            if event.kind == "engine" and event.payload.get("event") == "started":
                found = dict(event.payload)
        after = page[-1].id
    return found


async def main(folder: Path, reconcile_only: bool) -> None:
    broker = PersistentPaperBroker(
        folder / "venue.pkl",
        costs=LinearCostModel(commission_bps=2, min_commission=0.1),
        starting_cash=CASH,
    )
    feed = IterableFeed([] if reconcile_only else bars_from(broker.market_ns))
    limits = RiskLimits(max_long=40, max_short=40, price_band=0.5, max_orders_per_window=1000)
    engine = Engine(
        broker=broker,
        feed=feed,
        journal=folder / "live.db",
        risk=limits,
        policies=[PolicySpec("churn", Churn(), list(SYMBOLS))],
        cash=CASH,
    )
    await engine.start()
    events = engine.subscribe()
    summary = _started_summary(engine)
    print("ready", flush=True)
    if reconcile_only:
        print(json.dumps(summary), flush=True)
        await engine.stop(timeout=2.0)
        return
    async for event in events:
        if event.kind == "fill":
            print("fill", event.payload["fill_id"], flush=True)


if __name__ == "__main__":
    # A program configures logging at its edge (the library never does): warnings to stderr,
    # so standard output carries only this process's protocol lines.
    logs.configure(level="WARNING", json=False)
    asyncio.run(main(Path(sys.argv[1]), "--reconcile-only" in sys.argv[2:]))
