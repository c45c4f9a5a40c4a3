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
    "symbol",
    "direction",
    "qty",
    "entry_ts",
    "exit_ts",
    "entry_price",
    "exit_price",
    "entry_row",
    "exit_row",
    "fees",
    "pnl",
    "return_pct",
)


@dataclass(slots=True)
class _Lot:
    qty: float  # absolute units still open
    price: float
    ts: Any
    row: int | None
    fee: float  # entry fee not yet attributed to a closed trade
    sign: int


Row = tuple[Any, ...]
"""A trade as a tuple in :data:`TRADE_COLUMNS` order."""


def _close(lot: _Lot, qty: float, price: float, ts: Any, row: int | None, fee: float) -> Row:
    entry_fee = lot.fee * (qty / lot.qty)
    lot.fee -= entry_fee
    lot.qty -= qty
    fees = entry_fee + fee
    pnl = lot.sign * qty * (price - lot.price) - fees
    direction = "long" if lot.sign > 0 else "short"
    return (
        direction,
        qty,
        lot.ts,
        ts,
        lot.price,
        price,
        lot.row,
        row,
        fees,
        pnl,
        pnl / (qty * lot.price),
    )


def _apply(
    lots: deque[_Lot], signed_qty: float, price: float, fee: float, ts: Any, row: int | None
) -> list[Row]:
    """Apply one fill to a symbol's lots; return the trades it closes (without the symbol)."""
    closed: list[Row] = []
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


def _match(fills: Iterable[Row]) -> tuple[list[Row], list[Row]]:
    """Match ``(symbol, signed_qty, price, fee, ts, row)`` fills; return trade tuples."""
    book: dict[str, deque[_Lot]] = {}
    closed: list[Row] = []
    for symbol, qty, price, fee, ts, row in fills:
        if qty == 0:
            continue
        lots = book.setdefault(symbol, deque())
        closed.extend((symbol, *trade) for trade in _apply(lots, qty, price, fee, ts, row))
    still_open = [
        (
            symbol,
            "long" if lot.sign > 0 else "short",
            lot.qty,
            lot.ts,
            None,
            lot.price,
            None,
            lot.row,
            None,
            lot.fee,
            None,
            None,
        )
        for symbol, lots in book.items()
        for lot in lots
    ]
    return closed, still_open


def match_fifo(
    fills: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Match fills (dicts with ``symbol, side, qty, price, fee, ts`` and optional ``row``) FIFO.

    ``side`` is ``"buy"``/``"sell"`` (or ``qty`` is signed when ``side`` is absent). Returns the
    closed trades and the open lots, as dicts with the keys of :data:`TRADE_COLUMNS`.

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

    def signed(fill: dict[str, Any]) -> float:
        qty = float(fill["qty"])
        if "side" not in fill:
            return qty
        return abs(qty) if fill["side"] == "buy" else -abs(qty)

    rows = ((f["symbol"], signed(f), f["price"], f["fee"], f["ts"], f.get("row")) for f in fills)
    closed, still_open = _match(rows)
    return (
        [dict(zip(TRADE_COLUMNS, t, strict=True)) for t in closed],
        [dict(zip(TRADE_COLUMNS, t, strict=True)) for t in still_open],
    )


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
    signed = pl.when(pl.col("side") == "buy").then(pl.col("qty")).otherwise(-pl.col("qty"))
    row = pl.col("row") if "row" in fills.columns else pl.lit(None, pl.Int64)
    # Physical timestamps: converting every fill's time to a Python object is the slow part.
    columns = fills.select(
        "symbol", signed, "price", "fee", pl.col("ts").to_physical(), row
    ).get_columns()
    closed, still_open = _match(zip(*(c.to_list() for c in columns), strict=True))
    return _frame(closed, fills.schema["ts"]), _frame(still_open, fills.schema["ts"])


def _frame(rows: list[Row], ts_type: pl.DataType) -> pl.DataFrame:
    schema = _trade_schema(ts_type)
    physical = {k: (pl.Int64() if k.endswith("_ts") else v) for k, v in schema.items()}
    frame = pl.DataFrame(rows, schema=physical, orient="row")
    return frame.with_columns(pl.col("entry_ts", "exit_ts").cast(ts_type))


def _trade_schema(ts_type: pl.DataType) -> dict[str, pl.DataType]:
    return {
        "symbol": pl.String(),
        "direction": pl.String(),
        "qty": pl.Float64(),
        "entry_ts": ts_type,
        "exit_ts": ts_type,
        "entry_price": pl.Float64(),
        "exit_price": pl.Float64(),
        "entry_row": pl.Int64(),
        "exit_row": pl.Int64(),
        "fees": pl.Float64(),
        "pnl": pl.Float64(),
        "return_pct": pl.Float64(),
    }
