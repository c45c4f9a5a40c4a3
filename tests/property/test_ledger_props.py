"""FIFO ledger invariants over random fill sequences."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from houseedge.research.backtest.ledger import match_fifo

SYMBOLS = ("A", "B")

fill = st.fixed_dictionaries(
    {
        "symbol": st.sampled_from(SYMBOLS),
        "side": st.sampled_from(("buy", "sell")),
        "qty": st.integers(1, 50).map(float),
        "price": st.integers(100, 10_000).map(lambda cents: cents / 100),
        "fee": st.integers(0, 500).map(lambda cents: cents / 100),
    }
)
fills_strategy = st.lists(fill, min_size=1, max_size=40).map(
    lambda rows: [row | {"ts": i} for i, row in enumerate(rows)]
)
marks_strategy = st.fixed_dictionaries({s: st.floats(1.0, 200.0) for s in SYMBOLS})


def _signed(row: dict[str, Any]) -> float:
    return row["qty"] if row["side"] == "buy" else -row["qty"]


@given(fills_strategy, marks_strategy)
def test_trade_pnl_plus_open_mark_equals_cash_change_plus_mark(
    fills: list[dict[str, Any]], marks: dict[str, float]
) -> None:
    closed, still_open = match_fifo(fills)
    cash_change = sum(-_signed(f) * f["price"] - f["fee"] for f in fills)
    net = {s: sum(_signed(f) for f in fills if f["symbol"] == s) for s in SYMBOLS}
    position_mark = sum(net[s] * marks[s] for s in SYMBOLS)
    open_pnl = sum(
        (1 if lot["direction"] == "long" else -1)
        * lot["qty"]
        * (marks[lot["symbol"]] - lot["entry_price"])
        - lot["fees"]
        for lot in still_open
    )
    closed_pnl = sum(trade["pnl"] for trade in closed)
    # Both sides equal "value now minus value at start"; the ledger only re-attributes it.
    assert math.isclose(
        closed_pnl + open_pnl, cash_change + position_mark, rel_tol=1e-9, abs_tol=1e-6
    )


@given(fills_strategy)
def test_quantities_and_fees_are_conserved(fills: list[dict[str, Any]]) -> None:
    closed, still_open = match_fifo(fills)
    for symbol in SYMBOLS:
        net = sum(_signed(f) for f in fills if f["symbol"] == symbol)
        lots = [lot for lot in still_open if lot["symbol"] == symbol]
        assert sum(lot["qty"] * (1 if lot["direction"] == "long" else -1) for lot in lots) == net
        # At most one direction is open per symbol, and open lots are in entry order (FIFO).
        assert len({lot["direction"] for lot in lots}) <= 1
        assert [lot["entry_ts"] for lot in lots] == sorted(lot["entry_ts"] for lot in lots)
    traded = sum(f["qty"] for f in fills)
    assert traded == 2 * sum(t["qty"] for t in closed) + sum(lot["qty"] for lot in still_open)
    fees = sum(t["fees"] for t in closed) + sum(lot["fees"] for lot in still_open)
    assert math.isclose(fees, sum(f["fee"] for f in fills), rel_tol=1e-9, abs_tol=1e-9)
    for trade in closed:
        assert trade["entry_ts"] <= trade["exit_ts"]
        assert trade["qty"] > 0


@given(st.integers(1, 20), st.integers(1, 20))
def test_a_fill_through_zero_closes_then_reverses(long_qty: int, sell_qty: int) -> None:
    fills = [
        {"symbol": "A", "side": "buy", "qty": float(long_qty), "price": 10.0, "fee": 1.0, "ts": 0},
        {"symbol": "A", "side": "sell", "qty": float(long_qty + sell_qty), "price": 12.0,
         "fee": 2.0, "ts": 1},
    ]  # fmt: skip
    closed, still_open = match_fifo(fills)
    assert [(t["direction"], t["qty"]) for t in closed] == [("long", long_qty)]
    assert [(t["direction"], t["qty"], t["entry_ts"]) for t in still_open] == [
        ("short", sell_qty, 1)
    ]
    exit_fee = 2.0 * long_qty / (long_qty + sell_qty)
    assert math.isclose(closed[0]["fees"], 1.0 + exit_fee)
    assert math.isclose(still_open[0]["fees"], 2.0 - exit_fee)
