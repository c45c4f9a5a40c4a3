"""The live ledger: exact integer positions and cash, FIFO PnL, attribution, reconciliation."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from houseedge.core.execution import OrderStatus
from houseedge.core.types import Fill, Order, OrderAccepted, OrderCancelled, Position, Side
from houseedge.live.instruments import Instrument, Instruments
from houseedge.live.journal.ledger import Ledger
from houseedge.live.journal.state import LedgerState
from houseedge.research.backtest.ledger import match_fifo

_ids = itertools.count()


def fill(
    symbol: str, side: str, qty: float, price: float, fee: float = 0.0, order: str = "o"
) -> Fill:
    return Fill(
        fill_id=f"f{next(_ids)}",
        order_id=order,
        symbol=symbol,
        side=Side(side),
        qty=qty,
        price=price,
        fee=fee,
        ts=next(_ids),
    )


def test_a_million_tenths_bought_and_sold_leave_exactly_zero() -> None:
    ledger = Ledger(cash=1000)
    buy = Fill(fill_id="b", order_id="o", symbol="X", side=Side.BUY, qty=0.1, price=0.7)
    sell = Fill(fill_id="s", order_id="o", symbol="X", side=Side.SELL, qty=0.1, price=0.7)
    for _ in range(500_000):
        ledger.apply_fill(buy)
        ledger.apply_fill(sell)
    snap = ledger.snapshot()
    assert ledger.position("X") == 0
    assert snap.positions == {}
    assert snap.cash == Decimal(1000)
    assert snap.realised == 0
    # the float way drifts: that is what the integer units are for
    drift = 0.0
    for _ in range(1000):
        drift += 0.1
        drift -= 0.3
        drift += 0.2
    assert drift != 0.0


def test_cash_and_position_are_exact_for_decimal_prices() -> None:
    ledger = Ledger()
    for _ in range(10):
        ledger.apply_fill(fill("X", "buy", 0.1, 0.1))
    snap = ledger.snapshot()
    assert snap.positions == {"X": Decimal(1)}
    assert snap.cash == Decimal("-0.1")  # 10 x 0.1 x 0.1, not 0.10000000000000002


def test_fifo_realised_pnl_matches_the_research_ledger() -> None:
    rows = [
        ("buy", 3, 10.0, 0.3),
        ("buy", 2, 11.0, 0.0),
        ("sell", 4, 12.0, 0.4),
        ("sell", 3, 9.0, 0.0),  # through zero: closes 1 long, opens 2 short
        ("buy", 1, 8.5, 0.1),
    ]
    ledger = Ledger()
    realised = [ledger.apply_fill(fill("X", s, q, p, f)) for s, q, p, f in rows]
    closed, still_open = match_fifo(
        [
            {"symbol": "X", "side": s, "qty": q, "price": p, "fee": f, "ts": i}
            for i, (s, q, p, f) in enumerate(rows)
        ]
    )
    # research pnl is net of fees spread pro rata; gross = pnl + fees, per closing fill
    research_gross = sum(Decimal(repr(t["pnl"] + t["fees"])) for t in closed)
    assert sum(realised) == pytest.approx(research_gross, abs=Decimal("1e-9"))
    assert realised == [0, 0, Decimal(7), Decimal(-2), Decimal("0.5")]
    snap = ledger.snapshot()
    assert snap.positions == {"X": Decimal(-1)}
    assert snap.fees == Decimal("0.8")
    assert [(t["direction"], t["qty"]) for t in still_open] == [("short", 1.0)]
    assert snap.holdings[0].avg_price == Decimal(9)


def test_unrealised_equity_and_unmarked_positions() -> None:
    ledger = Ledger(cash=100)
    ledger.apply_fill(fill("X", "buy", 2, 10.0, fee=1.0))
    ledger.apply_fill(fill("Y", "sell", 1, 50.0))
    snap = ledger.snapshot()
    assert snap.unmarked == ["X", "Y"]
    assert snap.equity == snap.cash + Decimal(20) - Decimal(50)  # at cost while unmarked
    ledger.mark({"X": 12.5, "Y": 40})
    snap = ledger.snapshot()
    assert snap.unmarked == []
    assert snap.unrealised == Decimal(5) + Decimal(10)
    assert snap.cash == Decimal(100 - 20 - 1 + 50)
    assert snap.equity == snap.cash + Decimal(25) - Decimal(40)
    assert snap.equity == Decimal(100) + snap.realised + snap.unrealised - snap.fees


def test_books_are_per_policy_and_symbol() -> None:
    ledger = Ledger()
    ledger.apply_fill(fill("X", "buy", 5, 10.0), policy="trend")
    ledger.apply_fill(fill("X", "sell", 2, 11.0), policy="revert")
    ledger.apply_fill(fill("X", "sell", 1, 12.0), policy="trend")
    ledger.mark({"X": 10.5})
    snap = ledger.snapshot()
    assert ledger.position("X", policy="trend") == 4
    assert ledger.position("X", policy="revert") == -2
    assert snap.positions == {"X": Decimal(2)}
    assert snap.policies["trend"].realised == Decimal(2)
    assert snap.policies["revert"].realised == 0
    assert snap.policies["revert"].unrealised == Decimal(1)
    assert snap.policies["trend"].unrealised == Decimal(2)
    assert sum(p.net for p in snap.policies.values()) == snap.realised + snap.unrealised


def test_instrument_increments_round_quantities_prices_and_multiply() -> None:
    es = Instrument(symbol="ES", qty_increment=1, price_increment="0.25", multiplier=50)
    ledger = Ledger(instruments=Instruments([es]))
    ledger.apply_fill(fill("ES", "buy", 1, 4500.3))  # rounded to the 4500.25 tick
    ledger.apply_fill(fill("ES", "sell", 1, 4501.0))
    snap = ledger.snapshot()
    assert snap.realised == Decimal("0.75") * 50
    assert snap.cash == Decimal("37.5")


def test_an_instrument_finer_than_the_cash_unit_or_in_another_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="cash unit"):
        Instrument(symbol="Z", qty_increment="1e-12", price_increment="1e-12")
    with pytest.raises(ValueError, match="finite"):
        Instrument(symbol="Z", qty_increment=0)
    ledger = Ledger(instruments=Instruments([Instrument(symbol="EURX", currency="EUR")]))
    with pytest.raises(ValueError, match="EUR"):
        ledger.apply_fill(fill("EURX", "buy", 1, 1.0))


def test_equals_broker_lists_every_differing_symbol() -> None:
    ledger = Ledger()
    ledger.apply_fill(fill("X", "buy", 0.3, 1.0))
    ledger.apply_fill(fill("Y", "buy", 2, 1.0))
    broker = {
        "X": Position(symbol="X", qty=0.1 + 0.2),  # float noise below the lot: equal
        "Y": Position(symbol="Y", qty=1.0),
        "Z": Position(symbol="Z", qty=-4.0),
    }
    differences = ledger.equals_broker(broker)
    assert [(d.symbol, d.ours, d.broker, d.delta) for d in differences] == [
        ("Y", Decimal(2), Decimal(1), Decimal(-1)),
        ("Z", Decimal(0), Decimal(-4), Decimal(-4)),
    ]
    assert ledger.positions()["X"].qty == 0.3


def test_state_books_what_the_state_machine_booked() -> None:
    state = LedgerState()
    state.add_order(Order(client_order_id="o1", symbol="X", side=Side.BUY, qty=5), policy="p")
    state.apply(OrderAccepted(order_id="o1"))
    _, anomaly = state.apply(fill("X", "buy", 3, 10.0, order="o1"))
    assert anomaly is None
    after, anomaly = state.apply(fill("X", "buy", 4, 10.0, order="o1"))  # 2 too many
    assert anomaly is not None and anomaly.reason == "overfill"
    assert after is not None and after.status is OrderStatus.FILLED
    assert state.ledger.position("X", policy="p") == 5
    assert state.open_orders() == []


def test_state_books_a_fill_of_an_unknown_order_to_no_policy() -> None:
    state = LedgerState()
    order, anomaly = state.apply(fill("X", "sell", 2, 10.0, order="manual"))
    assert order is None and anomaly is not None and anomaly.reason == "unknown_order"
    assert state.ledger.position("X", policy="") == -2
    _, anomaly = state.apply(OrderCancelled(order_id="other"))
    assert anomaly is not None and anomaly.report == "cancelled"
    assert state.ledger.snapshot().positions == {"X": Decimal(-2)}
