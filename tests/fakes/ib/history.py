"""Historical bars of the fake TWS (``reqHistoricalData``, msg 20 -> ``historicalData``, msg 17)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.fakes.ib import wire


def answer_history(tws: Any, send: Callable[[list[object]], None], f: list[str]) -> None:
    """Answer one historical-data request from ``tws.bars`` (by IB symbol or local symbol).

    Bars at or before ``endDateTime`` (all when it is empty) are sent; with ``formatDate=2``
    intraday dates are epoch seconds, daily dates ``YYYYMMDD`` (as TWS does).
    """
    req_id, symbol, local = int(f[1]), f[3], f[12]
    end, bar_size, format_date = f[15], f[16], f[20]
    bars = tws.bars.get(local) or tws.bars.get(symbol)
    if bars is None:
        send(wire.error(req_id, 162, "Historical Market Data Service error message:no data"))
        return
    limit = None
    if end:
        stamp = datetime.strptime(end[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=UTC)
        limit = int(stamp.timestamp() * 1e9)
    chosen = [b for b in bars if limit is None or b[0] <= limit]
    daily = "day" in bar_size or "week" in bar_size or "month" in bar_size
    fields: list[object] = [17, req_id, "", "", len(chosen)]
    for ts, open_, high, low, close, volume in chosen:
        moment = datetime.fromtimestamp(ts / 1e9, UTC)
        if daily:
            date = moment.strftime("%Y%m%d")
        elif format_date == "2":
            date = str(ts // 1_000_000_000)
        else:
            date = moment.strftime("%Y%m%d %H:%M:%S UTC")
        fields += [date, open_, high, low, close, volume, close, 1]
    send(fields)
