"""Journal + ledger rebuild is exact under duplicated and replayed fills."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from houseedge.core.types import Fill, Side
from houseedge.live.journal import Journal
from houseedge.live.journal.ledger import Ledger

SYMBOLS = ("A", "B")
# sizes and prices on their increments (as venues send them): 0.01 lots, 0.5 ticks
qty = st.integers(1, 500).map(lambda n: n / 100)
price = st.integers(2, 400).map(lambda n: n / 2)
fee = st.integers(0, 300).map(lambda n: n / 100)

unique_fills = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(Side), qty, price, fee),
    min_size=1,
    max_size=30,
).map(
    lambda rows: [
        Fill(fill_id=f"v{i}", order_id=f"o{i}", symbol=s, side=d, qty=q, price=p, fee=f, ts=i)
        for i, (s, d, q, p, f) in enumerate(rows)
    ]
)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Fill], list[Fill]]:
    """Unique fills and the stream a venue delivers: duplicates and replayed stretches."""
    fills = draw(unique_fills)
    stream = list(fills)
    for _ in range(draw(st.integers(0, 10))):
        at = draw(st.integers(0, len(stream)))
        stream.insert(at, draw(st.sampled_from(fills)))
    start = draw(st.integers(0, len(fills) - 1))
    stream += fills[start:]  # a reconnect replays everything since some point
    return fills, stream


def _exact(x: float) -> Decimal:
    return Decimal(repr(x))


@settings(max_examples=40, deadline=None)
@given(deliveries(), st.fixed_dictionaries(dict.fromkeys(SYMBOLS, price)))
def test_rebuild_books_each_unique_fill_exactly_once(
    delivery: tuple[list[Fill], list[Fill]], marks: dict[str, float]
) -> None:
    fills, stream = delivery
    with tempfile.TemporaryDirectory() as folder, Journal(Path(folder) / "j.db") as journal:
        live = Ledger(cash=10_000)
        with journal.batch():  # one commit: fsyncs are not what this test is about
            for item in stream:  # the engine's rule: book only what the journal accepted
                if journal.record_fill(item):
                    live.apply_fill(item)
        rebuilt = journal.rebuild(ledger=Ledger(cash=10_000)).ledger
        assert journal.fill_count() == len(fills)

    # FIFO splits realised from unrealised by arrival order: the first arrival of each fill
    first: dict[str, Fill] = {}
    for item in stream:
        first.setdefault(item.fill_id, item)
    once = Ledger(cash=10_000)
    for item in first.values():
        once.apply_fill(item)
    for ledger in (live, rebuilt, once):
        ledger.mark(marks)
    assert live.snapshot() == rebuilt.snapshot() == once.snapshot()

    snap = rebuilt.snapshot()
    for symbol in SYMBOLS:
        signed = sum((_exact(f.qty) * f.side.sign for f in fills if f.symbol == symbol), Decimal(0))
        assert rebuilt.position(symbol) == signed
        assert snap.positions.get(symbol, Decimal(0)) == signed
    cash = Decimal(10_000) - sum(
        (_exact(f.qty) * f.side.sign * _exact(f.price) + _exact(f.fee) for f in fills), Decimal(0)
    )
    assert snap.cash == cash
    value = sum((q * _exact(marks[s]) for s, q in snap.positions.items()), Decimal(0))
    assert snap.equity == cash + value
    assert snap.equity == Decimal(10_000) + snap.realised + snap.unrealised - snap.fees
