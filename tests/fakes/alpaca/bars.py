"""Historical bars for the fake's ``GET /v2/stocks/bars``: a deterministic path per symbol.

The price of ``symbol`` at time ``t`` is a pure function of both (a hashed random walk step), so
any page of any range is reproducible and tests can compute the expected bars with
:func:`expected_bar`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from tests.fakes.alpaca.venue import parse_rfc3339, rfc3339

_UNITS = {
    "Min": 60,
    "T": 60,
    "Hour": 3600,
    "H": 3600,
    "Day": 86_400,
    "D": 86_400,
    "Week": 7 * 86_400,
    "W": 7 * 86_400,
}
_NS = 1_000_000_000


def step_seconds(timeframe: str) -> int:
    """Return the length of an Alpaca timeframe (``"1Day"``, ``"5Min"``) in seconds."""
    match = re.fullmatch(r"(\d+)([A-Za-z]+)", timeframe)
    if match is None or match[2] not in _UNITS:
        msg = f"invalid timeframe {timeframe!r}"
        raise ValueError(msg)
    return int(match[1]) * _UNITS[match[2]]


def expected_bar(symbol: str, ts_ns: int) -> dict[str, Any]:
    """Return the bar the fake serves for ``symbol`` opening at ``ts_ns``."""
    digest = hashlib.sha256(f"{symbol}:{ts_ns}".encode()).digest()
    base = 50 + digest[0] % 100 + digest[1] / 256
    spread = 1 + digest[2] % 5
    close = base + (digest[3] - 128) / 64
    return {
        "t": rfc3339(ts_ns).replace(".000000000Z", "Z"),
        "o": round(base, 2),
        "h": round(max(base, close) + spread, 2),
        "l": round(min(base, close) - spread, 2),
        "c": round(close, 2),
        "v": float(1000 + digest[4] * 10),
        "n": 10 + digest[5],
        "vw": round((base + close) / 2, 4),
    }


def bars_response(query: dict[str, str], page_cap: int = 10_000) -> dict[str, Any]:
    """Answer one page of ``GET /v2/stocks/bars``; ``page_token`` is an offset into the range.

    A page holds at most ``page_cap`` bars whatever ``limit`` asks (so tests see paging).
    """
    step = step_seconds(query["timeframe"]) * _NS
    start = parse_rfc3339(query["start"])
    end = parse_rfc3339(query["end"]) if "end" in query else start + 30 * step
    first = -(-start // step) * step
    stamps = list(range(first, end + 1, step))
    rows = [(s, t) for s in query["symbols"].split(",") for t in stamps]
    offset = int(query.get("page_token") or 0)
    limit = min(int(query.get("limit") or 1000), page_cap)
    page = rows[offset : offset + limit]
    out: dict[str, list[dict[str, Any]]] = {}
    for symbol, ts in page:
        out.setdefault(symbol, []).append(expected_bar(symbol, ts))
    more = offset + limit < len(rows)
    return {"bars": out, "next_page_token": str(offset + limit) if more else None}
