"""Deterministic synthetic trades: clustered arrivals on a one-tick spread around a random walk.

Examples
--------
>>> trades = synthetic_trades("BTC", periods=3, seed=1)
>>> trades.height, trades["price"].min() > 0
(3, True)
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import polars as pl

from houseedge.data.schemas import TS
from houseedge.data.synthetic._calendar import YEAR_MINUTES, start_ns
from houseedge.data.synthetic._paths import TRADES_PER_MINUTE, ar1, log_vol, stream, symbol_profile

__all__ = ["synthetic_trades"]


def synthetic_trades(
    symbol: str = "SYM00",
    *,
    start: str | datetime = "2020-01-01",
    periods: int = 1_000,
    seed: int = 0,
    mean_interval: float = 0.5,
) -> pl.DataFrame:
    """Generate deterministic synthetic trades as rows of the ``trades`` dataset.

    Trades arrive in clustered bursts around a mean interval; prices sit on the bid or the ask
    of a one-tick spread around a random-walk mid (tick: 1e-4 of the price's order of
    magnitude), with persistent order flow deciding the side; sizes are log-normal. The symbol's
    starting price and volatility match :func:`synthetic_bars`.

    Parameters
    ----------
    symbol
        Symbol name.
    start
        Time of the first trade (ISO string or datetime; naive means UTC).
    periods
        Number of trades.
    seed
        Non-negative seed.
    mean_interval
        Mean seconds between trades.

    Examples
    --------
    >>> trades = synthetic_trades("BTC", periods=4, seed=7)
    >>> trades.columns
    ['symbol', 'ts', 'price', 'size', 'side', 'trade_id']
    >>> trades["ts"].is_sorted(), trades["trade_id"].to_list()
    (True, ['1', '2', '3', '4'])
    """
    if periods < 0 or mean_interval <= 0:
        msg = f"need periods >= 0 and mean_interval > 0, not {periods} and {mean_interval}"
        raise ValueError(msg)
    profile = symbol_profile(symbol, seed, "24/7")
    key = ("trades", symbol)
    burst = log_vol(stream(seed, *key, "burst"), periods, 0.5)
    waits = stream(seed, *key, "wait").standard_exponential(periods) * np.exp(burst + 0.125)
    waits *= mean_interval
    offsets = np.cumsum(np.rint(waits * 1e6).astype(np.int64)) * 1000  # microsecond stamps
    sigma = profile.vol / math.sqrt(YEAR_MINUTES["24/7"] * 60)
    steps = sigma * np.sqrt(waits) * stream(seed, *key, "mid").standard_normal(periods)
    mid = profile.price * np.exp(np.cumsum(steps))
    buy = ar1(stream(seed, *key, "flow").standard_normal(periods), 0.6) > 0
    digits = 4 - math.floor(math.log10(profile.price))
    tick = 10.0**-digits
    bid = np.maximum(np.floor(mid / tick), 1.0) * tick
    sizes = stream(seed, *key, "size").lognormal(-0.5, 1.0, periods)
    frame = pl.DataFrame(
        {
            "ts": pl.Series(start_ns(start) + offsets - offsets[:1], dtype=pl.Int64).cast(TS),
            "price": np.round(np.where(buy, bid + tick, bid), max(digits, 0)),
            "size": sizes * (profile.volume / TRADES_PER_MINUTE),
            "buy": buy,
        }
    )
    return frame.select(
        symbol=pl.lit(symbol, pl.String()),
        ts="ts",
        price="price",
        size="size",
        side=pl.when("buy").then(pl.lit("buy")).otherwise(pl.lit("sell")),
        trade_id=pl.int_range(1, pl.len() + 1).cast(pl.String()),
    )
