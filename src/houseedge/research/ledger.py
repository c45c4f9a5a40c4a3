"""FIFO matching of fills into round-trip trades.

Each symbol keeps a queue of open lots. A fill in the direction of the position opens a lot; a
fill against it closes the oldest lots first (partial closes split a lot). A fill that crosses
through zero closes everything open and opens a new lot in the other direction with the rest.
A fill's fee is split pro rata by quantity between the lots it closes and the lot it opens, and a
lot's entry fee pro rata between the trades that close it, so ``sum(fees)`` over trades and open
lots equals the fees paid.

The ledger is exact: the pnl of the closed trades plus the open lots marked at a price equals the
cash change of the fills plus the open position marked at the same price.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

TRADE_COLUMNS = (
    "symbol", "direction", "qty", "entry_ts", "exit_ts", "entry_price", "exit_price",
    "entry_row", "exit_row", "fees", "pnl", "return_pct",
)  # fmt: skip


@dataclass(slots=True)
class _Lot:
    qty: float  # absolute units still open
    price: float
    ts: Any
    row: int | None
    fee: float  # entry fee not yet attributed to a closed trade
    sign: int


def _close(
    lot: _Lot, qty: float, price: float, ts: Any, row: int | None, fee: float
) -> dict[str, Any]:
    entry_fee = lot.fee * (qty / lot.qty)
    lot.fee -= entry_fee
    lot.qty -= qty
    fees = entry_fee + fee
    pnl = lot.sign * qty * (price - lot.price) - fees
    return {
        "direction": "long" if lot.sign > 0 else "short",
        "qty": qty, "entry_ts": lot.ts, "exit_ts": ts,
        "entry_price": lot.price, "exit_price": price,
        "entry_row": lot.row, "exit_row": row,
        "fees": fees, "pnl": pnl, "return_pct": pnl / (qty * lot.price),
    }  # fmt: skip


def _apply(
    lots: deque[_Lot], signed_qty: float, price: float, fee: float, ts: Any, row: int | None
) -> list[dict[str, Any]]:
    """Apply one fill to a symbol's lots; return the trades it closes."""
    closed: list[dict[str, Any]] = []
    sign = 1 if signed_qty > 0 else -1
    remaining = abs(signed_qty)
    fee_per_unit = fee / remaining
    while remaining > 0 and lots and lots[0].sign != sign:
        lot = lots[0]
        qty = min(lot.qty, remaining)
        closed.append(_close(lot, qty, price, ts, row, fee_per_unit * qty))
        remaining -= qty
        if lot.qty <= 0:
            lots.popleft()
    if remaining > 0:
        lots.append(_Lot(remaining, price, ts, row, fee_per_unit * remaining, sign))
    return closed


def match_fifo(
    fills: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Match fills (dicts with ``symbol, side, qty, price, fee, ts`` and optional ``row``) FIFO.

    ``side`` is ``"buy"``/``"sell"`` (or ``qty`` is signed when ``side`` is absent). Returns the
    closed trades and the open lots, as lists of row dicts in :data:`TRADE_COLUMNS` order.

    Examples
    --------
    >>> fills = [
    ...     dict(symbol="X", side="buy", qty=3, price=10.0, fee=0.3, ts=1),
    ...     dict(symbol="X", side="sell", qty=5, price=12.0, fee=0.5, ts=2),
    ... ]
    >>> closed, still_open = match_fifo(fills)
    >>> [(t["direction"], t["qty"], round(t["pnl"], 6)) for t in closed]
    [('long', 3.0, 5.4)]
    >>> [(t["direction"], t["qty"], t["entry_price"]) for t in still_open]
    [('short', 2.0, 12.0)]
    """
    book: dict[str, deque[_Lot]] = {}
    closed: list[dict[str, Any]] = []
    for fill in fills:
        qty = float(fill["qty"])
        if "side" in fill:
            qty = abs(qty) if fill["side"] == "buy" else -abs(qty)
        if qty == 0:
            continue
        symbol = fill["symbol"]
        lots = book.setdefault(symbol, deque())
        trades = _apply(lots, qty, fill["price"], fill["fee"], fill["ts"], fill.get("row"))
        closed.extend({"symbol": symbol, **trade} for trade in trades)
    still_open = [
        {
            "symbol": symbol,
            "direction": "long" if lot.sign > 0 else "short",
            "qty": lot.qty,
            "entry_ts": lot.ts,
            "exit_ts": None,
            "entry_price": lot.price,
            "exit_price": None,
            "entry_row": lot.row,
            "exit_row": None,
            "fees": lot.fee,
            "pnl": None,
            "return_pct": None,
        }
        for symbol, lots in book.items()
        for lot in lots
    ]
    return closed, still_open


def round_trips(fills: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (closed trades, open lots) frames from a fills frame, matched FIFO.

    ``fills`` has ``ts, symbol, side, qty, price, fee`` (and optionally ``row``, the bar index of
    the fill within its symbol), in execution order.

    Examples
    --------
    >>> fills = pl.DataFrame({"ts": [1, 2, 3], "symbol": ["X"] * 3,
    ...     "side": ["sell", "buy", "sell"], "qty": [2.0, 3.0, 1.0], "price": [10.0, 9.0, 11.0],
    ...     "fee": [0.0, 0.0, 0.0]})
    >>> closed, still_open = round_trips(fills)
    >>> closed.select("direction", "qty", "pnl").rows()
    [('short', 2.0, 2.0), ('long', 1.0, 2.0)]
    >>> still_open.height
    0
    """
    closed, still_open = match_fifo(fills.iter_rows(named=True))
    schema = _trade_schema(fills)
    return (
        pl.DataFrame(closed, schema=schema, orient="row")
        if closed
        else pl.DataFrame(schema=schema),
        pl.DataFrame(still_open, schema=schema) if still_open else pl.DataFrame(schema=schema),
    )


def _trade_schema(fills: pl.DataFrame) -> dict[str, pl.DataType]:
    ts_type = fills.schema["ts"] if "ts" in fills.columns else pl.Int64()
    return {
        "symbol": pl.String(), "direction": pl.String(), "qty": pl.Float64(),
        "entry_ts": ts_type, "exit_ts": ts_type,
        "entry_price": pl.Float64(), "exit_price": pl.Float64(),
        "entry_row": pl.Int64(), "exit_row": pl.Int64(),
        "fees": pl.Float64(), "pnl": pl.Float64(), "return_pct": pl.Float64(),
    }  # fmt: skip
